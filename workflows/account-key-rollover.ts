import { proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { CommandAction } from '../temporal/contract';
import type { KeyRolloverInput, KeyRolloverResult } from '../temporal/revocation-contract';
import { failureMessage } from './lib/failure-message';
import { localBookkeepingOptions, remoteCallOptions } from './lib/retry-policies';

const db = proxyLocalActivities<Activities>(localBookkeepingOptions);
const ca = proxyActivities<Activities>(remoteCallOptions);

/** "Roll over the account key" from Settings: acts once on its audit entry; the activity is crash-safe. */
export async function accountKeyRolloverWorkflow(input: KeyRolloverInput): Promise<KeyRolloverResult> {
  const { workflowId, runId } = workflowInfo();
  const claim = await db.claimCommand({
    claimId: `${workflowId}/${runId}/start`,
    auditId: input.auditId,
    command: 'start',
    action: CommandAction.keyRollover,
    entityType: 'acme-directory',
    entityId: input.directoryId,
    workflowId,
  });
  if (!claim.accepted) return { outcome: 'rejected', reason: claim.reason };
  try {
    const { accountUrl } = await ca.rollOverAccountKey({ directoryId: input.directoryId });
    return { outcome: 'rolled-over', accountUrl };
  } catch (error) {
    return { outcome: 'failed', reason: failureMessage(error) };
  }
}
