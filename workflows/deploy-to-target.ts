import { ApplicationFailure, condition, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeviceActivation } from '../activities/deploy';
import { withDeviceLease } from './device-lease';
import { auditIdOf } from './lib/command-payload';
import { bookkeeping, localBookkeeping } from './bookkeeping';
import { untilAnswering } from './dependency-wait';
import { bookkeepingOptions, nonRetryableErrorTypes, verifyOptions } from './lib/retry-policies';
import {
  CommandAction,
  deployNowSignal,
  FailureType,
  type DeployInput,
  type DeploymentOutcome,
  type DeploySettings,
} from '../temporal/contract';

/**
 * Device steps: retried while the target is unreachable, never on auth or validation errors. Every
 * call to the device (stage, activate, commit check, verify, rollback) is a regular activity: a device
 * that stops answering holds an activity slot within its own share (activities/dependency-guard),
 * never a workflow task, and its heartbeat lets a dead worker's step be retried elsewhere. The steps
 * are idempotent (deterministic names, binding what is already bound changes nothing).
 */
function deviceActivities(settings: DeploySettings, maximumAttempts: number) {
  const retry = {
    initialInterval: settings.deviceRetryInitialMs,
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts,
    nonRetryableErrorTypes,
  };
  return proxyActivities<Activities>({ startToCloseTimeout: '5m', heartbeatTimeout: '15s', retry });
}

/**
 * The opening and the device step's first attempt in one regular activity (activities/deploy-opening.ts):
 * one try; should the activity itself fail (a worker lost mid-step, PostgreSQL away), the run opens
 * with the local openDeploymentRun, which retries, and goes on from there.
 */
const firstAttempt = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { maximumAttempts: 1 },
});
const verify = proxyActivities<Activities>(verifyOptions);
/** Removing superseded objects from the device: best effort (the activity records a failure as a step). */
const cleanup = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
});
/** Asking the device whether a commit job finished. */
const commitCheck = proxyActivities<Activities>({
  ...bookkeepingOptions,
  startToCloseTimeout: '2m',
  heartbeatTimeout: '15s',
});

function messageOf(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof ApplicationFailure) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Polls an asynchronous commit with durable timers until the device reports it finished. */
async function waitForCommit(
  device: Pick<typeof bookkeeping, 'checkDeploymentActivation'>,
  runRowId: string,
  jobId: string,
  pollMs: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await device.checkDeploymentActivation({ runRowId, jobId });
    if (status.state === 'done') return;
    if (status.state === 'failed')
      throw ApplicationFailure.create({ type: FailureType.commitFailed, message: status.detail, nonRetryable: true });
    if (Date.now() > deadline) {
      throw ApplicationFailure.create({
        type: FailureType.commitFailed,
        message: `commit job ${jobId} did not finish within ${Math.round(timeoutMs / 1000)} s`,
        nonRetryable: true,
      });
    }
    await sleep(pollMs);
  }
}

/**
 * One certificate version onto one target (id `deploy:<certificateId>:<deploymentId>`):
 * stage → activate → (commit job) → verify by TLS handshake. A failed commit or verify rolls back to
 * what was bound before. Returns the outcome instead of failing, so one target never blocks others.
 */
export async function deployToTargetWorkflow(input: DeployInput): Promise<DeploymentOutcome> {
  const db = localBookkeeping;
  const { workflowId, runId, parent } = workflowInfo();
  // Nothing happens unless the certificate's own run or a console command (its audit entry) started
  // this; then the settings, the run row and the maintenance window, and in the common case (in the
  // window, no lease, not manual) the device step's first attempt, all in one activity.
  const request = { ...input, workflowId, runId, ...(parent ? { parentWorkflowId: parent.workflowId } : {}) };
  const first = await firstAttempt.deployFirstAttempt(request).catch(() => undefined);
  const opening = first?.opening ?? (await db.openDeploymentRun(request));
  if ('refused' in opening)
    return {
      deploymentId: input.deploymentId,
      targetName: '',
      outcome: 'failed',
      reason: `not started by CertFleet: ${opening.refused}`,
    };
  const { settings, start } = opening;
  // The certificate's run re-driven onto a version this deployment already has (a restore from an
  // online backup): done, without a new history row and without a call to the device.
  if ('alreadyDeployed' in start)
    return {
      deploymentId: input.deploymentId,
      targetName: start.targetName,
      outcome: 'deployed',
      reason: `already deployed (run ${start.alreadyDeployed.runRowId}, ${start.alreadyDeployed.endedAt})`,
    };
  const { runRowId, targetName, targetId, exclusiveSession, manual } = start;
  // Stage and activate are safe to retry (deterministic names, binding what is bound changes nothing,
  // the rollback target recorded once before the bind); rollback is retried harder than the rest.
  // A first attempt that failed on the device spent one of the attempts (a wait for its breaker or
  // its share spends none).
  const failedFirst = first && 'failed' in first ? first.failed : undefined;
  const attemptsLeft = settings.deviceRetryAttempts - (failedFirst?.retry === 'again' ? 1 : 0);
  const device = deviceActivities(settings, Math.max(1, attemptsLeft));
  const rollback = deviceActivities(settings, settings.deviceRetryAttempts + 2);
  const outcome = (o: DeploymentOutcome['outcome'], reason?: string): DeploymentOutcome => ({
    deploymentId: input.deploymentId,
    targetName,
    outcome: o,
    ...(reason !== undefined ? { reason } : {}),
  });

  if (manual) {
    // Nothing is pushed: the version waits as "ready for download" until a technician marks it done.
    await db.closeDeploymentRun({ runRowId, outcome: 'ready' });
    return outcome('ready');
  }

  // "Deploy now" signals, in order: each names an audit entry, checked and claimed before it counts.
  const deployNowRequests: unknown[] = [];
  setHandler(deployNowSignal, (payload: unknown) => {
    deployNowRequests.push(auditIdOf(payload));
  });
  const maintenance = opening.maintenance ?? { inWindow: true };
  if (!maintenance.inWindow && maintenance.opensAt) {
    const opensAt = Date.parse(maintenance.opensAt);
    let deployNowBy: string | undefined;
    // Durable timers: a worker restart or a week's wait changes nothing. A rejected signal is
    // recorded by claimCommand and the wait goes on until the window opens.
    for (let n = 0; deployNowBy === undefined; n++) {
      const signalled = await condition(() => deployNowRequests.length > 0, Math.max(1, opensAt - Date.now()));
      if (!signalled) break;
      const claim = await db.claimCommand({
        claimId: `${workflowId}/${runId}/deployNow/${n}`,
        auditId: deployNowRequests.shift(),
        command: 'deployNow',
        action: CommandAction.deployNow,
        entityType: 'deployment',
        entityId: input.deploymentId,
        workflowId,
      });
      if (claim.accepted) deployNowBy = claim.actor;
    }
    await db.endMaintenanceWait({ runRowId, ...(deployNowBy !== undefined ? { deployNowBy } : {}) });
  }

  // While the device's breaker is open, the run waits on timers (workflows/dependency-wait.ts) and its
  // steps say so: "waiting for device" once when the wait starts, and again when the device answers.
  const untilDeviceAnswers = <T>(call: () => Promise<T>): Promise<T> => {
    let waiting = false;
    return untilAnswering(call, async (reason) => {
      if ((reason !== undefined) === waiting) return;
      waiting = reason !== undefined;
      await db.recordDeviceWait({ runRowId, ...(reason !== undefined ? { reason } : {}) });
    });
  };

  // One admin session at a time on devices that allow only one (SonicWall): held from stage to finish.
  return withDeviceLease(targetId, exclusiveSession, async () => {
    // Stage and activate in one device session and one activity (and, with no commit job, the first
    // verify attempt). activate either binds fully or leaves the device as it was (the Deployer
    // contract), so a failure here needs no rollback; a failed commit or verify does.
    let activation: DeviceActivation;
    try {
      if (first && 'activation' in first) activation = first.activation;
      else {
        if (failedFirst && (failedFirst.retry === 'none' || attemptsLeft < 1)) throw new Error(failedFirst.message);
        // The retry policy's first interval, as between any two attempts, or what a busy device asked for
        // (DEVICE_BUSY_RETRY_MS), as the activity's retry would honour it.
        if (failedFirst?.retry === 'again') await sleep(failedFirst.retryAfterMs ?? settings.deviceRetryInitialMs);
        activation = await untilDeviceAnswers(() => device.stageAndActivateDeployment({ runRowId }));
      }
    } catch (error) {
      const reason = messageOf(error);
      await bookkeeping.finishDeploymentRun({ runRowId, outcome: 'failed', error: reason });
      return outcome('failed', reason);
    }
    try {
      if (activation.jobId)
        await waitForCommit(commitCheck, runRowId, activation.jobId, settings.commitPollMs, settings.commitTimeoutMs);
      // A device bound at once was verified in the device step when its first attempt saw the new
      // chain; otherwise (a commit job, or a first attempt that did not see it) verify with retries.
      if (!activation.verified) await verify.verifyDeployment({ runRowId });
    } catch (error) {
      const reason = messageOf(error);
      try {
        const back = await rollback.rollbackDeployment({ runRowId });
        if (back.jobId)
          await waitForCommit(commitCheck, runRowId, back.jobId, settings.commitPollMs, settings.commitTimeoutMs);
      } catch (rollbackError) {
        const both = `${reason}; the rollback failed too: ${messageOf(rollbackError)}`;
        await bookkeeping.finishDeploymentRun({ runRowId, outcome: 'failed', error: both });
        return outcome('failed', both);
      }
      await bookkeeping.finishDeploymentRun({ runRowId, outcome: 'rolled_back', error: reason });
      return outcome('rolled_back', reason);
    }

    // Recorded in PostgreSQL (local); the device is called again only when superseded objects are left.
    const closed = await db.closeDeploymentRun({ runRowId, outcome: 'deployed' });
    if (closed.cleanUp) await cleanup.cleanUpDeployment({ runRowId });
    return outcome('deployed');
  });
}
