import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { withDeviceLease } from './device-lease';
import { NON_RETRYABLE_FAILURES, type PreflightInput, type PreflightResult } from '../temporal/contract';

const { runTargetPreflight, loadTargetFacts } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumAttempts: 2, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] },
});

/** "Test connection" for a target: reachability, trust, auth, permissions, firmware, changes. Changes nothing. */
export async function targetPreflightWorkflow(input: PreflightInput): Promise<PreflightResult> {
  const { exclusiveSession } = await loadTargetFacts({ targetId: input.targetId });
  return withDeviceLease(input.targetId, exclusiveSession, () => runTargetPreflight({ targetId: input.targetId }));
}
