import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DnsDelegationCheckInput, DnsDelegationCheckResult } from '../temporal/contract';
import { failureMessage } from './lib/failure-message';
import { consoleCheckOptions } from './lib/retry-policies';

const { checkDnsDelegation } = proxyActivities<Activities>(consoleCheckOptions);

/** "Check the CNAME" of a delegated certificate, before any ACME order is spent. Changes nothing. */
export async function dnsDelegationCheckWorkflow(input: DnsDelegationCheckInput): Promise<DnsDelegationCheckResult> {
  try {
    return await checkDnsDelegation({ certificateId: input.certificateId });
  } catch (error) {
    return { ok: false, detail: failureMessage(error) };
  }
}
