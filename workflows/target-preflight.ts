import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_FAILURES, type PreflightInput, type PreflightResult } from '../temporal/contract';

const { runTargetPreflight } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumAttempts: 2, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] },
});

/** "Test connection" for a target: reachability, trust, auth, permissions, firmware, changes. Changes nothing. */
export async function targetPreflightWorkflow(input: PreflightInput): Promise<PreflightResult> {
  return runTargetPreflight({ targetId: input.targetId });
}
