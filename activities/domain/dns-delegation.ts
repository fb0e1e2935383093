import { challengeRecordName } from './certificate-name';

/**
 * CNAME delegation of the DNS-01 challenge: the customer adds `_acme-challenge.<name> CNAME <name>.<zone>`
 * once, pointing into a zone the MSP's DNS provider controls (the pattern the lego and acme.sh docs
 * describe as "DNS alias mode"). Pure rules, shared by the web (the record to show) and the worker.
 */

const ZONE = /^(?=.{1,200}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/** A delegation zone from a form: empty means no delegation required. */
export function checkDelegationZone(value: unknown): { ok: true; zone: string | null } | { ok: false; error: string } {
  if (value === undefined || value === null || value === '') return { ok: true, zone: null };
  if (typeof value !== 'string')
    return { ok: false, error: 'Enter a zone such as acme.msp.example, or leave it empty.' };
  const zone = value.trim().toLowerCase().replace(/\.$/, '');
  if (zone === '') return { ok: true, zone: null };
  return ZONE.test(zone)
    ? { ok: true, zone }
    : {
        ok: false,
        error: 'Enter a zone such as acme.msp.example (letters, digits, dashes and dots), or leave it empty.',
      };
}

export interface DelegationRecord {
  /** `_acme-challenge.<name>` without the wildcard label. */
  name: string;
  /** `<name>.<zone>`: unique per name, the same for a wildcard and its base name. */
  target: string;
}

/** The exact CNAME the customer must publish for `commonName` delegated into `zone`. */
export function delegationRecord(commonName: string, zone: string): DelegationRecord {
  const name = challengeRecordName(commonName);
  return { name, target: `${name.replace(/^_acme-challenge\./, '')}.${zone}` };
}

/** The zone-file line to give the customer. */
export const delegationZoneLine = (record: DelegationRecord): string =>
  `${record.name}. 300 IN CNAME ${record.target}.`;
