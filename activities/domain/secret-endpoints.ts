/**
 * Where a sealed secret may be sent. Each owner of a secret (a target, a DNS provider, the SMTP
 * settings) has one canonical endpoint string, bound into the secret's AAD (SecretBox `endpoint`):
 * a row whose address, port, trust or endpoint options changed (in the console, the API or in SQL)
 * can no longer unseal its secret, so the secret is never sent to the new address. Pure; web-safe.
 */
import { createHash } from 'node:crypto';
import { vendorDescriptors } from '../deployers/descriptors';
import { dnsProviderDescriptors } from '../dns-providers/descriptors';

export interface TargetEndpointFields {
  vendor: string;
  host: string;
  port: number;
  trustCaPem: string | null;
  trustFingerprint: string | null;
  options: Record<string, unknown>;
}

/** The option values named by `fields`, in name order (absent = null). */
const picked = (values: Record<string, unknown>, fields: { name: string; endpoint?: boolean }[]): [string, unknown][] =>
  fields
    .filter((f) => f.endpoint === true)
    .map((f): [string, unknown] => [f.name, values[f.name] ?? null])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Vendor, host, port, management trust (CA PEM or pinned fingerprint) and the vendor's endpoint options. */
export function targetEndpoint(t: TargetEndpointFields): string {
  const fields = Object.hasOwn(vendorDescriptors, t.vendor) ? (vendorDescriptors[t.vendor]?.optionFields ?? []) : [];
  return JSON.stringify([
    'target',
    t.vendor,
    t.host,
    t.port,
    t.trustCaPem,
    t.trustFingerprint,
    picked(t.options, fields),
  ]);
}

/** The provider's kind and its endpoint config fields (Cloudflare: the API base URL). */
export function dnsProviderEndpoint(p: { kind: string; config: Record<string, unknown> }): string {
  const fields = Object.hasOwn(dnsProviderDescriptors, p.kind) ? (dnsProviderDescriptors[p.kind]?.fields ?? []) : [];
  return JSON.stringify(['dns-provider', p.kind, picked(p.config, fields)]);
}

/** SMTP server host, port and security mode (implicit TLS or not). */
export function smtpEndpoint(s: { host: string; port: number; secure: boolean }): string {
  return JSON.stringify(['smtp', s.host.toLowerCase(), s.port, s.secure]);
}

/** Readable form of an endpoint for audit rows and mails (never holds secrets; long PEMs are shortened). */
export function describeEndpoint(endpoint: string): unknown {
  return JSON.parse(endpoint, (_key, value: unknown) =>
    typeof value === 'string' && value.includes('-----BEGIN')
      ? `CA bundle sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`
      : value,
  ) as unknown;
}
