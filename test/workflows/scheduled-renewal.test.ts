/**
 * scheduledRenewalWorkflow on a real Temporal dev server with mocked activities: a check that finds
 * nothing due ends in its own workflow task; otherwise it runs the lifecycle as a child under the
 * certificate's own id, and never starts a second run next to one that is already in progress.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Client } from '@temporalio/client';
import { certificateWorkflowId, SearchAttributes } from '../../temporal/contract';
import { certificateLifecycleWorkflow, scheduledRenewalWorkflow } from '../../workflows';
import {
  createGate,
  mockActivities,
  MOCK_VERSION_ID,
  useWorkflowTestEnv,
  validity,
  type MockActivities,
} from './harness';
import {
  ACME_VALIDATION_FAILURE,
  executeOnWorker,
  itWithFreshId,
  mocksBlockedInPropagation,
  mocksFailingAt,
} from '../support/workflow-runs';
import { eventTypeName } from '../support/history-events';

const TEST_TIMEOUT_MS = 60_000;

const testEnv = useWorkflowTestEnv();

/** A schedule tick's own id: schedules append a timestamp, so it never equals `certificate:<id>`. */
const tickId = (certificateId: string): string => `renewal:certificate:${certificateId}-${Date.now()}`;

/** Starts one schedule tick for the certificate on `taskQueue`. */
const startTick = (client: Client, taskQueue: string, certificateId: string, timeout: string) =>
  client.workflow.start(scheduledRenewalWorkflow, {
    taskQueue,
    workflowId: tickId(certificateId),
    args: [{ certificateId }],
    workflowExecutionTimeout: timeout,
  });

/** Executes one schedule tick on `taskQueue`, then describes the certificate's own run. */
async function tickThenDescribe(client: Client, taskQueue: string, certificateId: string, timeout: string) {
  const tick = await (await startTick(client, taskQueue, certificateId, timeout)).result();
  const certificateRun = await client.workflow.getHandle(certificateWorkflowId(certificateId)).describe();
  return { tick, certificateRun };
}

/** One schedule tick for the certificate, run to its end on a fresh worker with these mocks. */
const runTick = (mocks: MockActivities, certificateId: string) =>
  executeOnWorker(testEnv(), mocks.activities, scheduledRenewalWorkflow, {
    workflowId: tickId(certificateId),
    args: [{ certificateId }],
  });

const tickTest = (name: string, label: string, body: (certificateId: string) => Promise<void>): void =>
  itWithFreshId(name, TEST_TIMEOUT_MS, label, body);

describe('scheduledRenewalWorkflow', { timeout: 5 * TEST_TIMEOUT_MS }, () => {
  tickTest(
    'runs the lifecycle as a child under certificate:<id> and returns its result',
    'tick',
    async (certificateId) => {
      const { client, runWorker } = testEnv();
      const mocks = mockActivities({ facts: { current: validity('due') } });

      const { tick: result, certificateRun: child } = await runWorker(mocks.activities, (taskQueue) =>
        tickThenDescribe(client, taskQueue, certificateId, '2m'),
      );

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

  tickTest(
    'a certificate not due, its CA not due to be asked: skipped in one workflow task, the check recorded, no lifecycle run',
    'tick-fresh',
    async (certificateId) => {
      const { client, runWorker } = testEnv();
      const mocks = mockActivities({ facts: { current: validity('fresh') } });

      const { result, events } = await runWorker(mocks.activities, async (taskQueue) => {
        const handle = await startTick(client, taskQueue, certificateId, '1m');
        return { result: await handle.result(), events: (await handle.fetchHistory()).events ?? [] };
      });

      assert.equal(result.started, false);
      assert.match(result.reason ?? '', /^not due until /);
      assert.deepEqual(mocks.names(), ['loadScheduledCheckFacts', 'recordRenewalCheck']);
      assert.deepEqual(mocks.inputsOf('recordRenewalCheck'), [{ certificateId }]);
      // The whole check: one workflow task (both local activities inside it), no child, no server-side activity.
      const types = events.map(eventTypeName);
      assert.equal(types.filter((t) => t === 'WORKFLOW_TASK_COMPLETED').length, 1, types.join());
      assert.ok(!types.some((t) => /CHILD_WORKFLOW|ACTIVITY_TASK/.test(t)), types.join());
      await assert.rejects(
        client.workflow.getHandle(certificateWorkflowId(certificateId)).describe(),
        /not found/i,
        'no lifecycle run was started',
      );
    },
  );

  tickTest(
    "a certificate not due whose CA's ARI is due to be asked: the lifecycle asks it and skips",
    'tick-ari',
    async (certificateId) => {
      const mocks = mockActivities({ facts: { current: validity('fresh') }, ariPollDue: true });

      const result = await runTick(mocks, certificateId);

      assert.equal(result.started, true);
      assert.equal(result.result?.outcome, 'skipped');
      assert.deepEqual(mocks.inputsOf('loadRenewalFacts'), [{ certificateId, renewalInfo: true }]);
      // The lifecycle records the check it skipped; the tick did not record it a second time.
      assert.equal(mocks.count('recordRenewalCheck'), 1);
      assert.equal(mocks.count('createAcmeOrder'), 0);
    },
  );

  tickTest('a certificate with renewal disabled is skipped though due', 'tick-disabled', async (certificateId) => {
    const mocks = mockActivities({ facts: { enabled: false, current: validity('due') }, ariPollDue: false });

    const result = await runTick(mocks, certificateId);

    assert.deepEqual(result, { started: false, reason: 'renewal is disabled for this certificate' });
    assert.equal(mocks.count('recordRenewalCheck'), 1);
    assert.equal(mocks.count('openLifecycleRun'), 0);
  });

  tickTest('a deleted certificate: nothing started, nothing recorded', 'tick-deleted', async (certificateId) => {
    const mocks = mockActivities({ facts: { exists: false } });

    const result = await runTick(mocks, certificateId);

    assert.deepEqual(result, { started: false, reason: 'the certificate was deleted' });
    assert.deepEqual(mocks.names(), ['loadScheduledCheckFacts']);
  });

  tickTest(
    'a failed child is reported as a failed result, not as a failed tick',
    'tick-fail',
    async (certificateId) => {
      const { message } = ACME_VALIDATION_FAILURE;
      const mocks = mocksFailingAt(ACME_VALIDATION_FAILURE);

      const result = await runTick(mocks, certificateId);

      assert.deepEqual(result, { started: true, result: { outcome: 'failed', reason: message } });
      assert.equal(mocks.count('removeDnsChallenge'), 1);
    },
  );

  tickTest(
    'does not start a second run while one for the certificate is in progress',
    'tick-busy',
    async (certificateId) => {
      const { client, runWorker } = testEnv();
      const gate = createGate();
      const mocks = mocksBlockedInPropagation(gate, { nameservers: ['192.0.2.53'], elapsedMs: 5 });

      const observed = await runWorker(mocks.activities, async (taskQueue) => {
        const running = await client.workflow.start(certificateLifecycleWorkflow, {
          taskQueue,
          workflowId: certificateWorkflowId(certificateId),
          args: [{ certificateId, trigger: 'manual' }],
          workflowExecutionTimeout: '2m',
        });
        await gate.entered;

        const { tick, certificateRun: whileBlocked } = await tickThenDescribe(client, taskQueue, certificateId, '1m');
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
