import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { condition, executeChild, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  CommandAction,
  deploymentWorkflowId,
  retryDeploymentSignal,
  type DeploymentOutcome,
  type DeployTrigger,
  type DeploymentPlanEntry,
} from '../temporal/contract';
import { deployToTargetWorkflow } from './deploy-to-target';
import { auditIdOf } from './lib/command-payload';

export interface FanoutHooks {
  /** Called with every outcome list: after the first round and after each retry. */
  onOutcomes(outcomes: DeploymentOutcome[], awaitingRetry: boolean): void;
  /** Called once the first round has finished (the email goes out then, not days later). */
  afterFirstRound(outcomes: DeploymentOutcome[]): Promise<void>;
}

/**
 * Deploys a new version to every linked target in parallel, one child workflow each, so one failing
 * target never blocks the others. When some fail, waits (up to the retry window) for retryDeployment
 * signals from the console and re-runs those targets.
 */
export async function deployToAllTargets(
  certificateId: string,
  version: { versionId: string; deployments: DeploymentPlanEntry[] },
  db: Pick<Activities, 'loadDeploySettings' | 'claimCommand'>,
  hooks: FanoutHooks,
): Promise<DeploymentOutcome[]> {
  // The deployments came with the stored version (its activity read them): the children start in
  // the workflow task that follows it, without a local activity first.
  const { versionId, deployments: targets } = version;
  const outcomes = new Map<string, DeploymentOutcome>();
  // Retry signals as received; each counts only once its audit entry is checked and claimed.
  const signals: { deploymentId: unknown; auditId: unknown }[] = [];
  const requested: string[] = [];
  setHandler(retryDeploymentSignal, (payload: unknown) => {
    signals.push({
      deploymentId: (payload as { deploymentId?: unknown } | null)?.deploymentId,
      auditId: auditIdOf(payload),
    });
  });
  const { workflowId, runId } = workflowInfo();
  let claims = 0;
  /** Waits for a retry request (up to timeoutMs) whose audit entry holds; false when the time is up. */
  const retryRequested = async (timeoutMs: number): Promise<boolean> => {
    const until = Date.now() + timeoutMs;
    while (requested.length === 0) {
      if (!(await condition(() => signals.length > 0, Math.max(1, until - Date.now())))) return false;
      const signal = signals.shift() as { deploymentId: unknown; auditId: unknown };
      const deploymentId = typeof signal.deploymentId === 'string' ? signal.deploymentId : '';
      const claim = await db.claimCommand({
        claimId: `${workflowId}/${runId}/retryDeployment/${claims++}`,
        auditId: signal.auditId,
        command: 'retryDeployment',
        action: CommandAction.retry,
        entityType: 'deployment',
        entityId: deploymentId,
        workflowId,
      });
      const current = outcomes.get(deploymentId)?.outcome;
      if (claim.accepted && current !== 'deployed' && current !== 'ready' && !requested.includes(deploymentId))
        requested.push(deploymentId);
    }
    return true;
  };

  const deploy = async (deploymentId: string, targetName: string, trigger: DeployTrigger): Promise<void> => {
    try {
      outcomes.set(
        deploymentId,
        await executeChild(deployToTargetWorkflow, {
          workflowId: deploymentWorkflowId(certificateId, deploymentId),
          args: [{ deploymentId, versionId, trigger }],
        }),
      );
    } catch (error) {
      const reason =
        error instanceof WorkflowExecutionAlreadyStartedError
          ? 'another deploy to this target is still running'
          : `the deploy workflow failed: ${(error as Error).message}`;
      outcomes.set(deploymentId, { deploymentId, targetName, outcome: 'failed', reason });
    }
  };
  const list = (): DeploymentOutcome[] => targets.flatMap((t) => outcomes.get(t.deploymentId) ?? []);
  const failed = (): boolean => list().some((o) => o.outcome !== 'deployed' && o.outcome !== 'ready');

  await Promise.all(targets.map((t) => deploy(t.deploymentId, t.targetName, 'lifecycle')));
  hooks.onOutcomes(list(), false);
  await hooks.afterFirstRound(list());
  hooks.onOutcomes(list(), failed());

  if (!failed()) return list();
  // Some failed: the retry settings (a local activity only on this path).
  const settings = await db.loadDeploySettings({});
  // Without automatic retries, only a Retry from the console deploys a failed target again.
  if (!settings.autoRetryMs) {
    while (failed()) {
      const signalled = await retryRequested(settings.retryWindowMs);
      if (!signalled) break;
      const deploymentId = requested.shift() as string;
      const target = targets.find((t) => t.deploymentId === deploymentId);
      if (target) await deploy(deploymentId, target.targetName, 'retry');
      hooks.onOutcomes(list(), failed());
    }
    return list();
  }

  // Until the window closes: a Retry from the console at once, and every failed target again after
  // each auto-retry interval (a target that was down converges by itself when it is back).
  const windowEnds = Date.now() + settings.retryWindowMs;
  while (failed() && Date.now() < windowEnds) {
    const signalled = await retryRequested(Math.min(settings.autoRetryMs, windowEnds - Date.now()));
    const retry = signalled
      ? [requested.shift() as string]
      : Date.now() < windowEnds
        ? targets
            .filter((t) => {
              const o = outcomes.get(t.deploymentId)?.outcome;
              return o !== 'deployed' && o !== 'ready';
            })
            .map((t) => t.deploymentId)
        : [];
    await Promise.all(
      retry.map(async (deploymentId) => {
        const target = targets.find((t) => t.deploymentId === deploymentId);
        if (target) await deploy(deploymentId, target.targetName, 'retry');
      }),
    );
    hooks.onOutcomes(list(), failed());
  }
  return list();
}
