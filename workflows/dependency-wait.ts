/** Waiting out a dependency that does not answer: durable timers between calls, never a loop in a slot. */
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import { dependencyWaitMs } from './lib/dependency-wait';

function failureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ApplicationFailure) return error;
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

/**
 * Calls `call` until it returns or fails for another reason than DEPENDENCY_NOT_ANSWERING (the
 * dependency's breaker is open) or DEPENDENCY_BUSY (its share stayed full through the activity's
 * retries). Between calls the run sleeps on a timer (lib/dependency-wait.ts) and tells `onWait` why,
 * so its progress shows "CA not answering" meanwhile; `onWait(undefined)` when the call goes through.
 * `onWait` may be async (record the wait with an activity): the next call waits for it.
 */
export async function untilAnswering<T>(
  call: () => Promise<T>,
  onWait?: (message: string | undefined, waitMs?: number) => void | Promise<void>,
): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      const result = await call();
      if (round > 0) await onWait?.(undefined);
      return result;
    } catch (error) {
      const failure = failureOf(error);
      const waitMs = dependencyWaitMs(
        { type: failure?.type ?? undefined, details: failure?.details?.[0] },
        round,
        Math.random(),
      );
      if (waitMs === undefined) throw error;
      await onWait?.(failure?.message, waitMs);
      await sleep(waitMs);
    }
  }
}
