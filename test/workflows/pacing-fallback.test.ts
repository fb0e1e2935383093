/**
 * The lifecycle's pacing wait and fall-over on a real Temporal dev server with mocked activities:
 * a refused slot waits on a durable timer (the progress says until when) and asks again; a CA-side
 * failure at the first directory moves the run to the next, a failed validation does not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { certificateWorkflowId, FailureType, progressQuery, type LifecycleProgress } from '../../temporal/contract';
import { certificateLifecycleWorkflow } from '../../workflows';
import { mockActivities, useWorkflowTestEnv, uniqueCertificateId, type MockActivities } from './harness';

const testEnv = useWorkflowTestEnv();
const TWO_CAS = {
  directories: [
    { id: '1', name: 'CA one' },
    { id: '2', name: 'CA two' },
  ],
  fallbackAfterMs: 60_000,
};

async function run(mocks: MockActivities, during?: (workflowId: string) => Promise<void>) {
  const { client, runWorker } = testEnv();
  const certificateId = uniqueCertificateId('pacing');
  return runWorker(mocks.activities, async (taskQueue) => {
    const handle = await client.workflow.start(certificateLifecycleWorkflow, {
      taskQueue,
      workflowId: certificateWorkflowId(certificateId),
      args: [{ certificateId, trigger: 'create', auditId: '1' }],
      workflowExecutionTimeout: '1m',
    });
    if (during) await during(handle.workflowId);
    let outcome: string;
    try {
      outcome = (await handle.result()).outcome;
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      outcome = 'failed';
    }
    return { outcome, progress: await handle.query(progressQuery) };
  });
}

describe('pacing and fallback in the lifecycle', () => {
  it('a refused slot waits until the budget frees, shows it, then orders', { timeout: 60_000 }, async () => {
    let markAsked = (): void => undefined;
    const asked = new Promise<void>((resolve) => (markAsked = resolve));
    let calls = 0;
    const mocks = mockActivities({
      overrides: {
        reserveOrderSlot: async () => {
          calls += 1;
          if (calls > 1) return { granted: true };
          markAsked();
          return {
            granted: false,
            retryAt: new Date(Date.now() + 1_500).toISOString(),
            reason: "waiting for the CA's rate limit: 5 new orders per account per 3 h",
          };
        },
      },
    });
    let seen: LifecycleProgress | undefined;
    const result = await run(mocks, async (workflowId) => {
      await asked;
      await new Promise((resolve) => setTimeout(resolve, 300));
      seen = await testEnv().client.workflow.getHandle(workflowId).query(progressQuery);
    });
    assert.equal(result.outcome, 'issued');
    assert.equal(mocks.count('reserveOrderSlot'), 2, 'asked again after the timer');
    assert.equal(mocks.count('createAcmeOrder'), 1);
    assert.equal(seen?.current, 'order');
    assert.match(seen?.rateLimitWait?.reason ?? '', /5 new orders per account per 3 h/);
    assert.ok(seen?.rateLimitWait?.until, 'the time it goes');
    assert.equal(result.progress.rateLimitWait, undefined, 'no wait once it went');
  });

  it('ACME_UNAVAILABLE at the first CA: the run orders from the second and says so', { timeout: 60_000 }, async () => {
    const mocks = mockActivities({
      overrides: {
        planAcmeDirectories: async () => TWO_CAS,
        createAcmeOrder: async (input) => {
          if (input.directoryId === '1')
            throw ApplicationFailure.create({
              type: FailureType.acmeUnavailable,
              message: 'acme: create order: cannot reach the CA: connection refused',
              nonRetryable: true,
            });
          return { orderId: 'order-2', needsChallenge: false, recordName: '', values: [] };
        },
      },
    });
    const result = await run(mocks);
    assert.equal(result.outcome, 'issued');
    assert.deepEqual(
      mocks.inputsOf('reserveOrderSlot').map((i) => i.directoryId),
      ['1', '2'],
      'a slot at each directory',
    );
    assert.deepEqual(result.progress.directory, { id: '2', name: 'CA two' });
    assert.deepEqual(result.progress.fallbacks, [
      { from: 'CA one', to: 'CA two', reason: 'acme: create order: cannot reach the CA: connection refused' },
    ]);
    assert.deepEqual(mocks.inputsOf('sendLifecycleEmail')[0]?.fallbacks, result.progress.fallbacks);
  });

  it('a failed validation at the first CA does not fall over', { timeout: 60_000 }, async () => {
    const mocks = mockActivities({
      overrides: {
        planAcmeDirectories: async () => TWO_CAS,
        validateAcmeChallenge: async () => {
          throw ApplicationFailure.create({
            type: FailureType.acmeValidationFailed,
            message: 'acme: the CA could not validate www.example.test through DNS',
            nonRetryable: true,
          });
        },
      },
    });
    const result = await run(mocks);
    assert.equal(result.outcome, 'failed');
    assert.deepEqual(
      mocks.inputsOf('createAcmeOrder').map((i) => i.directoryId),
      ['1'],
    );
    assert.equal(result.progress.fallbacks, undefined);
  });
});
