import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DriftWatchResult } from '../temporal/contract';

const PAGE = 200;

const { checkServedEndpoints } = proxyActivities<Activities>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumAttempts: 5 },
});

/**
 * Run by its own schedule (daily): every deployment's endpoints, a page of deployments at a time, so
 * a retried page repeats only its own handshakes.
 */
export async function driftWatchWorkflow(): Promise<DriftWatchResult> {
  const total: DriftWatchResult = { deployments: 0, endpoints: 0, problems: 0 };
  let afterId: string | null = null;
  for (;;) {
    const page: { lastId: string | null; deployments: number; endpoints: number; problems: number } =
      await checkServedEndpoints({ afterId, limit: PAGE });
    total.deployments += page.deployments;
    total.endpoints += page.endpoints;
    total.problems += page.problems;
    if (page.deployments < PAGE || page.lastId === null) return total;
    afterId = page.lastId;
  }
}
