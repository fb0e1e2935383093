/** Waiting out a dependency that does not answer: durable timers between calls, never a loop in a slot. */
import { sleep } from '@temporalio/workflow';
import { applicationFailureOf } from './lib/application-failure';
import { dependencyWaitMs } from './lib/dependency-wait';
import { FailureType } from '../temporal/contract';

/**
 * Calls `call` until it returns or fails for another reason than DEPENDENCY_NOT_ANSWERING (the
 * dependency's breaker is open) or DEPENDENCY_BUSY (this worker's share of calls to it is in use).
 * Between calls the run sleeps on a timer (lib/dependency-wait.ts) and tells `onWait` why, so its
 * progress shows "CA not answering" meanwhile; `onWait(undefined)` when the call goes through.
 * `onWait` may be async (record the wait with an activity): the next call waits for it.
 * With `busyOnly`, an open breaker fails at once (the caller falls over to another CA, or gives up a
 * best-effort cleanup) and only a full share is waited for.
 */
export async function untilAnswering<T>(
  call: () => Promise<T>,
  onWait?: (message: string | undefined, waitMs?: number) => void | Promise<void>,
  options: { busyOnly?: boolean } = {},
): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      const result = await call();
      if (round > 0) await onWait?.(undefined);
      return result;
    } catch (error) {
      const failure = applicationFailureOf(error);
      const waitMs = dependencyWaitMs(
        { type: failure?.type ?? undefined, details: failure?.details?.[0] },
        round,
        Math.random(),
      );
      if (waitMs === undefined || (options.busyOnly && failure?.type !== FailureType.dependencyBusy)) throw error;
      await onWait?.(failure?.message, waitMs);
      await sleep(waitMs);
    }
  }
}
