/**
 * A bounded per-key limiter that fails fast: at most `share` calls to one dependency run at once in
 * this worker process; a call past the share gets no slot at once (the caller fails with
 * DEPENDENCY_BUSY, so its activity slot is free while its workflow waits on a durable timer).
 * In memory, per process: two worker processes each take their share (docs/architecture.md).
 */
export interface ConcurrencyLimiter {
  /** A release function, or undefined when the key's share is in use. */
  tryAcquire(key: string, share: number): (() => void) | undefined;
  /** Calls in flight per key (for tests and logs). */
  inFlight(key: string): number;
}

export function createConcurrencyLimiter(): ConcurrencyLimiter {
  const running = new Map<string, number>();
  return {
    tryAcquire(key, share) {
      const now = running.get(key) ?? 0;
      if (now >= share) return undefined;
      running.set(key, now + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (running.get(key) ?? 1) - 1;
        if (left <= 0) running.delete(key);
        else running.set(key, left);
      };
    },
    inFlight: (key) => running.get(key) ?? 0,
  };
}
