/** Revocation and account key rollover: the workflows the console starts, and their results. */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { TASK_QUEUE, WorkflowType } from '../../temporal/contract';
import {
  keyRolloverWorkflowId,
  revocationWorkflowId,
  type KeyRolloverInput,
  type KeyRolloverResult,
  type RevocationInput,
  type RevocationResult,
} from '../../temporal/revocation-contract';
import { resultWithin, type CheckView } from './results';

/** Starts the revocation the console recorded; its run checks and claims the audit entry first. */
export async function startRevocation(client: Client, revocationId: string, auditId: string): Promise<void> {
  const input: RevocationInput = { revocationId, auditId };
  await client.workflow.start(WorkflowType.revocation, {
    workflowId: revocationWorkflowId(revocationId),
    taskQueue: TASK_QUEUE,
    args: [input],
  });
}

export const revocationResult = (client: Client, revocationId: string, waitMs: number) =>
  resultWithin<RevocationResult>(client, revocationWorkflowId(revocationId), waitMs);

/** Starts the key rollover of the directory's account (one at a time per directory). */
export async function startKeyRollover(
  client: Client,
  directoryId: string,
  auditId: string,
): Promise<'started' | 'running'> {
  const input: KeyRolloverInput = { directoryId, auditId };
  try {
    await client.workflow.start(WorkflowType.accountKeyRollover, {
      workflowId: keyRolloverWorkflowId(directoryId),
      taskQueue: TASK_QUEUE,
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    return 'started';
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'running';
    throw error;
  }
}

export const keyRolloverResult = (
  client: Client,
  directoryId: string,
  waitMs: number,
): Promise<CheckView<KeyRolloverResult>> =>
  resultWithin<KeyRolloverResult>(client, keyRolloverWorkflowId(directoryId), waitMs);
