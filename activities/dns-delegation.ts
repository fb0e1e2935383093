import { promises as dns } from 'node:dns';
import { FailureType } from '../temporal/contract';
import type { CertificateRecord } from './db/repositories/certificates';
import { delegationRecord, delegationZoneLine } from './domain/dns-delegation';
import type { DnsProvider } from './dns-providers/types';
import { classified, ClassifiedError } from './errors';

/** CNAME chains longer than this are refused (resolvers stop at 8 to 16 links; ours need one). */
const MAX_CHAIN = 8;
const NO_RECORD = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

/**
 * The end of the CNAME chain at `recordName`, undefined when the name is no CNAME. Asks the configured
 * resolvers (DNS_PROPAGATION_RESOLVERS) when there are any, else the system's.
 */
export async function challengeCnameTarget(recordName: string, resolvers: string[]): Promise<string | undefined> {
  const resolver = new dns.Resolver({ timeout: 3_000, tries: 2 });
  if (resolvers.length > 0) resolver.setServers(resolvers);
  let name = recordName.replace(/\.$/, '').toLowerCase();
  let target: string | undefined;
  for (let hop = 0; hop < MAX_CHAIN; hop++) {
    let next: string | undefined;
    try {
      next = (await resolver.resolveCname(name))[0];
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      // Past the first link, the chain ends where the name cannot be looked up further.
      if (NO_RECORD.has(code) || target !== undefined) return target;
      throw classified(
        FailureType.dnsUnavailable,
        `dns: cannot look up the CNAME of ${name}: ${code || String(error)}`,
      );
    }
    if (!next) return target;
    target = next.replace(/\.$/, '').toLowerCase();
    name = target;
  }
  throw classified(FailureType.validation, `dns: the CNAME chain at ${recordName} is longer than ${MAX_CHAIN} links`);
}

export interface DelegationOutcome {
  /** Where the TXT record goes: the CNAME target, or the challenge name itself. */
  writeTo: string;
  /** The CNAME target found, undefined without one. */
  found: string | undefined;
  detail: string;
}

/**
 * Where a certificate's challenge TXT record goes, enforcing its delegation rule: a certificate with a
 * delegation zone needs exactly its CNAME; any CNAME must lead into a zone the provider can write.
 * Throws a non-retryable error that says what the customer or the technician must change.
 */
export async function resolveChallengeTarget(
  cert: Pick<CertificateRecord, 'commonName' | 'delegationZone' | 'dnsProviderName'>,
  provider: DnsProvider,
  recordName: string,
  resolvers: string[],
): Promise<DelegationOutcome> {
  const found = await challengeCnameTarget(recordName, resolvers);
  if (cert.delegationZone) {
    const expected = delegationRecord(cert.commonName, cert.delegationZone);
    if (found !== expected.target)
      throw classified(
        FailureType.dnsDelegationMissing,
        `dns: ${expected.name} ${found ? `is a CNAME to ${found}, not to ${expected.target}` : 'is not a CNAME yet'}. The customer must publish "${delegationZoneLine(expected)}" in their DNS; no certificate was ordered.`,
      );
  }
  if (!found)
    return { writeTo: recordName, found, detail: `${recordName} is no CNAME: the TXT record is written there` };
  try {
    await provider.zoneFor(found);
  } catch (error) {
    if (error instanceof ClassifiedError && error.type === FailureType.dnsZoneNotFound)
      throw classified(
        FailureType.dnsZoneNotFound,
        `dns: ${recordName} is a CNAME to ${found}, which DNS provider "${cert.dnsProviderName}" cannot write (${error.message}). Choose the provider of that zone.`,
      );
    throw error;
  }
  return { writeTo: found, found, detail: `${recordName} is a CNAME to ${found}: the TXT record is written there` };
}
