import { proxyActivities } from '@temporalio/workflow';
import { checkFailureDetail } from './check-failure';
import type { Activities } from '../activities';
import {
  NON_RETRYABLE_FAILURES,
  type DnsDelegationCheckInput,
  type DnsDelegationCheckResult,
} from '../temporal/contract';

const { checkDnsDelegation } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] },
});

/** "Check the CNAME" of a delegated certificate, before any ACME order is spent. Changes nothing. */
export async function dnsDelegationCheckWorkflow(input: DnsDelegationCheckInput): Promise<DnsDelegationCheckResult> {
  try {
    return await checkDnsDelegation({ certificateId: input.certificateId });
  } catch (error) {
    return { ok: false, detail: checkFailureDetail(error) };
  }
}
