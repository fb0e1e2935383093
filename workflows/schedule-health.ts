import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ScheduleHealthResult } from '../temporal/contract';

const { recordScheduleHealth } = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
});

/** Run by its own Temporal Schedule: records what Temporal says about every renewal schedule, for the dashboard. */
export async function scheduleHealthWorkflow(): Promise<ScheduleHealthResult> {
  return recordScheduleHealth({});
}
