/**
 * Rate-limit pacing: the budget math (pure). A CA limits how many orders an account may create in a
 * window, and how many certificates a registered domain (eTLD+1) and one exact identifier set may get.
 * Defaults are Let's Encrypt's published limits (https://letsencrypt.org/docs/rate-limits/):
 * "New Orders per Account" 300 per 3 hours, "New Certificates per Registered Domain" 50 per 7 days,
 * "New Certificates per Exact Set of Identifiers" (duplicates) 5 per 7 days.
 *
 * Let's Encrypt computes its limits with a token bucket (capacity L, refilled at L per window). We
 * keep a sliding window instead: never more than L spent slots in any window. Every sequence that
 * obeys the sliding window also obeys the bucket, so pacing by it is never refused by the CA (it is
 * at most more patient than needed). Slots are taken when an order is created (before the CA counts
 * a certificate), which again errs on the patient side.
 */
import { getDomain } from 'tldts';
import { formatInZone } from './maintenance-window';

/** How a run that waits for a budget is shown (certificate page, dashboard). */
export const rateLimitWaitText = (until: Date | string): string =>
  `waiting for the CA's rate limit until ${formatInZone(until, 'UTC')}`;

/**
 * A slot is reserved a moment before its order reaches the CA (the reservation and the order are two
 * steps). So that the CA's window, which starts at the order, never holds more than the budget, a
 * slot counts for its window plus this grace; an order later than that after its reservation (a
 * stalled worker) could meet a full window at the CA, which then answers rateLimited (retried after
 * its Retry-After).
 */
export const DEFAULT_ORDER_SLOT_GRACE_MS = 60_000;

export interface PacingLimits {
  ordersPerAccount: number;
  accountWindowMs: number;
  certificatesPerDomain: number;
  duplicatesPerIdentifiers: number;
  domainWindowMs: number;
}

const HOUR_MS = 3_600_000;

/** Let's Encrypt's published limits (https://letsencrypt.org/docs/rate-limits/). */
export const LETS_ENCRYPT_LIMITS: PacingLimits = {
  ordersPerAccount: 300,
  accountWindowMs: 3 * HOUR_MS,
  certificatesPerDomain: 50,
  duplicatesPerIdentifiers: 5,
  domainWindowMs: 7 * 24 * HOUR_MS,
};

/** A slot already spent at this directory (the ledger row, as far as the math needs it). */
export interface SpentSlot {
  spentAt: Date;
  registeredDomain: string;
  identifiers: string;
  exempt: boolean;
  renewal: boolean;
}

export interface SlotRequest {
  registeredDomain: string;
  identifiers: string;
  /**
   * An ARI-suggested renewal sent with `replaces`: Let's Encrypt exempts these from its rate limits
   * ("Limit exemptions for renewals", https://letsencrypt.org/docs/rate-limits/), so they never wait.
   */
  exempt: boolean;
  /**
   * The exact identifier set was issued before (the certificate has a version): Let's Encrypt does not
   * count renewals against "New Certificates per Registered Domain", only against the duplicate limit
   * (rate-limits page, "Renewal Exemption"; community.letsencrypt.org/t/understanding-certificate-limits/140807).
   */
  renewal: boolean;
}

export type PacingLimitName = 'orders-per-account' | 'certificates-per-domain' | 'duplicates';

export type SlotDecision =
  | { granted: true }
  | {
      granted: false;
      /** The earliest moment every exceeded budget has a free slot again (if nothing else is spent). */
      retryAt: Date;
      /** The budgets that are full, in words a technician can read. */
      reasons: string[];
      limits: PacingLimitName[];
    };

/**
 * When a budget of `limit` slots per `windowMs` has room again: now if fewer than `limit` of `times`
 * fall in the window ending now, else the moment enough of them have left it.
 */
export function budgetFreesAt(times: readonly Date[], limit: number, windowMs: number, now: Date): Date {
  const inWindow = times
    .map((t) => t.getTime())
    .filter((t) => t > now.getTime() - windowMs)
    .sort((a, b) => a - b);
  if (inWindow.length < limit) return now;
  // The slot that must leave the window for the count to drop below the limit.
  const blocking = inWindow[inWindow.length - limit] as number;
  return new Date(blocking + windowMs);
}

const hours = (ms: number): string => (ms % HOUR_MS === 0 ? `${ms / HOUR_MS} h` : `${Math.round(ms / 1000)} s`);
const window = (ms: number): string => (ms === 7 * 24 * HOUR_MS ? 'week' : hours(ms));

/** Decides whether one more order may be spent now; each slot counts for its window plus `graceMs`. */
export function decideSlot(
  spent: readonly SpentSlot[],
  request: SlotRequest,
  limits: PacingLimits,
  now: Date,
  graceMs = 0,
): SlotDecision {
  if (request.exempt) return { granted: true };
  const counted = spent.filter((s) => !s.exempt);
  const checks: { name: PacingLimitName; at: Date; reason: string }[] = [
    {
      name: 'orders-per-account',
      at: budgetFreesAt(
        counted.map((s) => s.spentAt),
        limits.ordersPerAccount,
        limits.accountWindowMs + graceMs,
        now,
      ),
      reason: `${limits.ordersPerAccount} new orders per account per ${window(limits.accountWindowMs)}`,
    },
    {
      name: 'certificates-per-domain',
      at: budgetFreesAt(
        request.renewal
          ? []
          : counted.filter((s) => !s.renewal && s.registeredDomain === request.registeredDomain).map((s) => s.spentAt),
        limits.certificatesPerDomain,
        limits.domainWindowMs + graceMs,
        now,
      ),
      reason: `${limits.certificatesPerDomain} certificates per registered domain (${request.registeredDomain}) per ${window(limits.domainWindowMs)}`,
    },
    {
      name: 'duplicates',
      at: budgetFreesAt(
        counted.filter((s) => s.identifiers === request.identifiers).map((s) => s.spentAt),
        limits.duplicatesPerIdentifiers,
        limits.domainWindowMs + graceMs,
        now,
      ),
      reason: `${limits.duplicatesPerIdentifiers} certificates for ${request.identifiers} per ${window(limits.domainWindowMs)}`,
    },
  ];
  const full = checks.filter((c) => c.at.getTime() > now.getTime());
  if (full.length === 0) return { granted: true };
  return {
    granted: false,
    retryAt: new Date(Math.max(...full.map((c) => c.at.getTime()))),
    reasons: full.map((c) => c.reason),
    limits: full.map((c) => c.name),
  };
}

/**
 * The registered domain (eTLD+1 by the Public Suffix List, as Let's Encrypt counts) of a certificate
 * name; a wildcard counts for its base name. The PSL's private section counts too (`a.github.io` is
 * its own registered domain), as Boulder's publicsuffix-go lookup does by default. A name that is itself a public suffix, or has none
 * (`example.test` in tests), counts as itself.
 */
export function registeredDomainOf(name: string): string {
  const host = name.toLowerCase().replace(/^\*\./, '');
  return getDomain(host, { allowPrivateDomains: true }) ?? host;
}

/** The exact identifier set of an order, as the duplicate limit compares it. */
export function identifierSetOf(names: readonly string[]): string {
  return [...new Set(names.map((n) => n.toLowerCase()))].sort().join(',');
}
