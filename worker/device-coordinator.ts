import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DeviceLeaseActivityRequest } from '../activities/deps';
import {
  acquireDeviceLeaseSignal,
  deviceSessionWorkflowId,
  releaseDeviceLeaseSignal,
  TASK_QUEUE,
  WorkflowType,
  type DeviceSessionInput,
} from '../temporal/contract';

/**
 * The two calls the deploy activities make to a device's session coordinator workflow. `taskQueue`
 * defaults to the worker's; the workflow tests pass the queue of their own test worker.
 */
export function deviceCoordinatorSignals(
  client: Client,
  settings: { leaseTimeoutMs: number; coordinatorIdleMs: number; taskQueue?: string },
) {
  return {
    async signalWithStart(request: DeviceLeaseActivityRequest): Promise<void> {
      const input: DeviceSessionInput = {
        targetId: request.targetId,
        leaseTimeoutMs: settings.leaseTimeoutMs,
        idleMs: settings.coordinatorIdleMs,
      };
      await client.workflow.signalWithStart(WorkflowType.deviceSession, {
        workflowId: deviceSessionWorkflowId(request.targetId),
        taskQueue: settings.taskQueue ?? TASK_QUEUE,
        args: [input],
        signal: acquireDeviceLeaseSignal,
        signalArgs: [{ requestId: request.requestId, requesterWorkflowId: request.requesterWorkflowId }],
      });
    },
    async signalRelease(targetId: string, requestId: string): Promise<void> {
      try {
        await client.workflow
          .getHandle(deviceSessionWorkflowId(targetId))
          .signal(releaseDeviceLeaseSignal, { requestId });
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    },
  };
}
