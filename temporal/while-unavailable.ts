/**
 * Retries a start-up call while the Temporal server answers gRPC UNAVAILABLE. A server that has just
 * started can pass its health check and still refuse schedule calls for a while: measured on 1.29.1
 * started on restored databases (test/production/restore.test.ts), describing a schedule answered
 * "14 UNAVAILABLE: Not enough hosts to serve the request" for about 45 s, longer than the SDK's own
 * retries of a call. Any other error is thrown at once.
 */
import { ServiceError } from '@temporalio/client';

/** gRPC UNAVAILABLE. */
const UNAVAILABLE = 14;

export const isTemporalUnavailable = (error: unknown): boolean =>
  error instanceof ServiceError && (error.cause as { code?: unknown } | undefined)?.code === UNAVAILABLE;

export interface UnavailableRetry {
  /** Give up (rethrow) once this much time has passed since the first attempt. */
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs: number;
  /** Told about each UNAVAILABLE answer that is retried. */
  onRetry: (error: unknown, elapsedMs: number) => void;
  /** For tests: the clock and the pause. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export async function whileTemporalUnavailable<T>(work: () => Promise<T>, o: UnavailableRetry): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  for (;;) {
    try {
      return await work();
    } catch (error) {
      const elapsed = now() - started;
      if (!isTemporalUnavailable(error) || elapsed >= o.timeoutMs) throw error;
      o.onRetry(error, elapsed);
      await sleep(o.intervalMs);
    }
  }
}
