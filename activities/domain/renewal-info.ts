/**
 * ACME Renewal Information (ARI, RFC 9773): the pure rules shared by the check activity, the renewal
 * decision (workflows/lib/renewal-window.ts, `import type` only) and the web (display). No I/O.
 */

/** What the check step knows about the CA's suggested renewal window for the current version. */
export type RenewalInfoFacts =
  /** The CA suggested a window; `renewAt` is the moment chosen uniformly at random inside it (RFC 9773 §4.2). */
  | { kind: 'window'; windowStart: string; windowEnd: string; renewAt: string; explanationUrl?: string }
  /** The CA's directory has no `renewalInfo`: the lifetime rule decides. */
  | { kind: 'unsupported' }
  /** The CA's ARI answered with an error (or not at all): the lifetime rule decides, the reason is shown. */
  | { kind: 'error'; reason: string };

/** Bounds for the next ARI poll (from the CA's Retry-After, RFC 9773 §4.3). */
export interface RenewalInfoPollBounds {
  minSeconds: number;
  maxSeconds: number;
  /** When the CA sends no Retry-After. */
  defaultSeconds: number;
}

/**
 * Defaults: Retry-After kept within [1 hour, 24 hours]; 6 hours when the CA sends none (Let's Encrypt
 * and Pebble send 21600 s). Below an hour a CA answering "Retry-After: 0" would have every check poll;
 * above a day a mass revocation (the CA must revoke within 24 hours, CA/B Forum BR 4.9.1.1) could be
 * noticed too late.
 */
export const DEFAULT_POLL_BOUNDS: RenewalInfoPollBounds = {
  minSeconds: 3600,
  maxSeconds: 86_400,
  defaultSeconds: 6 * 3600,
};

/** Seconds until the next poll: the CA's Retry-After, clamped to the bounds. */
export function nextPollDelaySeconds(retryAfterSeconds: number | undefined, bounds: RenewalInfoPollBounds): number {
  const wanted = retryAfterSeconds ?? bounds.defaultSeconds;
  return Math.min(bounds.maxSeconds, Math.max(bounds.minSeconds, wanted));
}

/**
 * RFC 9773 §4.2: a uniformly random moment in [start, end). `random` is in [0, 1) (Math.random in the
 * activity; a test passes its own). The workflow never draws: it compares the stored moment.
 */
export function chooseRenewalMoment(windowStart: Date, windowEnd: Date, random: number): Date {
  const span = Math.max(0, windowEnd.getTime() - windowStart.getTime());
  return new Date(windowStart.getTime() + Math.floor(span * Math.min(Math.max(random, 0), 1)));
}

/** An explanationURL is shown as a link only when it is an absolute https URL (anything else is dropped). */
export function safeExplanationUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2000) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === ''
      ? url.href
      : undefined;
  } catch {
    return undefined;
  }
}
