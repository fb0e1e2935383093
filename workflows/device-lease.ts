import { CancellationScope, condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { deviceLeaseGrantedSignal } from '../temporal/contract';
import { bookkeepingOptions } from './lib/retry-policies';

/** Signals to the device session coordinator: quick, retried like database bookkeeping. */
const coordinator = proxyActivities<Activities>(bookkeepingOptions);

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
