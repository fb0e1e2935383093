import { CancellationScope, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import { deviceLeaseGrantedSignal } from '../temporal/contract';
import { bookkeeping } from './bookkeeping';

/** Signals to the device session coordinator: quick, retried like database bookkeeping. */
const coordinator = bookkeeping;

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
