import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { latestResult, type CheckView } from './results';
import {
  certificateWorkflowId,
  deploymentWorkflowId,
  preflightWorkflowId,
  progressQuery,
  retryDeploymentSignal,
  TASK_QUEUE,
  WorkflowType,
  type DeployInput,
  type DeployTrigger,
  type PreflightInput,
  type PreflightResult,
} from '../../temporal/contract';

export type CommandResult = { ok: true; detail: string } | { ok: false; reason: string };

/**
 * Starts one deploy of the given version to one target (Redeploy, or Retry when no renewal is waiting).
 * `auditId`: the console's audit entry for it (deployment.redeploy / deployment.retry), which the
 * workflow checks and claims before it touches the device.
 */
export async function startDeploy(
  client: Client,
  certificateId: string,
  deploymentId: string,
  versionId: string,
  trigger: Exclude<DeployTrigger, 'lifecycle'>,
  auditId: string,
): Promise<CommandResult> {
  const input: DeployInput = { deploymentId, versionId, trigger, auditId };
  try {
    const handle = await client.workflow.start(WorkflowType.deploy, {
      workflowId: deploymentWorkflowId(certificateId, deploymentId),
      taskQueue: TASK_QUEUE,
      args: [input],
    });
    return { ok: true, detail: `deploy started (run ${handle.firstExecutionRunId})` };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      return { ok: false, reason: 'A deploy to this target is already running.' };
    throw error;
  }
}

/**
 * "Retry": when the certificate's renewal run is waiting for retries, signal it (the run then closes
 * with the right outcome and email); otherwise start a deploy of the current version.
 */
export async function retryDeploy(
  client: Client,
  certificateId: string,
  deploymentId: string,
  currentVersionId: string | null,
  auditId: string,
): Promise<CommandResult> {
  const lifecycle = client.workflow.getHandle(certificateWorkflowId(certificateId));
  try {
    const description = await lifecycle.describe();
    if (description.status.name === 'RUNNING') {
      const progress = await client
        .withDeadline(Date.now() + 5_000, () => lifecycle.query(progressQuery))
        .catch(() => undefined);
      if (!progress)
        return {
          ok: false,
          reason: 'The renewal run of this certificate does not answer; is the worker running? Try again shortly.',
        };
      if (progress.awaitingRetry) {
        await lifecycle.signal(retryDeploymentSignal, { deploymentId, auditId });
        return { ok: true, detail: 'retry requested from the waiting renewal run' };
      }
      if (progress.current === 'deploy')
        return { ok: false, reason: 'The renewal run is deploying right now; wait for it to finish.' };
    }
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  if (!currentVersionId) return { ok: false, reason: 'This certificate has no issued version to deploy yet.' };
  return startDeploy(client, certificateId, deploymentId, currentVersionId, 'retry', auditId);
}

export async function startPreflight(client: Client, targetId: string): Promise<CommandResult> {
  const input: PreflightInput = { targetId };
  try {
    await client.workflow.start(WorkflowType.preflight, {
      workflowId: preflightWorkflowId(targetId),
      taskQueue: TASK_QUEUE,
      args: [input],
    });
    return { ok: true, detail: 'test started' };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      return { ok: false, reason: 'A connection test is already running.' };
    throw error;
  }
}

export type PreflightView = CheckView<PreflightResult>;

/** The latest "Test connection" of a target. */
export function latestPreflight(client: Client, targetId: string): Promise<PreflightView> {
  return latestResult<PreflightResult>(client, preflightWorkflowId(targetId));
}
