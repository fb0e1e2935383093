import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { sweepAlerts } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
});

/** Run by its own schedule every minute: late deployments become incidents; quiet incidents end with a notice. */
export async function alertSweepWorkflow(): Promise<{
  notDeployed: number;
  resolved: number;
  alerts: number;
  recoveries: number;
}> {
  return sweepAlerts({});
}
