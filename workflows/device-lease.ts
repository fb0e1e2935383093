import { CancellationScope, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { deviceLeaseGrantedSignal, NON_RETRYABLE_FAILURES } from '../temporal/contract';

const coordinator = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES],
  },
});

/**
 * Runs `work` holding the device's single admin session lease (first come, first served through
 * `device:<targetId>`), and always gives it back. Devices without that limit run `work` directly.
 */
export async function withDeviceLease<T>(targetId: string, exclusive: boolean, work: () => Promise<T>): Promise<T> {
  if (!exclusive) return work();
  const { workflowId, runId } = workflowInfo();
  const requestId = `${workflowId}/${runId}`;
  let granted = false;
  setHandler(deviceLeaseGrantedSignal, (grant) => {
    if (grant.requestId === requestId) granted = true;
  });
  await coordinator.requestDeviceLease({ targetId, requestId, requesterWorkflowId: workflowId });
  try {
    await condition(() => granted);
    return await work();
  } finally {
    await CancellationScope.nonCancellable(() => coordinator.releaseDeviceLease({ targetId, requestId }));
  }
}
