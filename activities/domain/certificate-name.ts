import { domainToASCII, domainToUnicode } from 'node:url';

/** Result of validating a certificate name typed by a user: one hostname, or one wildcard. */
export type NameCheck = { ok: true; name: string } | { ok: false; error: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * One name, or one wildcard (`*.example.com`): no SAN lists. IDN is converted to punycode.
 * Returns the ASCII form to store, or an error a user can act on.
 */
export function checkCertificateName(input: unknown): NameCheck {
  if (typeof input !== 'string')
    return { ok: false, error: 'Enter a domain name, for example www.example.com or *.example.com.' };
  const raw = input.trim().replace(/\.$/, '');
  if (raw === '') return { ok: false, error: 'Enter a domain name, for example www.example.com or *.example.com.' };
  if (raw.length > 253) return { ok: false, error: 'The name is longer than 253 characters.' };
  if (/[\s,;]/.test(raw)) return { ok: false, error: 'One name per certificate: no spaces, commas or lists.' };
  if (/[%/\\:@?#[\]<>"'`]/.test(raw))
    return { ok: false, error: 'A domain name contains only letters, digits, hyphens and dots.' };
  const wildcard = raw.startsWith('*.');
  const base = wildcard ? raw.slice(2) : raw;
  if (base.includes('*'))
    return { ok: false, error: 'A wildcard is only allowed as the whole first label, as in *.example.com.' };
  const ascii = domainToASCII(base).toLowerCase();
  if (ascii === '') return { ok: false, error: `"${raw}" is not a valid domain name.` };
  const labels = ascii.split('.');
  if (labels.length < 2)
    return { ok: false, error: 'Use a fully qualified name with at least two labels, such as example.com.' };
  for (const label of labels) {
    if (!LABEL.test(label)) return { ok: false, error: `"${raw}" is not a valid domain name (bad label "${label}").` };
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? ''))
    return { ok: false, error: 'IP addresses cannot be used: ACME DNS-01 needs a domain name.' };
  const name = (wildcard ? '*.' : '') + ascii;
  if (name.length > 253) return { ok: false, error: 'The name is longer than 253 characters.' };
  return { ok: true, name };
}

/** `_acme-challenge.<base>` for a name or a wildcard. */
export function challengeRecordName(name: string): string {
  return `_acme-challenge.${name.startsWith('*.') ? name.slice(2) : name}`;
}

/**
 * A stored (punycode) name as people read it: "bücher.example (xn--bcher-kva.example)" for an IDN,
 * the name itself otherwise (also when it does not decode).
 */
export function displayCertificateName(name: string): string {
  if (!/(^|\.)xn--/i.test(name)) return name;
  const wildcard = name.startsWith('*.');
  const unicode = domainToUnicode(wildcard ? name.slice(2) : name);
  if (!unicode || unicode === name) return name;
  return `${wildcard ? '*.' : ''}${unicode} (${name})`;
}
