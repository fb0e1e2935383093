/**
 * When a run gives up its ACME directory for the next one (pure). Only for CA-side reasons, as
 * activities/acme/problems.ts classifies them: the CA cannot be reached, hangs (a request timeout, or
 * the fallback deadline passed while the call kept retrying), answers 5xx/serverInternal, or keeps
 * refusing with rateLimited. A bad request (ACME_REJECTED), a failed validation (the customer's DNS)
 * or a DNS provider error would fail at the next CA too: those never fall over.
 */
import { FailureType } from '../../temporal/contract';

/** DEPENDENCY_NOT_ANSWERING from a CA activity: the directory's circuit breaker is open (dependency-guard). */
const CA_SIDE: ReadonlySet<string> = new Set([
  FailureType.acmeUnavailable,
  FailureType.acmeRateLimited,
  FailureType.dependencyNotAnswering,
]);

/** The activities that talk to the CA (their timeouts count as the CA hanging). */
export const CA_ACTIVITIES: ReadonlySet<string> = new Set([
  'createAcmeOrder',
  'validateAcmeChallenge',
  'finalizeAcmeOrder',
  'validateAndFinalizeAcmeOrder',
]);

export interface FailureFacts {
  /** ApplicationFailure.type of the failure (or of its cause). */
  type: string | undefined;
  /** The activity that failed, when an activity failed. */
  activityType: string | undefined;
  /** The activity ran out of time (its schedule-to-close deadline: the fallback deadline). */
  timedOut: boolean;
}

export function fallsOver(failure: FailureFacts): boolean {
  if (failure.activityType !== undefined && !CA_ACTIVITIES.has(failure.activityType)) return false;
  if (failure.timedOut) return failure.activityType !== undefined;
  return failure.type !== undefined && CA_SIDE.has(failure.type);
}
