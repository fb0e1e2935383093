/** Validation of target and deployment input from the console. Pure; used by the web. */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { splitPemChain } from '../crypto/pem';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A host name or an IP address (no scheme, no port). */
export function checkHost(input: unknown): { ok: true; host: string } | { ok: false; error: string } {
  const raw = typeof input === 'string' ? input.trim().replace(/^\[(.*)\]$/, '$1') : '';
  if (!raw) return { ok: false, error: 'Enter the management address (host name or IP).' };
  if (isIP(raw)) return { ok: true, host: raw };
  if (/[/:@\s]/.test(raw)) return { ok: false, error: 'Enter only the host name or IP, without https:// or a port.' };
  const ascii = domainToASCII(raw).toLowerCase();
  if (!ascii || ascii.length > 253 || !ascii.split('.').every((l) => LABEL.test(l)))
    return { ok: false, error: `"${raw.slice(0, 80)}" is not a valid host name.` };
  return { ok: true, host: ascii };
}

/** A TCP port as text or a number; left out (or empty) gives the fallback; any other type is an error. */
export function checkPort(input: unknown, fallback: number): { ok: true; port: number } | { ok: false; error: string } {
  if (input !== undefined && input !== null && typeof input !== 'string' && typeof input !== 'number')
    return { ok: false, error: 'The port is a number from 1 to 65535.' };
  const text = typeof input === 'string' ? input.trim() : typeof input === 'number' ? String(input) : '';
  if (!text) return { ok: true, port: fallback };
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    return { ok: false, error: 'The port is a number from 1 to 65535.' };
  return { ok: true, port: Number(text) };
}

/** A SHA-256 fingerprint as 64 hex characters, with or without colons. */
export function checkFingerprint(input: string): { ok: true; fingerprint: string } | { ok: false; error: string } {
  const hex = input
    .trim()
    .replace(/^sha-?256[:=\s]*/i, '')
    .replace(/[:\s]/g, '')
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex))
    return { ok: false, error: 'A SHA-256 fingerprint is 64 hexadecimal characters (colons allowed).' };
  return { ok: true, fingerprint: hex };
}

/** One or more PEM certificates and nothing else. */
export function checkCaBundle(text: string): { ok: true; pem: string | null } | { ok: false; error: string } {
  const trimmed = text.trim();
  if (!trimmed) return { ok: true, pem: null };
  const certs = splitPemChain(trimmed);
  if (certs.length === 0)
    return { ok: false, error: 'Paste one or more PEM certificates (-----BEGIN CERTIFICATE-----).' };
  if (trimmed.replace(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g, '').trim() !== '') {
    return { ok: false, error: 'Only PEM certificates are allowed here.' };
  }
  for (const pem of certs) {
    try {
      new X509Certificate(pem);
    } catch {
      return { ok: false, error: 'One of the certificates cannot be parsed.' };
    }
  }
  return { ok: true, pem: certs.join('') };
}

export type TrustCheck = { ok: true; caPem: string | null; fingerprint: string | null } | { ok: false; error: string };

/** Exactly one of a CA PEM or a pinned fingerprint: there is no "insecure" option. */
export function checkTrust(mode: unknown, caPem: unknown, fingerprint: unknown): TrustCheck {
  if (mode === 'ca') {
    const bundle = checkCaBundle(typeof caPem === 'string' ? caPem : '');
    if (!bundle.ok) return bundle;
    if (!bundle.pem)
      return { ok: false, error: "Paste the CA certificate that signed the device's management certificate." };
    return { ok: true, caPem: bundle.pem, fingerprint: null };
  }
  if (mode === 'fingerprint' || mode === undefined) {
    const checked = checkFingerprint(typeof fingerprint === 'string' ? fingerprint : '');
    if (!checked.ok)
      return { ok: false, error: `${checked.error} "Test connection" shows the fingerprint the device presents.` };
    return { ok: true, caPem: null, fingerprint: checked.fingerprint };
  }
  return { ok: false, error: 'Choose how to trust the management certificate: a CA, or a pinned fingerprint.' };
}

export interface EndpointInput {
  host: string;
  port: number;
  servername?: string;
}

/** Verify endpoints, one per line: `host:port` or `host:port sni-name`. Empty = the vendor's default. */
export function checkEndpoints(text: unknown): { ok: true; endpoints: EndpointInput[] } | { ok: false; error: string } {
  if (text !== undefined && text !== null && typeof text !== 'string')
    return { ok: false, error: 'Verify endpoints are text, one host:port per line (or a list of such lines).' };
  const lines = (text ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length > 20) return { ok: false, error: 'At most 20 endpoints.' };
  const endpoints: EndpointInput[] = [];
  for (const line of lines) {
    const match = /^(\[[^\]]+\]|[^\s:]+):(\d{1,5})(?:\s+(\S+))?$/.exec(line);
    const host = match ? checkHost(match[1]) : undefined;
    const port = match ? checkPort(match[2], 443) : undefined;
    const sni = match?.[3] ? checkHost(match[3]) : undefined;
    if (!match || !host?.ok || !port?.ok || (sni && !sni.ok))
      return { ok: false, error: `"${line.slice(0, 80)}" is not host:port (optionally followed by an SNI name).` };
    endpoints.push({ host: host.host, port: port.port, ...(sni?.ok ? { servername: sni.host } : {}) });
  }
  return { ok: true, endpoints };
}
