import { getCertificate } from '../../activities/db/repositories/certificates';
import { appendRunStep, finishRun, latestReadyRun } from '../../activities/db/repositories/deployment-runs';
import {
  deleteDeployment,
  getDeployment,
  insertDeployment,
  listDeploymentsOfCertificate,
  recordDeployed,
  type DeploymentRecord,
} from '../../activities/db/repositories/deployments';
import { incidentKey, observeRecovery } from '../../activities/db/repositories/incidents';
import { getTarget } from '../../activities/db/repositories/targets';
import type { Queryable } from '../../activities/db/pool';
import { checkEndpoints } from '../../activities/domain/target-input';
import { CommandAction } from '../../temporal/contract';
import { auditedChange, auditedCommand } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { loadCertificate } from './certificates';
import { groupTypeErrors } from '../vendor-form';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';
import { vendorOf } from './targets';
import { refusedAddress } from './target-addresses';

export async function loadDeployment(db: Queryable, id: unknown): Promise<DeploymentRecord> {
  const deployment = typeof id === 'string' ? await getDeployment(db, id) : undefined;
  if (!deployment) throw new HttpError(404, 'No such deployment.');
  return deployment;
}

/** The binding options come grouped (the console regroups its `bind_` fields, the API sends `binding`). */
export interface LinkInput {
  targetId?: unknown;
  binding: Record<string, unknown>;
  verifyEndpoints?: unknown;
  /** Deploy the current version right away (else at the next renewal, or Redeploy): a boolean, the console's checkbox turned into one. */
  deployNow?: unknown;
}

/** Links a certificate to a target with the vendor's binding options; every new version is deployed there. */
export async function linkDeployment(
  deps: WebDeps,
  actor: Actor,
  certificateId: unknown,
  input: LinkInput,
): Promise<OpResult<{ id: string }>> {
  const cert = await loadCertificate(deps.db, certificateId);
  const f = new FieldReader(input as unknown as Body);
  const targetId = f.ref('targetId');
  const target = targetId ? await getTarget(deps.db, targetId) : undefined;
  if (!target) f.fail('targetId', 'Choose a target.');
  const vendor = target && vendorOf(target.vendor);
  if (target && !vendor) f.fail('targetId', `Target vendor "${target.vendor}" is not supported by this version.`);
  const deployNow = f.bool('deployNow') === true;
  const endpoints = checkEndpoints(f.list('verifyEndpoints', '\n'));
  if (!endpoints.ok) f.fail('verifyEndpoints', endpoints.error);
  else {
    const refusal = await refusedAddress(
      deps.db,
      endpoints.endpoints.map((e) => e.host),
    );
    if (refusal) f.fail('verifyEndpoints', refusal);
  }
  if (!target || !vendor) return invalid(f.errors);
  for (const [k, v] of Object.entries(groupTypeErrors(input.binding, vendor.bindingFields))) f.fail(`bind_${k}`, v);
  const binding = vendor.parseBinding(input.binding);
  for (const [k, v] of Object.entries(binding.errors)) f.fail(`bind_${k}`, v);
  if (target.customerId !== cert.customerId)
    f.fail(
      'targetId',
      `${target.name} belongs to ${target.customerName}, the certificate to ${cert.customerName}. Choose a target of ${cert.customerName}.`,
    );
  else if ((await listDeploymentsOfCertificate(deps.db, cert.id)).some((d) => d.targetId === target.id))
    f.fail('targetId', 'This certificate is already deployed to that target.');
  if (!endpoints.ok || !f.ok) return invalid(f.errors);
  const id = await auditedChange(
    deps.db,
    actor,
    (tx) =>
      insertDeployment(tx, {
        certificateId: cert.id,
        targetId: target.id,
        binding: binding.value,
        verifyEndpoints: endpoints.endpoints,
      }),
    (linked) => ({
      action: 'deployment.create',
      entityType: 'deployment',
      entityId: linked,
      after: {
        certificate: cert.commonName,
        target: target.name,
        binding: binding.value,
        verifyEndpoints: endpoints.endpoints,
        deployNow,
      },
    }),
  );
  // An issued certificate can go to the new target right away, not only at the next renewal. The link
  // stands even when Temporal cannot take the deploy now (Redeploy, or the next renewal, does it).
  const versionId = cert.currentVersionId;
  if (deployNow && versionId) {
    await auditedCommand(
      deps.db,
      actor,
      { action: CommandAction.redeploy, entityType: 'deployment', entityId: id, after: { onLink: true } },
      async (auditId) => {
        const started = await deps.commands.startDeploy(cert.id, id, versionId, 'redeploy', auditId);
        if (!started.ok) throw new HttpError(409, started.reason);
      },
    ).catch((error: unknown) =>
      deps.log.warn({ err: error, deploymentId: id }, 'linked, but the first deploy could not be started'),
    );
  }
  return done({ id });
}

/** Stops deploying the certificate to the target (nothing is removed from the device); the history stays. */
export async function unlinkDeployment(deps: WebDeps, actor: Actor, id: unknown): Promise<DeploymentRecord> {
  const deployment = await loadDeployment(deps.db, id);
  if (deployment.status === 'deploying')
    throw new HttpError(409, 'A deploy to this target is running; unlink it when it has finished.');
  await auditedChange(deps.db, actor, (tx) => deleteDeployment(tx, deployment.id), {
    action: 'deployment.delete',
    entityType: 'deployment',
    entityId: deployment.id,
    before: { certificate: deployment.commonName, target: deployment.targetName, binding: deployment.binding },
  });
  return deployment;
}

/** Retry (a failed target) or Redeploy (the current version again): Temporal commands, audited. */
export async function commandDeployment(
  deps: WebDeps,
  actor: Actor,
  id: unknown,
  action: 'retry' | 'redeploy',
): Promise<{ detail: string }> {
  const deployment = await loadDeployment(deps.db, id);
  const cert = await getCertificate(deps.db, deployment.certificateId);
  if (!cert) throw new HttpError(404, 'The certificate was deleted.');
  const versionId = cert.currentVersionId;
  if (action === 'redeploy' && !versionId)
    throw new HttpError(409, 'This certificate has no issued version to deploy yet.');
  // The entry is written with the command (and dropped when it fails): the workflow checks it before acting.
  return auditedCommand(
    deps.db,
    actor,
    { action: CommandAction[action], entityType: 'deployment', entityId: deployment.id },
    async (auditId) => {
      const result =
        action === 'retry' || !versionId
          ? await deps.commands.retryDeploy(cert.id, deployment.id, versionId, auditId)
          : await deps.commands.startDeploy(cert.id, deployment.id, versionId, 'redeploy', auditId);
      if (!result.ok) throw new HttpError(409, result.reason);
      return { detail: result.detail };
    },
  );
}

/** "Deploy now": a deploy waiting for the target's maintenance window goes ahead at once. Audited. */
export async function deployNow(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const deployment = await loadDeployment(deps.db, id);
  if (deployment.status !== 'waiting')
    throw new HttpError(409, 'This deployment is not waiting for a maintenance window.');
  // The signal names only this entry; the workflow checks and claims it, and shows its actor as who asked.
  const entry = {
    action: CommandAction.deployNow,
    entityType: 'deployment',
    entityId: deployment.id,
    after: { target: deployment.targetName, outsideMaintenanceWindow: true },
  };
  await auditedCommand(deps.db, actor, entry, async (auditId) => {
    if ((await deps.commands.deployNow(deployment.certificateId, deployment.id, auditId)) === 'not-running') {
      throw new HttpError(409, 'The waiting deploy is no longer running; use Redeploy.');
    }
  });
}

/** Manual targets: a technician installed the ready version by hand. Audited. */
export async function markDeploymentDone(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const deployment = await loadDeployment(deps.db, id);
  if (deployment.status !== 'ready')
    throw new HttpError(409, 'Only a deployment that is ready for download can be marked done.');
  const run = await latestReadyRun(deps.db, deployment.id);
  if (!run) throw new HttpError(409, 'There is no version waiting for this deployment.');
  await auditedChange(
    deps.db,
    actor,
    async (tx) => {
      await finishRun(tx, run.id, 'deployed', null);
      await appendRunStep(
        tx,
        run.id,
        'installed by hand',
        'succeeded',
        `marked done by ${actor.user?.username ?? 'unknown'}`,
      );
      await recordDeployed(tx, deployment.id, run.versionId, {});
      await observeRecovery(tx, incidentKey.notDeployed(deployment.id));
    },
    {
      action: 'deployment.mark-done',
      entityType: 'deployment',
      entityId: deployment.id,
      after: { versionId: run.versionId },
    },
  );
}
