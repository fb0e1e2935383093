import assert from 'node:assert/strict';

/** Awaits a promise that must reject with an instance of `type`, and returns that error. */
export async function rejection<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

/** The entries a fake appended to its call log while `work` ran. */
export async function callsDuring<T>(log: readonly T[], work: () => Promise<unknown>): Promise<T[]> {
  const start = log.length;
  await work();
  return log.slice(start);
}
