/**
 * scheduledRenewalWorkflow on a real Temporal dev server with mocked activities: it runs the
 * lifecycle as a child under the certificate's own id, and never starts a second run next to one
 * that is already in progress.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { certificateWorkflowId, FailureType, SearchAttributes } from '../../temporal/contract';
import { certificateLifecycleWorkflow, scheduledRenewalWorkflow } from '../../workflows';
import {
  createGate,
  mockActivities,
  MOCK_VERSION_ID,
  useWorkflowTestEnv,
  uniqueCertificateId,
  validity,
} from './harness';

const TEST_TIMEOUT_MS = 60_000;

const testEnv = useWorkflowTestEnv();

/** A schedule tick's own id: schedules append a timestamp, so it never equals `certificate:<id>`. */
const tickId = (certificateId: string): string => `renewal:certificate:${certificateId}-${Date.now()}`;

describe('scheduledRenewalWorkflow', { timeout: 5 * TEST_TIMEOUT_MS }, () => {
  it(
    'runs the lifecycle as a child under certificate:<id> and returns its result',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const { client, runWorker } = testEnv();
      const certificateId = uniqueCertificateId('tick');
      const mocks = mockActivities({ facts: { current: validity('due') } });

      const { result, child } = await runWorker(mocks.activities, async (taskQueue) => {
        const result = await client.workflow.execute(scheduledRenewalWorkflow, {
          taskQueue,
          workflowId: tickId(certificateId),
          args: [{ certificateId }],
          workflowExecutionTimeout: '2m',
        });
        const child = await client.workflow.getHandle(certificateWorkflowId(certificateId)).describe();
        return { result, child };
      });

      assert.deepEqual(result, {
        started: true,
        result: { outcome: 'issued', versionId: MOCK_VERSION_ID, deployments: [] },
      });
      assert.equal(child.workflowId, `certificate:${certificateId}`);
      assert.equal(child.type, 'certificateLifecycleWorkflow');
      assert.equal(child.status.name, 'COMPLETED');
      assert.equal(child.typedSearchAttributes.get(SearchAttributes.certificateId), certificateId);
      // The child ran with the schedule trigger: the renewal check was recorded.
      assert.deepEqual(mocks.inputsOf('recordRenewalCheck'), [{ certificateId }]);
      assert.equal(mocks.count('finalizeAcmeOrder'), 1);
    },
  );

  it('returns the skipped result of a child that found nothing to do', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { client, runWorker } = testEnv();
    const certificateId = uniqueCertificateId('tick-fresh');
    const mocks = mockActivities({ facts: { current: validity('fresh') } });

    const result = await runWorker(mocks.activities, (taskQueue) =>
      client.workflow.execute(scheduledRenewalWorkflow, {
        taskQueue,
        workflowId: tickId(certificateId),
        args: [{ certificateId }],
      }),
    );

    assert.equal(result.started, true);
    assert.equal(result.result?.outcome, 'skipped');
    assert.equal(mocks.count('createAcmeOrder'), 0);
  });

  it('a failed child is reported as a failed result, not as a failed tick', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { client, runWorker } = testEnv();
    const certificateId = uniqueCertificateId('tick-fail');
    const message = 'acme: the CA could not validate www.example.test through DNS: NXDOMAIN';
    const mocks = mockActivities({
      overrides: {
        validateAcmeChallenge: async () => {
          throw ApplicationFailure.create({ type: FailureType.acmeValidationFailed, message, nonRetryable: true });
        },
      },
    });

    const result = await runWorker(mocks.activities, (taskQueue) =>
      client.workflow.execute(scheduledRenewalWorkflow, {
        taskQueue,
        workflowId: tickId(certificateId),
        args: [{ certificateId }],
      }),
    );

    assert.deepEqual(result, { started: true, result: { outcome: 'failed', reason: message } });
    assert.equal(mocks.count('removeDnsChallenge'), 1);
  });

  it(
    'does not start a second run while one for the certificate is in progress',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const { client, runWorker } = testEnv();
      const certificateId = uniqueCertificateId('tick-busy');
      const gate = createGate();
      const mocks = mockActivities({
        overrides: {
          waitForDnsPropagation: async () => {
            await gate.pass();
            return { nameservers: ['192.0.2.53'], elapsedMs: 5 };
          },
        },
      });

      const observed = await runWorker(mocks.activities, async (taskQueue) => {
        const running = await client.workflow.start(certificateLifecycleWorkflow, {
          taskQueue,
          workflowId: certificateWorkflowId(certificateId),
          args: [{ certificateId, trigger: 'manual' }],
          workflowExecutionTimeout: '2m',
        });
        await gate.entered;

        const tick = await client.workflow.execute(scheduledRenewalWorkflow, {
          taskQueue,
          workflowId: tickId(certificateId),
          args: [{ certificateId }],
          workflowExecutionTimeout: '1m',
        });
        const whileBlocked = await client.workflow.getHandle(certificateWorkflowId(certificateId)).describe();
        const callsWhileBlocked = mocks.names();

        gate.release();
        const result = await running.result();
        return { tick, whileBlocked, callsWhileBlocked, runId: running.firstExecutionRunId, result };
      });

      assert.equal(observed.tick.started, false);
      assert.equal(observed.tick.result, undefined);
      assert.match(observed.tick.reason ?? '', /already in progress/);
      // The run that was already there is the same run, still running, and finished normally.
      assert.equal(observed.whileBlocked.runId, observed.runId);
      assert.equal(observed.whileBlocked.status.name, 'RUNNING');
      assert.deepEqual(observed.result, { outcome: 'issued', versionId: MOCK_VERSION_ID, deployments: [] });
      // Nothing of a second run reached the activities.
      assert.equal(observed.callsWhileBlocked.filter((n) => n === 'loadRenewalFacts').length, 1);
      assert.equal(mocks.count('loadRenewalFacts'), 1);
      assert.equal(mocks.count('recordRenewalCheck'), 0);
      assert.equal(mocks.count('createAcmeOrder'), 1);
    },
  );
});
