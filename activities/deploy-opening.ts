/**
 * A deploy's start. `openDeploymentRun` is ONE local activity (its bookkeeping in PostgreSQL only): the
 * run's authority, the deploy settings, the run row, and the target's maintenance window. Four markers
 * and four activations of the workflow task were one each; every part is idempotent per workflow run,
 * so a retry of the whole is safe.
 *
 * `deployFirstAttempt` is the common case in ONE regular activity: the same opening, then, for a target
 * in its window that needs no lease and is not manual, the device step's first attempt
 * (stageAndActivateDeployment). The deploy child's first workflow task then schedules one activity and
 * records no marker (the local activity there made it 7–11 ms longer in bench:issue-one), and a slow
 * PostgreSQL holds an activity slot, not that task. Everything else (a refusal, a version already
 * deployed, a manual target, a closed window, a device with one admin session, a failed attempt the run
 * may retry) is left to the workflow's own path, with the opening it returns.
 */
import { ApplicationFailure } from '@temporalio/common';
import { msOptionalToNumber } from '@temporalio/common/lib/time';
import { toApplicationFailure } from './errors';
import type { DeviceActivation } from './deploy';
import {
  FailureType,
  type CommandClaimResult,
  type DeployAuthorityRequest,
  type DeploymentOpening,
  type DeploymentRunStart,
  type DeploySettings,
  type DeployTrigger,
  type MaintenanceCheck,
} from '../temporal/contract';

export interface DeployOpeningParts {
  authorizeDeploy(input: DeployAuthorityRequest): Promise<CommandClaimResult>;
  loadDeploySettings(input: Record<string, never>): Promise<DeploySettings>;
  startDeploymentRun(input: {
    deploymentId: string;
    versionId: string;
    workflowId: string;
    runId: string;
    trigger: DeployTrigger;
  }): Promise<DeploymentRunStart>;
  checkMaintenanceWindow(input: { runRowId: string }): Promise<MaintenanceCheck>;
  stageAndActivateDeployment(input: { runRowId: string }): Promise<DeviceActivation>;
}

/**
 * What deployFirstAttempt did: opened only (the workflow's own path goes on from `opening`), or also
 * made the device step's first attempt: its activation, or its failure and what may follow it. `retry`:
 * `none`, no retry can help (refused credentials, a rejected certificate); `wait`, the device's breaker
 * is open or this worker's share of it is in use, which the workflow waits out on timers and which
 * spends no attempt (workflows/dependency-wait.ts); `again`, one attempt of the deploy settings'
 * device retries is spent, the workflow makes the rest.
 */
export type DeployFirstAttempt =
  | { opening: DeploymentOpening }
  | { opening: DeploymentOpening; activation: DeviceActivation }
  | { opening: DeploymentOpening; failed: FailedAttempt };

/** A failed first attempt; `retryAfterMs`: the device asked for this long before the next (a busy session). */
export interface FailedAttempt {
  message: string;
  retry: 'none' | 'wait' | 'again';
  retryAfterMs?: number;
}

/** Failures the workflow waits out on timers (workflows/dependency-wait.ts). */
const WAITED_OUT: readonly string[] = [FailureType.dependencyBusy, FailureType.dependencyNotAnswering];

/** The failed attempt as the workflow needs it: its message, and whether and how it may be retried. */
function failedAttempt(error: unknown): FailedAttempt {
  const failure = toApplicationFailure(error);
  const message = failure instanceof Error ? failure.message : String(failure);
  if (!(failure instanceof ApplicationFailure)) return { message, retry: 'again' };
  if (WAITED_OUT.includes(failure.type ?? '')) return { message, retry: 'wait' };
  if (failure.nonRetryable === true) return { message, retry: 'none' };
  const retryAfterMs = msOptionalToNumber(failure.nextRetryDelay ?? undefined);
  return { message, retry: 'again', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** Whether the opening leaves the device step to do at once, outside the workflow's own path. */
function runsAtOnce(opening: DeploymentOpening): string | undefined {
  if ('refused' in opening || 'alreadyDeployed' in opening.start) return undefined;
  const { start, maintenance } = opening;
  if (start.manual || start.exclusiveSession || maintenance?.inWindow === false) return undefined;
  return start.runRowId;
}

export function createDeployOpening(parts: DeployOpeningParts) {
  const openDeploymentRun = async (input: DeployAuthorityRequest): Promise<DeploymentOpening> => {
    const authority = await parts.authorizeDeploy(input);
    if (!authority.accepted) return { refused: authority.reason };
    const settings = await parts.loadDeploySettings({});
    const { deploymentId, versionId, workflowId, runId, trigger } = input;
    const start = await parts.startDeploymentRun({ deploymentId, versionId, workflowId, runId, trigger });
    // Nothing to deploy (already there), or nothing pushed (a manual target): no window to wait for.
    if ('alreadyDeployed' in start || start.manual) return { settings, start };
    return { settings, start, maintenance: await parts.checkMaintenanceWindow({ runRowId: start.runRowId }) };
  };
  return {
    openDeploymentRun,

    /**
     * The opening, then the device step's first attempt when nothing stands before it. A failure of the
     * opening itself fails the activity (the workflow then opens with openDeploymentRun, which retries).
     */
    async deployFirstAttempt(input: DeployAuthorityRequest): Promise<DeployFirstAttempt> {
      const opening = await openDeploymentRun(input);
      const runRowId = runsAtOnce(opening);
      if (runRowId === undefined) return { opening };
      try {
        return { opening, activation: await parts.stageAndActivateDeployment({ runRowId }) };
      } catch (error) {
        return { opening, failed: failedAttempt(error) };
      }
    },
  };
}
