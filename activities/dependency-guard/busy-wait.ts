/**
 * How long a call refused for a full share (DEPENDENCY_BUSY) should wait: about as long as the callers
 * already waiting for the dependency take to get through it, so the waiters come back about as fast as
 * calls end instead of every second or so.
 *
 * Why: a refused run waits on a durable timer and calls again (workflows/dependency-wait.ts), each round
 * two workflow tasks and an activity task. With a fixed short wait (1 s, growing to 8 s), 1,000 renewals
 * behind one device's 4 calls at once came back more than a hundred times a second, each round a replay
 * of a longer history once the runs outnumber the workflow cache: the rounds grew with the square of
 * the fleet, and N = 1,000 never finished (issue 18).
 *
 * The estimate: waiting callers ÷ share × the dependency's recent mean call duration. A waiting caller
 * is counted from its refusal until the wait it was given has passed (it cannot come back sooner: the
 * workflow waits at least that long), so no caller is named or kept: one counter per second of wait,
 * per dependency, in this process (as the shares are).
 */
export interface BusyWait {
  /** A call to `key` was refused: the wait to give it (ms), at least `minMs`, at most `maxMs`. */
  refused(key: string, share: number, now: number, random: number): number;
  /** A call to `key` that held a slot took `ms`. */
  took(key: string, ms: number): void;
  /** Callers refused for `key` whose wait has not passed yet (tests, logs). */
  waiting(key: string, now: number): number;
}

/** The longest wait a refusal gives: a long queue is polled a few times over its length, not never. */
export const BUSY_WAIT_MAX_MS = 120_000;
/** Weight of the latest call in the mean call duration (exponential moving average). */
const CALL_WEIGHT = 0.1;

interface KeyState {
  /** Mean duration of a call that held a slot, ms (undefined before the first one ends). */
  meanMs: number | undefined;
  /** Refused callers by the second their wait ends. */
  untilSecond: Map<number, number>;
}

export function createBusyWait(minMs: number, maxMs = BUSY_WAIT_MAX_MS): BusyWait {
  const keys = new Map<string, KeyState>();
  const stateOf = (key: string): KeyState => {
    let state = keys.get(key);
    if (!state) {
      state = { meanMs: undefined, untilSecond: new Map() };
      keys.set(key, state);
    }
    return state;
  };
  const waiting = (state: KeyState, now: number): number => {
    const second = Math.floor(now / 1000);
    let count = 0;
    for (const [until, n] of state.untilSecond) {
      if (until < second) state.untilSecond.delete(until);
      else count += n;
    }
    return count;
  };
  return {
    refused(key, share, now, random) {
      const state = stateOf(key);
      const ahead = waiting(state, now);
      const queueMs = ((ahead + 1) / Math.max(1, share)) * (state.meanMs ?? minMs);
      // Spread over half to one and a half times the estimate: the waiters come back evenly, not together.
      // A short queue keeps the plain refusal: minMs, jittered up to twice it.
      const jittered = queueMs > minMs ? queueMs * (0.5 + random) : minMs * (1 + random);
      const waitMs = Math.round(Math.min(maxMs, Math.max(minMs, jittered)));
      const until = Math.floor((now + waitMs) / 1000);
      state.untilSecond.set(until, (state.untilSecond.get(until) ?? 0) + 1);
      return waitMs;
    },
    took(key, ms) {
      const state = stateOf(key);
      state.meanMs = state.meanMs === undefined ? ms : state.meanMs + CALL_WEIGHT * (ms - state.meanMs);
    },
    waiting: (key, now) => {
      const state = keys.get(key);
      return state ? waiting(state, now) : 0;
    },
  };
}
