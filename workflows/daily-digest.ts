import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { sendDailyDigest } = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '1m', backoffCoefficient: 2, maximumAttempts: 5 },
});

/** Run by its own schedule once a day: what expires soon, on our certificates and on the endpoints. */
export async function dailyDigestWorkflow(): Promise<{ sent: number; detail: string }> {
  return sendDailyDigest({});
}
