/**
 * The workflows of bench/orchestration-floor.ts (the bundle of its worker; not CertFleet's workflows):
 * exactly the Temporal shape of one CertFleet renewal and deploy with one target, and nothing else.
 *
 * `floorLifecycleWorkflow` issues the commands of workflows/certificate-lifecycle.ts for a "Renew now"
 * that renews and deploys, in the same order and grouping (compare test/replay/histories/current/
 * certificateLifecycleWorkflow.json): the CertificateId upsert and the local `openLifecycleRun`, then
 * `checkDnsProvider`; the local `reserveOrderSlot` and `createAcmeOrder`; `prepareDnsChallenge`;
 * `validateAndFinalizeAcmeOrder` (which also names the deployments); `removeDnsChallenge` scheduled beside
 * the deploy child; after the child `sendLifecycleEmail`; then the CertFleetOutcome upsert. The child,
 * `floorDeployWorkflow`, is workflows/deploy-to-target.ts for a synchronous device (an F5 BIG-IP): the
 * `deployFirstAttempt` (the opening and the device step's first attempt, its first verify attempt inside,
 * which succeeds; `verifyDeployment` only when it did not), the local `closeDeploymentRun`. Activity options
 * are the real ones (workflows/lib/retry-policies.ts, and the ones each workflow file defines, copied
 * below with their source). What the real workflows add (the progress, fallbacks, waits for a busy
 * dependency, failure paths) makes no command in this run.
 *
 * `mergedLifecycleWorkflow`: the same run merged as far as the isolation rule could ever allow
 * (bench/orchestration-floor-activities.ts MergedActivities): one local and three regular activities,
 * no child, the two upserts.
 */
import {
  ApplicationFailure,
  executeChild,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import {
  deploymentWorkflowId,
  SearchAttributes,
  type DeployInput,
  type DeploymentOutcome,
  type DeploySettings,
  type LifecycleInput,
  type LifecycleResult,
} from '../temporal/contract';
import {
  localBookkeepingOptions,
  nonRetryableErrorTypes,
  remoteCallOptions,
  verifyOptions,
} from '../workflows/lib/retry-policies';
import type { FloorActivities, MergedActivities } from './orchestration-floor-activities';

/** workflows/bookkeeping.ts localBookkeeping. */
const local = proxyLocalActivities<FloorActivities & MergedActivities>(localBookkeepingOptions);
/** workflows/certificate-lifecycle.ts `ca` and `dns`. */
const remote = proxyActivities<FloorActivities & MergedActivities>(remoteCallOptions);
/** workflows/certificate-lifecycle.ts mailOptions. */
const mail = proxyActivities<FloorActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
});
/** workflows/deploy-to-target.ts `firstAttempt`. */
const firstAttempt = proxyActivities<FloorActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: { maximumAttempts: 1 },
});
/** workflows/deploy-to-target.ts deviceActivities(settings, settings.deviceRetryAttempts). */
const deviceOptions = (settings: DeploySettings): ActivityOptions => ({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: {
    initialInterval: settings.deviceRetryInitialMs,
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: settings.deviceRetryAttempts,
    nonRetryableErrorTypes,
  },
});
/** workflows/deploy-to-target.ts `verify`. */
const verify = proxyActivities<FloorActivities>(verifyOptions);

const deployed = (outcomes: DeploymentOutcome[]): LifecycleResult['outcome'] =>
  outcomes.every((o) => o.outcome === 'deployed') ? 'issued' : 'partial';

/** The run's outcome from its deploys, mailed as workflows/certificate-lifecycle.ts does after the first round. */
async function mailOutcome(
  input: LifecycleInput,
  deployments: DeploymentOutcome[],
): Promise<LifecycleResult['outcome']> {
  const { workflowId, startTime } = workflowInfo();
  const outcome = deployed(deployments);
  await mail.sendLifecycleEmail({
    certificateId: input.certificateId,
    outcome,
    workflowId,
    trigger: input.trigger,
    startedAt: startTime.toISOString(),
    deployments,
  });
  return outcome;
}

export async function floorLifecycleWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const { certificateId } = input;
  const { workflowId, runId } = workflowInfo();
  upsertSearchAttributes([{ key: SearchAttributes.certificateId, value: certificateId }]);
  const opening = await local.openLifecycleRun({ ...input, workflowId, runId, scheduled: false });
  if ('refused' in opening || !opening.plan) throw ApplicationFailure.nonRetryable('floor: the opening refused');
  const [directory] = opening.plan.directories;
  if (!directory) throw ApplicationFailure.nonRetryable('floor: no directory');
  await remote.checkDnsProvider({ certificateId });
  await local.reserveOrderSlot({ certificateId, directoryId: directory.id, runId, exempt: false });
  const order = await remote.createAcmeOrder({ certificateId, workflowId, runId, directoryId: directory.id });
  await remote.prepareDnsChallenge({ orderId: order.orderId });
  // The stored version names its deployments (read by the same activity): no deploy plan of its own.
  const { versionId, deployments: targets } = await remote.validateAndFinalizeAcmeOrder({ orderId: order.orderId });
  // The TXT record's removal goes on beside the deploy (scheduled in the same workflow task as the child).
  const cleanup = remote.removeDnsChallenge({ orderId: order.orderId });
  const deployments = await Promise.all(
    targets.map((t) =>
      executeChild(floorDeployWorkflow, {
        workflowId: deploymentWorkflowId(certificateId, t.deploymentId),
        args: [{ deploymentId: t.deploymentId, versionId, trigger: 'lifecycle' }],
      }),
    ),
  );
  const outcome = await mailOutcome(input, deployments);
  await cleanup;
  upsertSearchAttributes([{ key: SearchAttributes.outcome, value: outcome }]);
  return { outcome, versionId, deployments };
}

export async function floorDeployWorkflow(input: DeployInput): Promise<DeploymentOutcome> {
  const { workflowId, runId, parent } = workflowInfo();
  const first = await firstAttempt.deployFirstAttempt({
    ...input,
    workflowId,
    runId,
    ...(parent ? { parentWorkflowId: parent.workflowId } : {}),
  });
  const { opening } = first;
  if ('refused' in opening || 'alreadyDeployed' in opening.start || !('activation' in first))
    throw ApplicationFailure.nonRetryable('floor: the deploy opening refused or the first attempt failed');
  const { runRowId, targetName } = opening.start;
  if (!first.activation.verified) await verify.verifyDeployment({ runRowId });
  await local.closeDeploymentRun({ runRowId, outcome: 'deployed' });
  return { deploymentId: input.deploymentId, targetName, outcome: 'deployed' };
}

export async function mergedLifecycleWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const { certificateId } = input;
  const { workflowId, runId } = workflowInfo();
  upsertSearchAttributes([{ key: SearchAttributes.certificateId, value: certificateId }]);
  const { settings, targets } = await local.openRenewal({ ...input, workflowId, runId });
  const { versionId } = await remote.issueCertificate({ certificateId, workflowId, runId });
  const device = proxyActivities<MergedActivities>(deviceOptions(settings));
  const deployments = await Promise.all(
    targets.map((t) =>
      device.deployVersion({ certificateId, deploymentId: t.deploymentId, versionId, trigger: 'lifecycle' }),
    ),
  );
  const outcome = await mailOutcome(input, deployments);
  upsertSearchAttributes([{ key: SearchAttributes.outcome, value: outcome }]);
  return { outcome, versionId, deployments };
}
