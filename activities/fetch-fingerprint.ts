import { X509Certificate } from 'node:crypto';
import { FailureType, type FetchFingerprintInput, type PresentedCertificate } from '../temporal/contract';
import { tlsHandshake } from './deployers/verify-served';
import { checkHost, checkPort } from './domain/target-input';
import type { Queryable } from './db/pool';
import { classified } from './errors';
import { checkTargetAddress } from './target-address';

/** Long enough for a slow appliance, short enough that the console's answer does not keep anyone waiting. */
export const FETCH_FINGERPRINT_TIMEOUT_MS = 5_000;

const normalise = (fingerprint: string): string => fingerprint.replace(/:/g, '').toLowerCase();
const names = (dn: string): string => dn.split('\n').filter(Boolean).join(', ');
const iso = (text: string): string => {
  const time = Date.parse(text);
  return Number.isNaN(time) ? text : new Date(time).toISOString();
};

/** What a technician can do about a failed handshake. */
function reason(error: Error & { code?: string }, address: string, timeoutMs: number): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `${address} refused the connection: nothing listens on that port, or a firewall rejects us.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name of ${address} does not resolve in DNS.`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${address} cannot be reached from the worker (no route).`;
    case 'ECONNRESET':
      return `${address} closed the connection during the TLS handshake.`;
    default:
      if (/within \d+ ms/.test(error.message))
        return `${address} did not complete a TLS handshake within ${timeoutMs / 1000} s: is this the HTTPS management port?`;
      if (/wrong version number|packet length too long|unknown protocol/i.test(error.message))
        return `${address} does not speak TLS on that port.`;
      return `${address}: ${error.message}`;
  }
}

export function createFetchFingerprintActivities(deps: { db: Queryable }, options: { timeoutMs?: number } = {}) {
  const timeoutMs = options.timeoutMs ?? FETCH_FINGERPRINT_TIMEOUT_MS;
  return {
    /**
     * "Fetch the fingerprint": one TLS handshake with the address typed into a target form, reading
     * the certificate it presents (not trusting it) and sending nothing else. Public facts only.
     */
    async fetchPresentedCertificate(input: FetchFingerprintInput): Promise<PresentedCertificate> {
      const host = checkHost(input.host);
      const port = checkPort(input.port, 443);
      if (!host.ok) throw classified(FailureType.validation, `fetch fingerprint: ${host.error}`);
      if (!port.ok) throw classified(FailureType.validation, `fetch fingerprint: ${port.error}`);
      const address = `${host.host.includes(':') ? `[${host.host}]` : host.host}:${port.port}`;
      // The network policy of targets holds here too: no handshake with a metadata service or another refused address.
      await checkTargetAddress(deps.db, 'fetch fingerprint', host.host);
      let handshake;
      try {
        handshake = await tlsHandshake({ host: host.host, port: port.port }, timeoutMs);
      } catch (error) {
        throw classified(
          FailureType.targetUnreachable,
          `fetch fingerprint: ${reason(error as Error, address, timeoutMs)}`,
        );
      }
      if (!handshake.cert.raw)
        throw classified(FailureType.targetRejected, `fetch fingerprint: ${address} presented no certificate.`);
      const x509 = new X509Certificate(handshake.cert.raw);
      return {
        subject: names(x509.subject ?? ''),
        issuer: names(x509.issuer ?? ''),
        notBefore: iso(x509.validFrom),
        notAfter: iso(x509.validTo),
        fingerprintSha256: normalise(x509.fingerprint256),
        trusted: handshake.authorized,
        ...(handshake.authorizationError ? { trustError: handshake.authorizationError } : {}),
      };
    },
  };
}
