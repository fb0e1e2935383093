import { condition, continueAsNew, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  acquireDeviceLeaseSignal,
  deviceLeaseGrantedSignal,
  deviceSessionQuery,
  releaseDeviceLeaseSignal,
  type DeviceSessionInput,
  type DeviceSessionState,
} from '../temporal/contract';

const GRANTS_BEFORE_CONTINUE_AS_NEW = 200;

/**
 * The single admin session of one device (`device:<targetId>`): deploys ask for a lease by signal,
 * get it first come, first served, one at a time, whichever worker runs them, and give it back when
 * done. Durable across worker restarts; continues as new to keep its history short; ends when idle.
 */
export async function deviceSessionWorkflow(input: DeviceSessionInput): Promise<DeviceSessionState> {
  const state: DeviceSessionState = input.state ?? { queue: [], granted: 0 };
  const known = (requestId: string): boolean =>
    state.holder?.requestId === requestId || state.queue.some((r) => r.requestId === requestId);

  setHandler(deviceSessionQuery, () => state);
  setHandler(acquireDeviceLeaseSignal, (request) => {
    if (!known(request.requestId)) state.queue.push(request);
  });
  setHandler(releaseDeviceLeaseSignal, ({ requestId }) => {
    if (state.holder?.requestId === requestId) delete state.holder;
    else state.queue = state.queue.filter((r) => r.requestId !== requestId);
  });

  let grantedThisRun = 0;
  for (;;) {
    while (!state.holder && state.queue.length > 0) {
      const next = state.queue.shift() as DeviceSessionState['queue'][number];
      state.holder = { ...next, grantedAt: Date.now() };
      try {
        await getExternalWorkflowHandle(next.requesterWorkflowId).signal(deviceLeaseGrantedSignal, {
          requestId: next.requestId,
        });
        state.granted += 1;
        grantedThisRun += 1;
      } catch {
        // The requester is gone (finished or terminated): give the lease to the next one.
        delete state.holder;
      }
    }
    if (state.holder) {
      const holder = state.holder;
      const remaining = holder.grantedAt + input.leaseTimeoutMs - Date.now();
      const released = await condition(() => state.holder?.requestId !== holder.requestId, Math.max(1, remaining));
      if (!released && state.holder?.requestId === holder.requestId) delete state.holder; // lease timed out
      continue;
    }
    if (grantedThisRun >= GRANTS_BEFORE_CONTINUE_AS_NEW || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof deviceSessionWorkflow>({ ...input, state });
    }
    const busy = await condition(() => state.queue.length > 0, input.idleMs);
    if (!busy) return state;
  }
}
