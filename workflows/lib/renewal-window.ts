/** Pure renewal-window decision. No Temporal runtime import, unit-tested in test/unit/renewal-window.test.ts. */
import type { RenewalPolicy } from '../../temporal/contract';

export interface CurrentValidity {
  notBefore: string; // ISO 8601
  notAfter: string;
}

export interface RenewalDecision {
  due: boolean;
  reason: string;
  /** When renewal becomes due (absent when there is nothing to renew yet). */
  renewAt?: string;
}

const DAY_MS = 86_400_000;
export const MIN_ELAPSED_FRACTION = 0.1;

export function renewAtFor(validity: CurrentValidity, policy: RenewalPolicy): Date {
  const start = Date.parse(validity.notBefore);
  const end = Date.parse(validity.notAfter);
  const lifetime = Math.max(0, end - start);
  const wanted = ((): number => {
    switch (policy.mode) {
      case 'fraction':
        return end - lifetime / 3;
      case 'days':
        return end - policy.days * DAY_MS;
      case 'percent':
        return end - (lifetime * policy.percent) / 100;
    }
  })();
  // Never before 10% of the lifetime has passed: a rule longer than the lifetime (60 days on a 47-day
  // certificate) would otherwise renew at every check.
  return new Date(Math.max(wanted, start + lifetime * MIN_ELAPSED_FRACTION));
}

export function renewalDecision(
  validity: CurrentValidity | undefined,
  policy: RenewalPolicy,
  now: Date,
): RenewalDecision {
  if (!validity) return { due: true, reason: 'no certificate has been issued yet' };
  const renewAt = renewAtFor(validity, policy);
  const end = new Date(validity.notAfter);
  const daysLeft = Math.floor((end.getTime() - now.getTime()) / DAY_MS);
  if (now.getTime() >= end.getTime()) {
    return { due: true, reason: `the certificate expired on ${validity.notAfter}`, renewAt: renewAt.toISOString() };
  }
  if (now.getTime() >= renewAt.getTime()) {
    return {
      due: true,
      reason: `renewal window open since ${renewAt.toISOString()} (${daysLeft} days left)`,
      renewAt: renewAt.toISOString(),
    };
  }
  return {
    due: false,
    reason: `not due until ${renewAt.toISOString()} (${daysLeft} days left)`,
    renewAt: renewAt.toISOString(),
  };
}
