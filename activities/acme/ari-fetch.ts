/**
 * GET a certificate's renewalInfo (RFC 9773 §4.1): an unauthenticated GET of
 * `<directory renewalInfo>/<certID>`, through acme-client's axios instance so the directory's own CA
 * bundle is trusted exactly as for its ACME calls (problems.ts `trustDirectoryCa`) and its User-Agent
 * is sent (Pebble refuses requests without one).
 */
import * as acme from 'acme-client';
import { BoundedCache } from '../bounded-cache';
import { transportFailureText } from '../domain/transport-failure';
import { safeExplanationUrl } from '../domain/renewal-info';
import { parseRetryAfter, trustDirectoryCa } from './problems';

export type RenewalInfoAnswer =
  | { kind: 'unsupported' }
  | { kind: 'window'; start: Date; end: Date; explanationUrl?: string; retryAfterSeconds?: number };

/** An ARI request that failed: `message` is safe to store and show (no secrets exist in ARI). */
export class RenewalInfoError extends Error {
  override readonly name = 'RenewalInfoError';
}

/** Short: the check step waits for it (a CA that does not answer falls back to the lifetime rule). */
export const ARI_REQUEST_TIMEOUT_MS = 10_000;
/** Directories change rarely; acme-client re-reads its own copy daily. */
const DIRECTORY_TTL_MS = 3600_000;
const renewalInfoUrls = new BoundedCache<string | null>(64, DIRECTORY_TTL_MS);

async function get(url: string, timeoutMs: number): Promise<{ status: number; data: unknown; retryAfter: unknown }> {
  try {
    const res = await acme.axios.get<unknown>(url, { timeout: timeoutMs, validateStatus: () => true });
    return { status: res.status, data: res.data, retryAfter: res.headers['retry-after'] };
  } catch (error) {
    throw new RenewalInfoError(`ari: GET ${url}: cannot reach the CA: ${transportFailureText(error)}`);
  }
}

/** The directory's renewalInfo URL, or null when the CA offers no ARI. */
export async function renewalInfoUrlOf(
  directoryUrl: string,
  timeoutMs = ARI_REQUEST_TIMEOUT_MS,
): Promise<string | null> {
  const cached = renewalInfoUrls.get(directoryUrl);
  if (cached !== undefined) return cached;
  const res = await get(directoryUrl, timeoutMs);
  if (res.status !== 200 || typeof res.data !== 'object' || res.data === null) {
    throw new RenewalInfoError(`ari: GET ${directoryUrl}: HTTP ${res.status}, not an ACME directory`);
  }
  const value = (res.data as { renewalInfo?: unknown }).renewalInfo;
  const url = typeof value === 'string' && /^https?:\/\//.test(value) ? value.replace(/\/+$/, '') : null;
  renewalInfoUrls.set(directoryUrl, url);
  return url;
}

function problemText(data: unknown): string {
  if (typeof data === 'object' && data !== null) {
    const { type, detail } = data as { type?: unknown; detail?: unknown };
    const parts = [typeof type === 'string' ? type.replace('urn:ietf:params:acme:error:', '') : '', detail];
    return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(': ');
  }
  return typeof data === 'string' ? data.slice(0, 200) : '';
}

const timestamp = (value: unknown): Date | undefined => {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
};

/** Asks the directory's CA about one certificate. Throws RenewalInfoError with the reason when the answer is unusable. */
export async function fetchRenewalInfo(
  directory: { url: string; caBundlePem: string | null },
  certId: string,
  timeoutMs = ARI_REQUEST_TIMEOUT_MS,
): Promise<RenewalInfoAnswer> {
  trustDirectoryCa(directory.url, directory.caBundlePem);
  const base = await renewalInfoUrlOf(directory.url, timeoutMs);
  if (base === null) return { kind: 'unsupported' };
  const url = `${base}/${certId}`;
  const res = await get(url, timeoutMs);
  if (res.status !== 200) {
    const problem = problemText(res.data);
    throw new RenewalInfoError(`ari: GET ${url}: HTTP ${res.status}${problem ? `: ${problem}` : ''}`);
  }
  const window = (res.data as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
  const start = timestamp(window?.start);
  const end = timestamp(window?.end);
  if (!start || !end) throw new RenewalInfoError(`ari: GET ${url}: the answer has no valid suggestedWindow`);
  // RFC 9773 §4.2: a window whose end is not after its start is invalid and must be ignored.
  if (end.getTime() <= start.getTime()) {
    throw new RenewalInfoError(`ari: GET ${url}: the suggested window ends before it starts`);
  }
  const explanationUrl = safeExplanationUrl((res.data as { explanationURL?: unknown }).explanationURL);
  const retryAfterSeconds = parseRetryAfter(res.retryAfter);
  return {
    kind: 'window',
    start,
    end,
    ...(explanationUrl ? { explanationUrl } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
}
