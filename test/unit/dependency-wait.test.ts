import assert from 'node:assert/strict';
import { it } from 'node:test';
import { dependencyWaitMs } from '../../workflows/lib/dependency-wait';
import { FailureType } from '../../temporal/contract';

const notAnswering = (retryAfterMs?: number) => ({
  type: FailureType.dependencyNotAnswering,
  details: retryAfterMs === undefined ? undefined : { retryAfterMs, dependency: 'acme-directory:1' },
});

it('other failures are not waited for', () => {
  assert.equal(dependencyWaitMs({ type: FailureType.acmeRejected, details: undefined }, 0, 0), undefined);
  assert.equal(dependencyWaitMs({ type: undefined, details: undefined }, 0, 0), undefined);
});

it('waits at least until the next probe, growing per round up to the cap', () => {
  assert.equal(dependencyWaitMs(notAnswering(30_000), 0, 0), 30_000);
  assert.equal(dependencyWaitMs(notAnswering(), 0, 0), 1_000);
  assert.equal(dependencyWaitMs(notAnswering(), 3, 0), 8_000);
  assert.equal(dependencyWaitMs(notAnswering(), 50, 0), 600_000);
  assert.equal(dependencyWaitMs(notAnswering(), 50, 0, 5_000), 5_000);
  assert.equal(dependencyWaitMs({ type: FailureType.dependencyBusy, details: undefined }, 1, 0), 2_000);
});

it('a full share is not an outage: its wait stops growing at a few seconds', () => {
  const busy = { type: FailureType.dependencyBusy, details: undefined };
  assert.equal(dependencyWaitMs(busy, 3, 0), 8_000);
  assert.equal(dependencyWaitMs(busy, 12, 0), 8_000);
  assert.equal(dependencyWaitMs(busy, 12, 0, 5_000), 5_000);
  assert.equal(dependencyWaitMs(notAnswering(), 12, 0), 600_000);
});

it('spreads a fleet over a fifth of the wait', () => {
  assert.equal(dependencyWaitMs(notAnswering(10_000), 0, 1), 12_000);
  assert.equal(dependencyWaitMs(notAnswering(10_000), 0, 0.5), 11_000);
});
