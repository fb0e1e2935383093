/**
 * "Expires within N days" for certificates of any lifetime. The configured days (alert digest
 * buckets, the drift watch's served-expiry warning, the dashboard's 7/14/30-day counts) were chosen
 * for 90-day certificates, so a shorter lifetime scales them down: a certificate counts when less than
 * min(N days, N/90 of its lifetime) remains. A 6-day `shortlived` certificate is "within 7 days" in its
 * last 11 hours instead of all its life, a 47-day one in its last 3.7 days; 90 days and longer keep N.
 * The SQL function expiry_threshold (migration 0017) is the same rule for queries.
 */
const DAY_MS = 86_400_000;
/** The lifetime the configured thresholds were written for (Let's Encrypt's `classic` profile). */
export const REFERENCE_LIFETIME_DAYS = 90;

/** The threshold in milliseconds for a certificate valid from `notBefore` to `notAfter` (unknown start: N days). */
export function expiryThresholdMs(days: number, notBefore: Date | null | undefined, notAfter: Date): number {
  const configured = days * DAY_MS;
  if (!notBefore) return configured;
  const lifetime = notAfter.getTime() - notBefore.getTime();
  if (!(lifetime > 0)) return configured;
  return Math.min(configured, (lifetime * days) / REFERENCE_LIFETIME_DAYS);
}

/** True when the certificate expires within the (lifetime-scaled) threshold of `days` days at `now`. */
export function expiresWithin(
  days: number,
  validity: { notBefore: Date | null | undefined; notAfter: Date },
  now: Date = new Date(),
): boolean {
  return validity.notAfter.getTime() - now.getTime() <= expiryThresholdMs(days, validity.notBefore, validity.notAfter);
}

/** A lifetime in words: "90 days", "6 days", "160 hours" (not a whole number of days). */
export function describeLifetime(notBefore: Date, notAfter: Date): string {
  const ms = notAfter.getTime() - notBefore.getTime();
  // Let's Encrypt's certificates run one second short of whole days (notAfter is inclusive).
  const days = (ms + 1000) / DAY_MS;
  if (Math.abs(days - Math.round(days)) < 1 / 24 && days >= 1) return `${Math.round(days)} days`;
  return `${Math.round(ms / 3_600_000)} hours`;
}
