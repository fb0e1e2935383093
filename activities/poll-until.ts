import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Asks `done` every `pollMs` until it answers true or `timeoutMs` has passed (it is asked at least
 * once). Whether it answered true.
 */
export async function pollUntil(
  done: () => Promise<boolean>,
  timing: { timeoutMs: number; pollMs: number },
): Promise<boolean> {
  const deadline = Date.now() + timing.timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(timing.pollMs);
  }
}
