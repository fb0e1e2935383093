import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../config/env';
import { loadWorkerConfig } from '../../worker/config';

const BASE = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/certfleet' };

describe('worker config: the workflow cache', () => {
  it('is bounded by default, whatever the heap (the SDK default grows with it)', () => {
    assert.equal(loadWorkerConfig(BASE).maxCachedWorkflows, 250);
  });

  it('takes WORKER_MAX_CACHED_WORKFLOWS', () => {
    assert.equal(loadWorkerConfig({ ...BASE, WORKER_MAX_CACHED_WORKFLOWS: '80' }).maxCachedWorkflows, 80);
  });

  it('refuses a cache smaller than the workflow tasks run at once, naming both variables', () => {
    assert.throws(
      () =>
        loadWorkerConfig({ ...BASE, WORKER_MAX_CACHED_WORKFLOWS: '20', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /WORKER_MAX_CACHED_WORKFLOWS \(20\).*WORKER_MAX_CONCURRENT_WORKFLOW_TASKS \(40\)/.test(error.message),
    );
  });
});

describe('worker config: workflow task slots and the sticky queue', () => {
  it('takes few workflow tasks at once by default (one workflow thread, a 10 s task timeout)', () => {
    assert.equal(loadWorkerConfig(BASE).maxConcurrentWorkflowTasks, 10);
  });

  it('lets a task wait 60 s on the sticky queue by default, and takes WORKER_STICKY_QUEUE_TIMEOUT_MS', () => {
    assert.equal(loadWorkerConfig(BASE).stickyQueueScheduleToStartTimeoutMs, 60_000);
    assert.equal(
      loadWorkerConfig({ ...BASE, WORKER_STICKY_QUEUE_TIMEOUT_MS: '15000' }).stickyQueueScheduleToStartTimeoutMs,
      15_000,
    );
  });
});
