/**
 * Reply and configuration-object helpers of the fake PAN-OS (sources in server.ts): the success and
 * error envelopes, PAN-OS dates, and certificate objects as `action=get` shows them.
 */
import { X509Certificate } from 'node:crypto';
import { certSteps, type Place } from './paths';
import type { Reply } from './types';
import { child, ensure, escapeXml, leaf, type XNode } from './xml';

export const MUTATING_CONFIG_ACTIONS = new Set([
  'set',
  'edit',
  'delete',
  'rename',
  'move',
  'clone',
  'override',
  'multi-config',
]);
export const INVALID_CREDENTIAL: Reply = {
  status: 403,
  xml: "<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>",
};

export const success = (inner: string, code?: string): Reply => ({
  status: 200,
  xml: `<response status="success"${code ? ` code="${code}"` : ''}>${inner}</response>`,
});
export const failure = (code: string | undefined, lines: string[]): Reply => ({
  status: 200,
  xml: `<response status="error"${code ? ` code="${code}"` : ''}><msg>${lines.map((l) => `<line>${escapeXml(l)}</line>`).join('')}</msg></response>`,
});

/** "CN=a\nO=b" → "/CN=a/O=b", as PAN-OS prints subjects. */
export const slashName = (dn: string): string =>
  dn
    .split('\n')
    .filter(Boolean)
    .map((part) => `/${part}`)
    .join('');
export const panosDate = (d: Date): string =>
  d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')
    .replace(/-/g, '/');

export function certificateFields(certPem: string): XNode[] {
  const x = new X509Certificate(certPem);
  // An empty subject (a certificate without a CN) reads as undefined in Node; it imports with an empty
  // common-name (ASSUMPTION P12, docs/vendors/panos.md).
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject ?? '')?.[1] ?? '';
  return [
    leaf('common-name', cn),
    leaf('subject', slashName(x.subject ?? '')),
    leaf('issuer', slashName(x.issuer ?? '')),
    leaf('not-valid-before', x.validFrom),
    leaf('not-valid-after', x.validTo),
    leaf('expiry-epoch', String(Math.floor(new Date(x.validTo).getTime() / 1000))),
    leaf('algorithm', x.publicKey.asymmetricKeyType === 'rsa' ? 'RSA' : 'EC'),
    leaf('ca', x.ca ? 'yes' : 'no'),
    leaf('public-key', certPem.trim()),
  ];
}

/** Creates or updates a certificate object: new certificate fields replace the old ones, the private key stays unless given. */
export function upsertCertificate(
  config: XNode,
  place: Place,
  name: string,
  certPem: string | undefined,
  keyToken: string | undefined,
): void {
  const target = ensure(config, certSteps(place, name));
  if (certPem) {
    const key = child(target, 'private-key');
    target.children = [...certificateFields(certPem), ...(key ? [key] : [])];
  }
  if (keyToken) {
    target.children = target.children.filter((c) => c.name !== 'private-key');
    target.children.push(leaf('private-key', keyToken));
  }
}
