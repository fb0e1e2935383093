import { isIP } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import { FailureType } from '../../temporal/contract';
import { classified } from '../errors';
import type { VerifyEndpoint } from './types';

export interface ServedCertificate {
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  validTo: string;
}

export interface Handshake {
  cert: PeerCertificate;
  /** Chains to the system trust store (or `ca`) and names the host. */
  authorized: boolean;
  authorizationError: string | undefined;
}

/**
 * A TLS handshake and nothing else: SNI with the host name (none for an IP), the presented leaf read
 * without verifying it (the caller decides what to trust), then the connection is closed.
 */
export function tlsHandshake(endpoint: VerifyEndpoint, timeoutMs: number): Promise<Handshake> {
  const servername = endpoint.servername ?? (isIP(endpoint.host) ? undefined : endpoint.host);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      clearTimeout(timer);
      socket.end();
      const error = socket.authorizationError as Error | string | null | undefined;
      resolve({ cert, authorized: socket.authorized, authorizationError: error ? String(error instanceof Error ? error.message : error) : undefined });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Handshakes with the endpoint and returns the leaf it serves. Trust is not needed here: we compare
 * the fingerprint with the version we deployed, which is a stronger check than a chain.
 */
export async function servedCertificate(endpoint: VerifyEndpoint, timeoutMs = 10_000): Promise<ServedCertificate> {
  const { cert } = await tlsHandshake(endpoint, timeoutMs);
  return {
    fingerprintSha256: (cert.fingerprint256 ?? '').replace(/:/g, '').toLowerCase(),
    subject: [cert.subject?.CN ?? ''].flat().join(','),
    issuer: [cert.issuer?.CN ?? cert.issuer?.O ?? ''].flat().join(','),
    validTo: cert.valid_to ?? '',
  };
}

const describe = (e: VerifyEndpoint): string => `${e.host}:${e.port}${e.servername ? ` (SNI ${e.servername})` : ''}`;

/** Every endpoint must serve exactly the expected leaf. Mismatches are retryable (devices apply changes with a delay). */
export async function verifyServedFingerprint(component: string, endpoints: VerifyEndpoint[], expected: string): Promise<string[]> {
  const want = expected.toLowerCase();
  const problems: string[] = [];
  const seen: string[] = [];
  for (const endpoint of endpoints) {
    try {
      const served = await servedCertificate(endpoint);
      seen.push(`${describe(endpoint)}: ${served.fingerprintSha256}`);
      if (served.fingerprintSha256 !== want) problems.push(`${describe(endpoint)} serves ${served.fingerprintSha256.slice(0, 16)}… (CN ${served.subject || '?'}, expires ${served.validTo}), not the new ${want.slice(0, 16)}…`);
    } catch (error) {
      problems.push(`${describe(endpoint)}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw classified(FailureType.verifyMismatch, `${component}: verify failed: ${problems.join('; ')}`);
  return seen;
}
