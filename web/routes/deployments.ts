import { Router, type Request } from 'express';
import { getCertificate } from '../../activities/db/repositories/certificates';
import { appendRunStep, finishRun, latestReadyRun, listRunsOfDeployment, listRunSteps } from '../../activities/db/repositories/deployment-runs';
import { getDeployment, insertDeployment, listDeploymentsOfCertificate, recordDeployed } from '../../activities/db/repositories/deployments';
import { getTarget, listTargets } from '../../activities/db/repositories/targets';
import { vendorDescriptors } from '../../activities/deployers/descriptors';
import { checkEndpoints } from '../../activities/domain/target-input';
import { audit } from '../audit';
import { retryDeploy, startDeploy } from '../deploy-commands';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { canChange } from '../middleware/auth';
import type { Views } from '../render';
import { pickGroup, renderFields } from '../vendor-form';

type Body = Record<string, unknown>;

export function deploymentRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const { client } = deps.temporal;

  const certificateOf = async (req: Request) => {
    const id = req.params['id'];
    const cert = typeof id === 'string' ? await getCertificate(deps.db, id) : undefined;
    if (!cert) throw new HttpError(404, 'No such certificate.');
    return cert;
  };
  const deploymentOf = async (req: Request) => {
    const id = req.params['id'];
    const deployment = typeof id === 'string' ? await getDeployment(deps.db, id) : undefined;
    if (!deployment) throw new HttpError(404, 'No such deployment.');
    return deployment;
  };

  /** Step 1 picks the target; step 2 shows that vendor's binding fields. */
  router.get('/certificates/:id/deployments/new', canChange, async (req, res) => {
    const cert = await certificateOf(req);
    const targets = await listTargets(deps.db);
    const target = typeof req.query['target'] === 'string' ? await getTarget(deps.db, req.query['target']) : undefined;
    const vendor = target ? vendorDescriptors[target.vendor] : undefined;
    views.page(req, res, 'deployment-new', {
      title: `Deploy ${cert.commonName}`,
      cert,
      targets: targets.map((t) => ({ id: t.id, name: t.name, vendor: t.vendor })),
      target: target && { id: target.id, name: target.name, vendor: target.vendor },
      bindingFields: vendor ? renderFields('bind', vendor.bindingFields, {}, {}) : [],
      errors: {},
    });
  });

  router.post('/certificates/:id/deployments', canChange, async (req, res) => {
    const cert = await certificateOf(req);
    const body = req.body as Body;
    const target = typeof body['targetId'] === 'string' ? await getTarget(deps.db, body['targetId']) : undefined;
    if (!target) throw new HttpError(400, 'Choose a target.');
    const vendor = vendorDescriptors[target.vendor];
    if (!vendor) throw new HttpError(400, `Target vendor "${target.vendor}" is not supported by this version.`);
    const binding = vendor.parseBinding(pickGroup(body, 'bind', vendor.bindingFields));
    const endpoints = checkEndpoints(body['verifyEndpoints']);
    const errors: Record<string, string> = { ...binding.errors };
    if (!endpoints.ok) errors['verifyEndpoints'] = endpoints.error;
    if ((await listDeploymentsOfCertificate(deps.db, cert.id)).some((d) => d.targetId === target.id)) errors['targetId'] = 'This certificate is already deployed to that target.';
    if (!endpoints.ok || Object.keys(errors).length > 0) {
      const targets = await listTargets(deps.db);
      return views.page(req, res, 'deployment-new', {
        title: `Deploy ${cert.commonName}`,
        cert,
        targets: targets.map((t) => ({ id: t.id, name: t.name, vendor: t.vendor })),
        target: { id: target.id, name: target.name, vendor: target.vendor },
        bindingFields: renderFields('bind', vendor.bindingFields, pickGroup(body, 'bind', vendor.bindingFields), binding.errors),
        verifyEndpoints: body['verifyEndpoints'],
        errors,
        formError: 'Please correct the fields marked below.',
      }, 400);
    }
    const id = await insertDeployment(deps.db, { certificateId: cert.id, targetId: target.id, binding: binding.value, verifyEndpoints: endpoints.endpoints });
    await audit(deps.db, req, { action: 'deployment.create', entityType: 'deployment', entityId: id, after: { certificate: cert.commonName, target: target.name, binding: binding.value, verifyEndpoints: endpoints.endpoints } });
    res.redirect(303, `/certificates/${cert.id}`);
  });

  router.get('/deployments/:id', async (req, res) => {
    const deployment = await deploymentOf(req);
    const runs = await listRunsOfDeployment(deps.db, deployment.id);
    const withSteps = await Promise.all(runs.map(async (run) => ({ ...run, steps: await listRunSteps(deps.db, run.id) })));
    views.page(req, res, 'deployment', { title: `${deployment.commonName} → ${deployment.targetName}`, deployment, runs: withSteps });
  });

  const command = (action: 'redeploy' | 'retry') =>
    router.post(`/deployments/:id/${action}`, canChange, async (req, res) => {
      const deployment = await deploymentOf(req);
      const cert = await getCertificate(deps.db, deployment.certificateId);
      if (!cert) throw new HttpError(404, 'The certificate was deleted.');
      const result =
        action === 'retry'
          ? await retryDeploy(client, cert.id, deployment.id, cert.currentVersionId)
          : cert.currentVersionId
            ? await startDeploy(client, cert.id, deployment.id, cert.currentVersionId, 'redeploy')
            : ({ ok: false, reason: 'This certificate has no issued version to deploy yet.' } as const);
      if (!result.ok) throw new HttpError(409, result.reason);
      await audit(deps.db, req, { action: `deployment.${action}`, entityType: 'deployment', entityId: deployment.id, after: { detail: result.detail } });
      res.redirect(303, `/deployments/${deployment.id}`);
    });
  command('redeploy');
  command('retry');

  /** Manual targets: a technician installed the ready version by hand. Audited. */
  router.post('/deployments/:id/mark-done', canChange, async (req, res) => {
    const deployment = await deploymentOf(req);
    if (deployment.status !== 'ready') throw new HttpError(409, 'Only a deployment that is ready for download can be marked done.');
    const run = await latestReadyRun(deps.db, deployment.id);
    if (!run) throw new HttpError(409, 'There is no version waiting for this deployment.');
    await deps.db.withTransaction(async (tx) => {
      await finishRun(tx, run.id, 'deployed', null);
      await appendRunStep(tx, run.id, 'installed by hand', 'succeeded', `marked done by ${req.user?.username ?? 'unknown'}`);
      await recordDeployed(tx, deployment.id, run.versionId, {});
      await audit(tx, req, { action: 'deployment.mark-done', entityType: 'deployment', entityId: deployment.id, after: { versionId: run.versionId } });
    });
    res.redirect(303, `/deployments/${deployment.id}`);
  });

  return router;
}
