import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { classified, ClassifiedError } from '../../activities/errors';
import { asStep } from '../../activities/step-failure';
import { FailureType } from '../../temporal/contract';

const failWith = (error: Error) => (): Promise<never> => Promise.reject(error);

describe('asStep: a composite activity names the step that failed', () => {
  it('passes a result through', async () => {
    assert.equal(await asStep('validate', () => Promise.resolve(7)), 7);
  });

  it('a classified error keeps its type, message and wait, and its details gain the step', async () => {
    const error = classified(FailureType.dependencyBusy, 'busy', 250, { retryAfterMs: 250, dependency: 'ca:1' });
    await assert.rejects(asStep('finalize', failWith(error)), (e: unknown) => {
      assert.ok(e instanceof ClassifiedError);
      assert.equal(e.type, FailureType.dependencyBusy);
      assert.equal(e.message, 'busy');
      assert.equal(e.retryAfterMs, 250);
      assert.deepEqual(e.details, { retryAfterMs: 250, dependency: 'ca:1', step: 'finalize' });
      return true;
    });
  });

  it('an ApplicationFailure keeps its type and retryability; a plain error stays retryable', async () => {
    const failure = ApplicationFailure.create({ type: 'X', message: 'no', nonRetryable: true });
    await assert.rejects(asStep('validate', failWith(failure)), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.deepEqual([e.type, e.message, e.nonRetryable, e.details], ['X', 'no', true, [{ step: 'validate' }]]);
      return true;
    });
    await assert.rejects(asStep('propagate', failWith(new TypeError('socket hang up'))), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.deepEqual([e.type, e.message, e.nonRetryable], ['TypeError', 'socket hang up', false]);
      assert.deepEqual(e.details, [{ step: 'propagate' }]);
      return true;
    });
  });

  it('a cancellation passes unchanged', async () => {
    const cancelled = new CancelledFailure('cancelled');
    await assert.rejects(asStep('validate', failWith(cancelled)), (e: unknown) => e === cancelled);
  });
});
