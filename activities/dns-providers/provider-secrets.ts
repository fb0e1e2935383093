import { FailureType } from '../../temporal/contract';
import { classified } from '../errors';

/**
 * The named secrets of a provider, each present and non-empty, or a non-retryable DNS_AUTH_FAILED that
 * names the missing field (never a value).
 */
export function requireSecrets<K extends string>(
  providerId: string,
  secrets: Record<string, string>,
  fields: Record<K, string>,
): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const [name, label] of Object.entries(fields) as [K, string][]) {
    const value = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
    if (!value)
      throw classified(
        FailureType.dnsAuth,
        `${providerId}: the ${label} is not stored for this DNS provider; edit the provider and enter it`,
      );
    out[name] = value;
  }
  return out;
}

/** `message` with every secret value replaced, for errors built from a vendor's text. */
export function withoutSecrets(message: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((text, s) => text.split(s).join('[redacted]'), message);
}

/**
 * `_acme-challenge.a.example.com` → itself, `a.example.com`, `example.com`: every name that could be the
 * zone apex holding it, longest first (the name itself when `_acme-challenge` is delegated as a zone).
 */
export function zoneCandidates(recordName: string): string[] {
  const labels = recordName.replace(/\.$/, '').toLowerCase().split('.');
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
}
