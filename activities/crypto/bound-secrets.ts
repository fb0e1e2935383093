/**
 * Sealing and opening the secrets that are sent somewhere, bound to where they may be sent (see
 * ../domain/secret-endpoints.ts). Always opened with the endpoint of the row as it is now: a row
 * re-pointed by any path cannot unseal its secret.
 */
import {
  dnsProviderEndpoint,
  smtpEndpoint,
  targetEndpoint,
  type TargetEndpointFields,
} from '../domain/secret-endpoints';
import { SecretBoxError, SecretPurpose, type SecretBox } from './secret-box';

type DnsEndpointFields = { kind: string; config: Record<string, unknown> };
type SmtpEndpointFields = { host: string; port: number; secure: boolean };

export const sealTargetCredentials = (
  box: SecretBox,
  target: TargetEndpointFields,
  credentials: Record<string, unknown>,
): string => box.seal(JSON.stringify(credentials), SecretPurpose.targetCredentials, targetEndpoint(target));

/** Throws SecretBoxError when the target's endpoint changed since its credentials were sealed. */
export const openTargetCredentials = (
  box: SecretBox,
  target: TargetEndpointFields & { credentialsSealed: string },
): Record<string, string> =>
  JSON.parse(box.openText(target.credentialsSealed, SecretPurpose.targetCredentials, targetEndpoint(target))) as Record<
    string,
    string
  >;

export const sealTargetSessionKey = (box: SecretBox, target: TargetEndpointFields, key: string): string =>
  box.seal(key, SecretPurpose.targetSessionKey, targetEndpoint(target));

export const openTargetSessionKey = (box: SecretBox, target: TargetEndpointFields, sealed: string): string =>
  box.openText(sealed, SecretPurpose.targetSessionKey, targetEndpoint(target));

/**
 * A DNS provider's secrets are sealed one by one, each bound to the provider's endpoint and to its
 * field (the purpose names it), so a value cannot move to another field or another address. The
 * `token` field keeps the purpose it had when a provider had one token, so stored tokens still open.
 */
export const dnsSecretPurpose = (field: string): string =>
  field === 'token' ? SecretPurpose.dnsProviderToken : `${SecretPurpose.dnsProviderSecretPrefix}${field}`;

export const sealDnsSecret = (box: SecretBox, provider: DnsEndpointFields, field: string, value: string): string =>
  box.seal(value, dnsSecretPurpose(field), dnsProviderEndpoint(provider));

/** Every secret of a provider, opened; throws SecretBoxError when the provider's endpoint changed since. */
export function openDnsSecrets(
  box: SecretBox,
  provider: DnsEndpointFields & { secretsSealed: Record<string, string> },
): Record<string, string> {
  const endpoint = dnsProviderEndpoint(provider);
  return Object.fromEntries(
    Object.entries(provider.secretsSealed).map(([field, sealed]) => [
      field,
      box.openText(sealed, dnsSecretPurpose(field), endpoint),
    ]),
  );
}

/** An ACME directory's EAB HMAC key, bound to the directory URL (a row with another URL cannot open it). */
export const sealEabHmacKey = (box: SecretBox, directoryUrl: string, hmacKey: string): string =>
  box.seal(hmacKey, SecretPurpose.acmeEabHmacKey, `acme:${directoryUrl}`);

export const openEabHmacKey = (box: SecretBox, directoryUrl: string, sealed: string): string =>
  box.openText(sealed, SecretPurpose.acmeEabHmacKey, `acme:${directoryUrl}`);

export const sealSmtpPassword = (box: SecretBox, smtp: SmtpEndpointFields, password: string): string =>
  box.seal(password, SecretPurpose.smtpPassword, smtpEndpoint(smtp));

export const openSmtpPassword = (box: SecretBox, smtp: SmtpEndpointFields, sealed: string): string =>
  box.openText(sealed, SecretPurpose.smtpPassword, smtpEndpoint(smtp));

/**
 * Opens a bound secret; one sealed for another endpoint (SecretBoxError: the row was re-pointed) is
 * never opened, and `otherwise` decides instead (refuse with an error a technician can act on, or do
 * without). Any other failure is thrown as it is.
 */
export function openBoundOr<T>(open: () => T, otherwise: () => T): T {
  try {
    return open();
  } catch (error) {
    if (!(error instanceof SecretBoxError)) throw error;
    return otherwise();
  }
}
