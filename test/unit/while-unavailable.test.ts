import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ServiceError } from '@temporalio/client';
import { whileTemporalUnavailable } from '../../temporal/while-unavailable';

const unavailable = (): ServiceError =>
  new ServiceError('Failed to describe schedule', {
    cause: Object.assign(new Error('14 UNAVAILABLE: Not enough hosts to serve the request'), { code: 14 }),
  });

/** A fake clock that the pause advances. */
function clock(): { now: () => number; sleep: (ms: number) => Promise<void> } {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
  };
}

it('asks again while Temporal answers UNAVAILABLE, then returns the answer', async () => {
  let calls = 0;
  const retried: number[] = [];
  const result = await whileTemporalUnavailable(
    async () => {
      calls += 1;
      if (calls < 3) throw unavailable();
      return 'reconciled';
    },
    { timeoutMs: 10_000, intervalMs: 1_000, onRetry: (_e, elapsed) => retried.push(elapsed), ...clock() },
  );
  assert.equal(result, 'reconciled');
  assert.deepEqual(retried, [0, 1_000]);
});

it('rethrows other errors at once and UNAVAILABLE after the timeout', async () => {
  let calls = 0;
  await assert.rejects(
    whileTemporalUnavailable(
      async () => {
        calls += 1;
        throw new Error('wrong master key');
      },
      { timeoutMs: 10_000, intervalMs: 1_000, onRetry: () => undefined, ...clock() },
    ),
    /wrong master key/,
  );
  assert.equal(calls, 1);
  await assert.rejects(
    whileTemporalUnavailable(
      async () => {
        throw unavailable();
      },
      { timeoutMs: 5_000, intervalMs: 1_000, onRetry: () => undefined, ...clock() },
    ),
    /Failed to describe schedule/,
  );
});
