/** Pure renewal-window decision. No Temporal runtime import, unit-tested in test/unit/renewal-window.test.ts. */
import type { RenewalFacts } from '../../activities/certificates';
import type { RenewalInfoFacts } from '../../activities/domain/renewal-info';
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
  /** What decided: the CA's ARI window, or the lifetime rule (no ARI, or ARI failing). */
  basis?: 'ari' | 'lifetime';
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

function lifetimeDecision(validity: CurrentValidity, policy: RenewalPolicy, now: Date, why: string): RenewalDecision {
  const renewAt = renewAtFor(validity, policy);
  const end = new Date(validity.notAfter);
  const daysLeft = Math.floor((end.getTime() - now.getTime()) / DAY_MS);
  const basis = 'lifetime' as const;
  if (now.getTime() >= end.getTime()) {
    return {
      due: true,
      reason: `the certificate expired on ${validity.notAfter}`,
      renewAt: renewAt.toISOString(),
      basis,
    };
  }
  if (now.getTime() >= renewAt.getTime()) {
    return {
      due: true,
      reason: `renewal window open since ${renewAt.toISOString()} (${daysLeft} days left${why})`,
      renewAt: renewAt.toISOString(),
      basis,
    };
  }
  return {
    due: false,
    reason: `not due until ${renewAt.toISOString()} (${daysLeft} days left${why})`,
    renewAt: renewAt.toISOString(),
    basis,
  };
}

/**
 * Whether to renew now. With an ARI window (RFC 9773 §4.2): at the moment chosen at random inside it
 * (chosen and stored by the check activity; this only compares times), at once when the whole window
 * is in the past (how a CA announces a revocation), and always once the certificate has expired.
 * Without ARI, or when the CA's ARI fails, the lifetime rule decides and the reason says why.
 */
export function renewalDecision(
  validity: CurrentValidity | undefined,
  policy: RenewalPolicy,
  now: Date,
  renewalInfo?: RenewalInfoFacts,
): RenewalDecision {
  if (!validity) return { due: true, reason: 'no certificate has been issued yet' };
  if (renewalInfo?.kind === 'error')
    return lifetimeDecision(validity, policy, now, `; ARI failed: ${renewalInfo.reason}`);
  if (renewalInfo?.kind !== 'window' || now.getTime() >= Date.parse(validity.notAfter)) {
    return lifetimeDecision(validity, policy, now, renewalInfo?.kind === 'unsupported' ? '; the CA offers no ARI' : '');
  }
  const { windowStart, windowEnd, renewAt } = renewalInfo;
  const ari = { renewAt, basis: 'ari' as const };
  if (now.getTime() >= Date.parse(windowEnd)) {
    return { due: true, reason: `the CA's renewal window ended at ${windowEnd}: renew now`, ...ari };
  }
  if (now.getTime() >= Date.parse(renewAt)) {
    return {
      due: true,
      reason: `the moment chosen in the CA's window (${windowStart} to ${windowEnd}) has come`,
      ...ari,
    };
  }
  return {
    due: false,
    reason: `ARI: renewing at ${renewAt}, in the CA's window ${windowStart} to ${windowEnd}`,
    ...ari,
  };
}

/** What a scheduled check knows of the certificate. */
export type ScheduledCheckInput = Pick<RenewalFacts, 'enabled' | 'policy' | 'current' | 'renewalInfo'>;

/**
 * A scheduled check's decision: `skip` says why nothing is renewed (renewal off for the certificate,
 * or not due yet), absent when the certificate is due.
 */
export function scheduledCheckDecision(
  facts: ScheduledCheckInput,
  now: Date,
): { decision: RenewalDecision; skip?: string } {
  const decision = renewalDecision(facts.current, facts.policy, now, facts.renewalInfo);
  if (!facts.enabled) return { decision, skip: 'renewal is disabled for this certificate' };
  return decision.due ? { decision } : { decision, skip: decision.reason };
}
