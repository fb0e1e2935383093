import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BUSY_WAIT_MAX_MS, createBusyWait } from '../../activities/dependency-guard/busy-wait';

it('a refusal with nobody waiting gives the plain short wait, jittered up to twice it', () => {
  const wait = createBusyWait(1_000);
  assert.equal(wait.refused('device:1', 4, 0, 0), 1_000);
  assert.equal(createBusyWait(1_000).refused('device:1', 4, 0, 0.99), 1_990);
});

it('a long queue is waited for about as long as the callers ahead of it take, and spread', () => {
  const wait = createBusyWait(1_000);
  wait.took('device:1', 400);
  let last = 0;
  for (let i = 0; i < 100; i += 1) last = wait.refused('device:1', 4, 0, 0.5);
  // 99 ahead + this one, 4 at a time, 400 ms each: 10 s (random 0.5 = the middle of 0.5–1.5×).
  assert.equal(last, 10_000);
  assert.equal(wait.waiting('device:1', 0), 100);
  assert.equal(createBusyWait(1_000).refused('device:1', 4, 0, 0), 1_000, 'never below the plain wait');
});

it('a caller stops counting once its wait has passed; dependencies are apart; the wait has a cap', () => {
  const wait = createBusyWait(1_000);
  wait.took('device:1', 1_000);
  for (let i = 0; i < 20; i += 1) wait.refused('device:1', 1, 0, 0.5);
  assert.equal(wait.waiting('device:1', 0), 20);
  assert.ok(wait.waiting('device:1', 5_000) < 20, 'the first ones were told to wait less than 5 s');
  assert.equal(wait.waiting('device:2', 5_000), 0);
  assert.equal(wait.waiting('device:1', 30_000), 0);
  for (let i = 0; i < 1_000; i += 1) wait.refused('device:3', 1, 0, 0.99);
  wait.took('device:3', 60_000);
  assert.equal(wait.refused('device:3', 1, 0, 0.99), BUSY_WAIT_MAX_MS);
});
