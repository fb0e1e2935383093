import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowFailure, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { certificateWorkflowId, type ScheduledRenewalInput, type ScheduledRenewalResult } from '../temporal/contract';
import { localBookkeeping } from './bookkeeping';
import { certificateLifecycleWorkflow } from './certificate-lifecycle';
import { scheduledCheckDecision } from './lib/renewal-window';

/**
 * Started by the certificate's Temporal Schedule (hourly by default). It first decides from PostgreSQL
 * alone (one local activity): a certificate that is not due, and whose CA is not due to be asked
 * about it (ARI's next-poll time), is skipped here, with the check recorded, in one workflow task.
 * Otherwise it starts the lifecycle, which asks the CA's ARI and decides again.
 *
 * Schedules add a timestamp to the ids they start, so this tick starts the lifecycle under the
 * certificate's own id `certificate:<id>`: whatever triggers it (schedule, "Renew now", creation),
 * only one run per certificate exists at a time.
 */
export async function scheduledRenewalWorkflow(input: ScheduledRenewalInput): Promise<ScheduledRenewalResult> {
  const { certificateId } = input;
  const facts = await localBookkeeping.loadScheduledCheckFacts({ certificateId });
  if (!facts.exists) return { started: false, reason: 'the certificate was deleted' };
  if (!facts.ariPollDue) {
    const { skip } = scheduledCheckDecision(facts, new Date());
    if (skip !== undefined) {
      await localBookkeeping.recordRenewalCheck({ certificateId });
      return { started: false, reason: skip };
    }
  }
  let child;
  try {
    child = await startChild(certificateLifecycleWorkflow, {
      workflowId: certificateWorkflowId(certificateId),
      args: [{ certificateId, trigger: 'schedule' }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { started: false, reason: 'a run for this certificate is already in progress' };
    }
    throw error;
  }
  try {
    return { started: true, result: await child.result() };
  } catch (error) {
    if (error instanceof ChildWorkflowFailure) {
      return { started: true, result: { outcome: 'failed', reason: error.cause?.message ?? error.message } };
    }
    throw error;
  }
}
