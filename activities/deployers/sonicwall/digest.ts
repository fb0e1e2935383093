/**
 * SonicOS API "session security": after the login, every management request carries an RFC 7616
 * Digest `Authorization` header with an incrementing nonce count. Sources (SonicOS 7.0 API guide,
 * sonicwall.com/support/technical-documentation/docs/sonicos-7-0-0-0-api):
 * - "Session Security": enabled by default; every request after authentication needs a Digest
 *   header "with an incrementing nc (nonce-count) field";
 * - "Operation After Non-Digest Authentication": after a Basic/CHAP login the 200 carries
 *   `Authentication-Info: Digest algorithm=SHA-256, realm=…, qop="auth", nonce=…, opaque=…`, or the
 *   first request without a header provokes the Digest challenge (`WWW-Authenticate`);
 * - "Nonce Resetting": a reply may carry `nextnonce` in `Authentication-Info`; the next request uses
 *   it with the count reset to 1;
 * - "Authentication Methods": digest algorithms SHA-256 or MD5, as the admin enables them.
 * The computation is RFC 7616 §3.4.1 with qop=auth (no body in the hash: "integrity protection"
 * defaults to off; ASSUMPTION that no firewall enforces auth-int, which we cannot answer yet).
 */
import { createHash, randomBytes } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: DigestAlgorithm;
  /** True when the server says the nonce expired (retry with the new one, same credentials). */
  stale: boolean;
}

/** `key=value` / `key="value"` pairs of one Digest parameter list. */
function parseParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))/g;
  for (const match of text.matchAll(pattern)) {
    const key = (match[1] ?? '').toLowerCase();
    params[key] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
  }
  return params;
}

const algorithmOf = (raw: string | undefined): DigestAlgorithm | undefined => {
  const value = (raw ?? 'MD5').toUpperCase();
  return value === 'MD5' ? 'MD5' : value === 'SHA-256' ? 'SHA-256' : undefined;
};

/**
 * The Digest challenges of a `WWW-Authenticate` (or the proprietary `Authentication-Info` of a login)
 * header, SHA-256 first. Challenges that are not Digest, offer no `auth` qop, or name an algorithm
 * we do not speak are left out. Several headers may arrive joined by ", ".
 */
export function parseDigestChallenges(header: string | null | undefined): DigestChallenge[] {
  if (!header) return [];
  const parts = header.split(/(?:^|,)\s*Digest\s+/i).slice(1);
  const out: DigestChallenge[] = [];
  for (const part of parts) {
    const params = parseParams(part);
    const algorithm = algorithmOf(params['algorithm']);
    const qops = (params['qop'] ?? 'auth').split(',').map((q) => q.trim().toLowerCase());
    if (!algorithm || !params['nonce'] || params['realm'] === undefined || !qops.includes('auth')) continue;
    out.push({
      realm: params['realm'],
      nonce: params['nonce'],
      ...(params['opaque'] ? { opaque: params['opaque'] } : {}),
      algorithm,
      stale: params['stale']?.toLowerCase() === 'true',
    });
  }
  return out.sort((a, b) => (a.algorithm === b.algorithm ? 0 : a.algorithm === 'SHA-256' ? -1 : 1));
}

/** `nextnonce` of an `Authentication-Info` header ("Nonce Resetting"), if any. */
export function nextNonceOf(header: string | null | undefined): string | undefined {
  return header ? parseParams(header)['nextnonce'] : undefined;
}

export const digestHash = (algorithm: DigestAlgorithm, value: string): string =>
  createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(value, 'utf8')
    .digest('hex');

/** RFC 7616 §3.4.1 `response` for qop=auth. */
export function digestResponse(input: {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
}): string {
  const ha1 = digestHash(input.algorithm, `${input.username}:${input.realm}:${input.password}`);
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  return digestHash(input.algorithm, `${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:auth:${ha2}`);
}

const quote = (value: string): string => `"${value.replace(/(["\\])/g, '\\$1')}"`;

/**
 * Signs requests for one session: one challenge, a nonce count that goes up with every request and
 * starts again at 1 when the firewall hands out a new nonce. Holds the password only in memory.
 */
export class DigestSigner {
  private count = 0;
  private challenge: DigestChallenge;

  constructor(
    private readonly username: string,
    private readonly password: string,
    challenge: DigestChallenge,
  ) {
    this.challenge = challenge;
  }

  get algorithm(): DigestAlgorithm {
    return this.challenge.algorithm;
  }

  /** A new challenge (stale nonce) or `nextnonce`: the count starts again. */
  renew(challenge: Partial<DigestChallenge> & { nonce: string }): void {
    this.challenge = { ...this.challenge, ...challenge };
    this.count = 0;
  }

  /** The `Authorization` header for `method uri` (uri = path and query, as sent). */
  sign(method: string, uri: string): string {
    this.count += 1;
    const nc = this.count.toString(16).padStart(8, '0');
    const cnonce = randomBytes(12).toString('hex');
    const { realm, nonce, opaque, algorithm } = this.challenge;
    const response = digestResponse({
      algorithm,
      username: this.username,
      realm,
      password: this.password,
      method,
      uri,
      nonce,
      nc,
      cnonce,
    });
    const fields = [
      `username=${quote(this.username)}`,
      `realm=${quote(realm)}`,
      `uri=${quote(uri)}`,
      `algorithm=${algorithm}`,
      `nonce=${quote(nonce)}`,
      `nc=${nc}`,
      `cnonce=${quote(cnonce)}`,
      'qop=auth',
      `response=${quote(response)}`,
      ...(opaque !== undefined ? [`opaque=${quote(opaque)}`] : []),
    ];
    return `Digest ${fields.join(', ')}`;
  }
}
