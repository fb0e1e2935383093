/**
 * The lifecycle's pacing hook: before an order is spent at a directory, take a slot of its rate-limit
 * budget (activities/acme/pacing.ts), or wait durably (a workflow timer) until the time the budget
 * frees, then ask again. While it waits the progress says so, with the time it will go.
 */
import { sleep } from '@temporalio/workflow';
import type { OrderSlot, OrderSlotRequest } from '../activities/acme/pacing';
import type { LifecycleProgress } from '../temporal/contract';

/** Never ask again sooner than this (the database's and the workflow's clocks may differ a little). */
const MIN_WAIT_MS = 1_000;

export async function waitForOrderSlot(
  reserve: (request: OrderSlotRequest) => Promise<OrderSlot>,
  request: OrderSlotRequest,
  progress: LifecycleProgress,
): Promise<void> {
  for (;;) {
    const slot = await reserve(request);
    if (slot.granted) {
      delete progress.rateLimitWait;
      return;
    }
    progress.rateLimitWait = { until: slot.retryAt, reason: slot.reason };
    await sleep(Math.max(MIN_WAIT_MS, Date.parse(slot.retryAt) - Date.now()));
  }
}
