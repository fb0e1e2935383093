import type * as acme from 'acme-client';
import { FailureType } from '../../temporal/contract';
import { getAcmeDirectory } from '../db/repositories/acme-directories';
import type { CertificateRecord } from '../db/repositories/certificates';
import type { Queryable } from '../db/pool';
import { classified } from '../errors';

type OrderCreateRequest = Parameters<acme.Client['createOrder']>[0];

/**
 * The profile an order asks for: the certificate's own, else its directory's default, else none (the
 * CA's default). One the directory no longer offers (as last read) fails with the setting to change:
 * sending it would only be refused by the CA.
 */
export async function orderProfile(
  db: Queryable,
  cert: Pick<CertificateRecord, 'commonName' | 'acmeDirectoryId' | 'acmeProfile'>,
  directoryId: string = cert.acmeDirectoryId,
): Promise<string | null> {
  const directory = await getAcmeDirectory(db, directoryId);
  if (!directory) throw classified(FailureType.notFound, `acme: directory ${directoryId} no longer exists`);
  // The certificate's own profile names one of its own directory's; a fallback CA uses its default.
  const own = directoryId === cert.acmeDirectoryId ? cert.acmeProfile : null;
  const profile = own ?? directory.defaultProfile;
  if (profile && directory.profiles && !(profile in directory.profiles)) {
    const where = own
      ? `the certificate's profile (change it on the certificate ${cert.commonName})`
      : `the default profile of ${directory.name} (Settings → ACME directories)`;
    const offered = Object.keys(directory.profiles);
    throw classified(
      FailureType.acmeRejected,
      `acme: ${directory.name} does not offer the profile "${profile}" (${offered.length ? `it offers ${offered.join(', ')}` : 'it offers none'}); choose another for ${where}`,
    );
  }
  return profile;
}

/**
 * The newOrder payload (RFC 8555 §7.4) with `profile` (draft-ietf-acme-profiles §4) when one applies.
 * acme-client's createOrder forwards the payload as given; its TypeScript type has no `profile`.
 */
export function newOrderPayload(commonName: string, profile: string | null): OrderCreateRequest {
  const identifiers = [{ type: 'dns', value: commonName }];
  return (profile ? { identifiers, profile } : { identifiers }) as OrderCreateRequest;
}
