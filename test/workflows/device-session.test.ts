/**
 * The device session coordinator on the real dev server: concurrent deploys to one SonicWall-like
 * device get the session one at a time, first come first served; a lease whose holder vanished is
 * taken back only after the lease timeout.
 */
import assert from 'node:assert/strict';
import {
  acquireDeviceLeaseSignal,
  deviceSessionQuery,
  deviceSessionWorkflowId,
  releaseDeviceLeaseSignal,
  WorkflowType,
  type DeviceSessionInput,
} from '../../temporal/contract';
import { deviceCoordinatorSignals } from '../../worker/device-coordinator';
import { deployToTargetWorkflow } from '../../workflows';
import { mockActivities, useWorkflowTestEnv } from './harness';
import { itWithFreshId } from '../support/workflow-runs';

const testEnv = useWorkflowTestEnv();

itWithFreshId(
  'concurrent deploys to one device hold its session one at a time, in the order they asked',
  90_000,
  'sonicwall',
  async (targetId) => {
    const { client, runWorker } = testEnv();
    let open = 0;
    let maxOpen = 0;
    const sessions: string[] = [];
    const leaseSettings = { leaseTimeoutMs: 60_000, coordinatorIdleMs: 2_000 };
    const mocks = mockActivities({
      overrides: {
        startDeploymentRun: async (input) => ({
          runRowId: input.deploymentId,
          targetName: 'SonicWall',
          targetId,
          exclusiveSession: true,
          manual: false,
        }),
        stageDeployment: async (input) => {
          open += 1;
          maxOpen = Math.max(maxOpen, open);
          sessions.push(input.runRowId);
          await new Promise((resolve) => setTimeout(resolve, 80));
          open -= 1;
          return { staged: { cert: input.runRowId } };
        },
        activateDeployment: async () => {
          open += 1;
          maxOpen = Math.max(maxOpen, open);
          await new Promise((resolve) => setTimeout(resolve, 40));
          open -= 1;
          return {};
        },
      },
    });
    const results = await runWorker(
      {
        ...mocks.activities,
        requestDeviceLease: async (input: { targetId: string; requestId: string; requesterWorkflowId: string }) => {
          const settings = { ...leaseSettings, taskQueue: currentQueue };
          await deviceCoordinatorSignals(client, settings).signalWithStart(input);
        },
        releaseDeviceLease: async (input: { targetId: string; requestId: string }) => {
          await client.workflow
            .getHandle(deviceSessionWorkflowId(input.targetId))
            .signal(releaseDeviceLeaseSignal, { requestId: input.requestId });
        },
      },
      async (taskQueue) => {
        currentQueue = taskQueue;
        const handles = [];
        for (let i = 0; i < 8; i++) {
          handles.push(
            await client.workflow.start(deployToTargetWorkflow, {
              taskQueue,
              workflowId: `deploy:${targetId}:${i}`,
              args: [{ deploymentId: `d${i}`, versionId: 'v1', trigger: 'lifecycle' }],
            }),
          );
        }
        return Promise.all(handles.map((h) => h.result()));
      },
    );
    assert.deepEqual(
      results.map((r) => r.outcome),
      Array(8).fill('deployed'),
    );
    assert.equal(maxOpen, 1, 'never two sessions on the device at once');
    assert.equal(sessions.length, 8);
    const state = await client.workflow
      .getHandle(deviceSessionWorkflowId(targetId))
      .query(deviceSessionQuery)
      .catch(() => undefined);
    if (state) assert.equal(state.holder, undefined, 'the last lease was given back');
  },
);

let currentQueue = '';

itWithFreshId(
  'a lease whose holder never gives it back is taken back after the lease timeout, not earlier',
  60_000,
  'stuck',
  async (targetId) => {
    const { client, runWorker } = testEnv();
    const input: DeviceSessionInput = { targetId, leaseTimeoutMs: 1_500, idleMs: 5_000 };
    await runWorker(mockActivities().activities, async (taskQueue) => {
      const coordinator = await client.workflow.start(WorkflowType.deviceSession, {
        taskQueue,
        workflowId: deviceSessionWorkflowId(targetId),
        args: [input],
      });
      // Two live requesters that never give the lease back (any running workflow can receive the grant).
      const requesters = await Promise.all(
        ['a', 'b'].map((r) =>
          client.workflow.start(WorkflowType.deviceSession, {
            taskQueue,
            workflowId: `requester-${targetId}-${r}`,
            args: [{ ...input, targetId: `${targetId}-${r}`, idleMs: 30_000 }],
          }),
        ),
      );
      await coordinator.signal(acquireDeviceLeaseSignal, {
        requestId: 'a',
        requesterWorkflowId: requesters[0]?.workflowId ?? '',
      });
      await coordinator.signal(acquireDeviceLeaseSignal, {
        requestId: 'b',
        requesterWorkflowId: requesters[1]?.workflowId ?? '',
      });
      const early = await coordinator.query(deviceSessionQuery);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stillHeld = await coordinator.query(deviceSessionQuery);
      assert.equal(stillHeld.holder?.requestId ?? early.holder?.requestId, 'a', 'the first requester holds the lease');
      assert.deepEqual(
        stillHeld.queue.map((r) => r.requestId),
        ['b'],
      );
      await new Promise((resolve) => setTimeout(resolve, 1_800));
      const after = await coordinator.query(deviceSessionQuery);
      assert.equal(after.holder?.requestId, 'b', 'after the timeout the next one holds it');
      await coordinator.signal(releaseDeviceLeaseSignal, { requestId: 'b' });
      await coordinator.terminate('test done');
      for (const r of requesters) await r.terminate('test done');
    });
  },
);
