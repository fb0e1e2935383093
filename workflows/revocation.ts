import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ParentClosePolicy,
  condition,
  proxyActivities,
  proxyLocalActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { certificateWorkflowId, type LifecycleResult } from '../temporal/contract';
import type { RevocationInput, RevocationResult } from '../temporal/revocation-contract';
import { certificateLifecycleWorkflow } from './certificate-lifecycle';
import { failureMessage } from './lib/failure-message';
import { localBookkeepingOptions, remoteCallOptions } from './lib/retry-policies';

const db = proxyLocalActivities<Activities>(localBookkeepingOptions);
/** The call to the CA: retried with backoff; a refusal (expired, not ours) fails at once. */
const ca = proxyActivities<Activities>(remoteCallOptions);

/**
 * Revokes one certificate version the console asked for (ids in, ids out). A key compromise of the
 * current version first starts the certificate's lifecycle as a child ("Renew now" on the console's
 * second audit entry: a new order, so a new key), and revokes the old version only once the replacement
 * is live on every linked target; until then the revocation row says which targets lack it and what to
 * do, and after the configured wait it gives up with the old version NOT revoked ('held').
 */
export async function revocationWorkflow(input: RevocationInput): Promise<RevocationResult> {
  const { workflowId, runId } = workflowInfo();
  const authority = await db.authorizeRevocation({
    revocationId: input.revocationId,
    auditId: input.auditId,
    workflowId,
    runId,
  });
  if (!authority.accepted) return { outcome: 'rejected', reason: authority.reason };
  const { revocationId } = input;
  const hold = async (reason: string, replacementVersionId?: string): Promise<RevocationResult> => {
    await db.setRevocationState({ revocationId, status: 'held', detail: reason });
    return { outcome: 'held', reason, ...(replacementVersionId ? { replacementVersionId } : {}) };
  };

  let replacementVersionId: string | undefined;
  if (authority.replace) {
    await db.setRevocationState({
      revocationId,
      status: 'replacing',
      detail: 'Issuing a replacement with a new key.',
    });
    let child;
    try {
      child = await startChild(certificateLifecycleWorkflow, {
        workflowId: certificateWorkflowId(authority.certificateId),
        args: [{ certificateId: authority.certificateId, trigger: 'manual', auditId: authority.renewAuditId }],
        // Its deploy retries and emails go on when the old version is revoked before it ends.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return hold(
        'Not revoked: another run of this certificate was in progress. Revoke again (key compromise) when it has ended.',
      );
    }
    let ended: { result?: LifecycleResult; error?: string } | undefined;
    void child.result().then(
      (result) => (ended = { result }),
      (error: unknown) => (ended = { error: failureMessage(error) }),
    );
    const settings = await db.loadRevocationSettings({});
    const deadline = Date.now() + settings.waitMs;
    let shown = '';
    // Polls at the configured interval, doubling up to an hour: a week's wait stays a few hundred
    // events of history, and an early finish is still seen within the first minutes.
    let pollMs = settings.pollMs;
    for (;;) {
      let check;
      try {
        check = await db.checkReplacement({
          certificateId: authority.certificateId,
          compromisedVersionId: authority.versionId,
        });
      } catch (error) {
        return hold(failureMessage(error));
      }
      replacementVersionId = check.replacementVersionId;
      if (check.verified) break;
      if (ended && !replacementVersionId)
        return hold(
          `Not revoked: no replacement was issued (${ended.error ?? ended.result?.reason ?? ended.result?.outcome ?? 'no reason given'}). Fix what the run reports, then revoke again.`,
        );
      if (Date.now() >= deadline)
        return hold(
          `Not revoked: gave up waiting. ${check.detail} Revoke it again once they do.`,
          replacementVersionId,
        );
      if (check.detail !== shown) {
        shown = check.detail;
        await db.setRevocationState({
          revocationId,
          status: replacementVersionId ? 'waiting' : 'replacing',
          detail: check.detail,
          ...(replacementVersionId ? { replacementVersionId } : {}),
        });
      }
      // Wakes early when the run ends (a failed issuance is reported at once).
      const wasEnded = ended !== undefined;
      await condition(() => !wasEnded && ended !== undefined, Math.min(pollMs, Math.max(1, deadline - Date.now())));
      pollMs = Math.min(pollMs * 2, Math.max(settings.pollMs, 3_600_000));
    }
  }

  try {
    await ca.revokeVersion({ revocationId });
  } catch (error) {
    const reason = `The CA did not revoke it: ${failureMessage(error)}`;
    await db.setRevocationState({ revocationId, status: 'failed', detail: reason });
    return { outcome: 'failed', reason };
  }
  await db.setRevocationState({ revocationId, status: 'revoked', detail: null });
  return { outcome: 'revoked', ...(replacementVersionId ? { replacementVersionId } : {}) };
}
