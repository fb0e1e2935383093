import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { readCertificateFacts } from '../crypto/pem';
import { FailureType } from '../../temporal/contract';
import { classified } from '../errors';
import { closeProbeSocket } from '../tls-probe';
import type { VerifyEndpoint } from './types';

export interface ServedCertificate {
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
}

export interface Handshake {
  cert: PeerCertificate;
  /**
   * The presented chain, leaf first, as Node links it (`getPeerCertificate(true)`, following
   * `issuerCertificate`): each entry is the issuer of the one before, so the order is the issuing
   * order, and Node may add the root from its trust store after the presented certificates.
   */
  chain: PeerCertificate[];
  /** Chains to the system trust store (or `ca`) and names the host. */
  authorized: boolean;
  authorizationError: string | undefined;
}

/** Leaf, its issuer, that one's issuer…; stops at a self-issued certificate (it points to itself) or a loop. */
function issuerWalk(leaf: DetailedPeerCertificate): PeerCertificate[] {
  const chain: PeerCertificate[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    chain.push(cert);
    seen.add(cert.fingerprint256);
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * A TLS handshake and nothing else: SNI with the host name (none for an IP), the presented leaf read
 * without verifying it (the caller decides what to trust), then the connection is closed
 * (closeProbeSocket: also when the peer speaks first).
 */
export function tlsHandshake(endpoint: VerifyEndpoint, timeoutMs: number): Promise<Handshake> {
  const servername = endpoint.servername ?? (isIP(endpoint.host) ? undefined : endpoint.host);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: endpoint.host,
      port: endpoint.port,
      rejectUnauthorized: false,
      ...(servername ? { servername } : {}),
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true);
      clearTimeout(timer);
      closeProbeSocket(socket);
      const error = socket.authorizationError as Error | string | null | undefined;
      resolve({
        cert,
        chain: issuerWalk(cert),
        authorized: socket.authorized,
        authorizationError: error ? String(error instanceof Error ? error.message : error) : undefined,
      });
    });
    socket.once('error', (error: Error) => {
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
    validFrom: cert.valid_from ?? '',
    validTo: cert.valid_to ?? '',
  };
}

const describe = (e: VerifyEndpoint): string => `${e.host}:${e.port}${e.servername ? ` (SNI ${e.servername})` : ''}`;
const fingerprintOf = (cert: PeerCertificate): string => (cert.fingerprint256 ?? '').replace(/:/g, '').toLowerCase();
const nameOf = (cert: PeerCertificate): string => [cert.subject?.CN ?? cert.subject?.O ?? '?'].flat().join(',');

/** What a deployed version must be served as: its leaf, then its intermediates in order. */
export interface ExpectedChain {
  leafSha256: string;
  intermediates: { fingerprintSha256: string; name: string }[];
}

/** The chain a version is served with: its leaf fingerprint and the intermediates of its PEM chain (leaf excluded). */
export function expectedChainOf(leafSha256: string, chainPems: readonly string[]): ExpectedChain {
  return {
    leafSha256: leafSha256.toLowerCase(),
    intermediates: chainPems.map((pem) => {
      const facts = readCertificateFacts(pem);
      return {
        fingerprintSha256: facts.fingerprintSha256,
        name: /CN=([^\n,]+)/.exec(facts.subject)?.[1] ?? facts.subject,
      };
    }),
  };
}

/**
 * What is wrong with a served chain, or undefined when it is right. The leaf must match, then each
 * expected intermediate in order. Certificates after the expected ones are allowed: a server may
 * also send the root (RFC 8446 §4.4.2 lets it be omitted or sent) or a cross-signed root, and Node
 * appends the trust store's root to the walk. A missing or different intermediate fails: clients
 * that do not already hold it cannot build a path. Node links the chain by issuer, so an intermediate
 * sent in the wrong position but present still links; one that does not issue the leaf is missing.
 */
function chainProblem(where: string, chain: PeerCertificate[], want: ExpectedChain): string | undefined {
  const [leaf, ...rest] = chain;
  if (!leaf) return `${where} presented no certificate`;
  const leafSha256 = fingerprintOf(leaf);
  if (leafSha256 !== want.leafSha256) {
    return `${where} serves ${leafSha256.slice(0, 16)}… (CN ${nameOf(leaf)}, expires ${leaf.valid_to ?? '?'}), not the new ${want.leafSha256.slice(0, 16)}…`;
  }
  const matching = want.intermediates.findIndex(
    (expected, i) => rest[i] === undefined || fingerprintOf(rest[i]) !== expected.fingerprintSha256,
  );
  if (matching === -1) return undefined;
  const missing = want.intermediates
    .slice(matching)
    .map((i) => i.name)
    .join(', ');
  const clients = `clients that do not already have ${missing} will fail`;
  if (rest.length === 0)
    return `${where} serves the leaf without its intermediate(s) (expected ${want.intermediates.length}, got 0): ${clients}`;
  const served = rest.map(nameOf).join(', ');
  return `${where} serves the leaf with ${served} where the version's intermediate(s) ${want.intermediates.map((i) => i.name).join(', ')} belong (expected ${want.intermediates.length}, got ${matching} matching): ${clients}`;
}

/**
 * Every endpoint must serve exactly the expected leaf and, when the expected chain is given, the
 * version's intermediates after it in order. A bare fingerprint checks the leaf only. Mismatches are
 * retryable (devices apply changes with a delay). The result names endpoints, fingerprints and counts only.
 */
export async function verifyServedFingerprint(
  component: string,
  endpoints: VerifyEndpoint[],
  expected: string | ExpectedChain,
): Promise<string[]> {
  const want: ExpectedChain =
    typeof expected === 'string' ? { leafSha256: expected.toLowerCase(), intermediates: [] } : expected;
  const problems: string[] = [];
  const seen: string[] = [];
  for (const endpoint of endpoints) {
    try {
      const { chain } = await tlsHandshake(endpoint, 10_000);
      const problem = chainProblem(describe(endpoint), chain, want);
      if (problem) problems.push(problem);
      else
        seen.push(
          `${describe(endpoint)}: ${want.leafSha256}${want.intermediates.length > 0 ? ` + ${want.intermediates.length} intermediate(s)` : ''}`,
        );
    } catch (error) {
      problems.push(`${describe(endpoint)}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0)
    throw classified(FailureType.verifyMismatch, `${component}: verify failed: ${problems.join('; ')}`);
  return seen;
}
