import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ChildWorkflowFailure, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { certificateWorkflowId, type ScheduledRenewalInput, type ScheduledRenewalResult } from '../temporal/contract';
import { certificateLifecycleWorkflow } from './certificate-lifecycle';

/**
 * Started by the certificate's Temporal Schedule. Schedules add a timestamp to the ids they start,
 * so this tick starts the lifecycle under the certificate's own id `certificate:<id>`: whatever
 * triggers it (schedule, "Renew now", creation), only one run per certificate exists at a time.
 */
export async function scheduledRenewalWorkflow(input: ScheduledRenewalInput): Promise<ScheduledRenewalResult> {
  let child;
  try {
    child = await startChild(certificateLifecycleWorkflow, {
      workflowId: certificateWorkflowId(input.certificateId),
      args: [{ certificateId: input.certificateId, trigger: 'schedule' }],
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
