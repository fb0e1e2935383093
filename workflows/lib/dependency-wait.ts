/**
 * How long a run waits before it calls a dependency again whose breaker is open or whose share was
 * full (pure; activities/dependency-guard decides, the workflow waits on a durable timer). The wait is
 * at least until the breaker's next probe, and grows with each round (1 s, 2 s, 4 s … up to
 * `maxWaitMs`) so a long outage costs a few history events an hour, not a loop. Jitter spreads a
 * fleet's wake-ups over the following `jitter` share of the wait.
 */
import { FailureType, type NotAnsweringDetails } from '../../temporal/contract';

export interface WaitFacts {
  /** ApplicationFailure.type of the failure (or of its cause). */
  type: string | undefined;
  /** ApplicationFailure.details[0], when there is one. */
  details: unknown;
}

export const DEFAULT_MAX_WAIT_MS = 10 * 60_000;
/**
 * A full share (DEPENDENCY_BUSY) is not an outage: it frees as soon as one of this worker's calls to the
 * dependency ends, so its wait grows only to this, never to the outage cap. With the outage cap, runs that
 * found the share full a few times in a row slept for minutes while newer runs took the free slots (a
 * kill -9 test of 50 deploys to one device did not finish in 10 minutes).
 */
export const BUSY_MAX_WAIT_MS = 8_000;

const retryAfterOf = (details: unknown): number | undefined => {
  const ms = (details as Partial<NotAnsweringDetails> | undefined)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : undefined;
};

/** Milliseconds to wait, or undefined when the failure is not about a dependency's availability. */
export function dependencyWaitMs(
  failure: WaitFacts,
  round: number,
  random: number,
  maxWaitMs = DEFAULT_MAX_WAIT_MS,
): number | undefined {
  if (failure.type !== FailureType.dependencyNotAnswering && failure.type !== FailureType.dependencyBusy)
    return undefined;
  const cap = failure.type === FailureType.dependencyBusy ? Math.min(maxWaitMs, BUSY_MAX_WAIT_MS) : maxWaitMs;
  const backoff = Math.min(cap, 1_000 * 2 ** Math.min(round, 20));
  const base = Math.max(retryAfterOf(failure.details) ?? 0, backoff);
  return Math.round(base * (1 + 0.2 * Math.min(1, Math.max(0, random))));
}
