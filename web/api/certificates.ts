/** API: certificates, their versions, runs and downloads, and deployments. */
import type { Response, Router } from 'express';
import { listCertificatePage } from '../../activities/db/repositories/certificate-list';
import { listVersions } from '../../activities/db/repositories/certificate-versions';
import { listDeploymentHistory } from '../../activities/db/repositories/deployment-history';
import { listRunsOfDeployment, listRunSteps } from '../../activities/db/repositories/deployment-runs';
import { listDeploymentsOfCertificate } from '../../activities/db/repositories/deployments';
import { getTarget } from '../../activities/db/repositories/targets';
import type { WebDeps } from '../deps';
import { temporalUiUrlFor } from '../temporal-ui';
import { certificateFiltersOf, historyFiltersOf } from '../list-filters';
import { canChange } from '../middleware/auth';
import {
  createCertificate,
  deleteCertificate,
  loadCertificate,
  renewCertificate,
  updateCertificate,
} from '../operations/certificates';
import * as deploymentOps from '../operations/deployments';
import { downloadFullchain, downloadPfx, downloadPrivateKey, type Download } from '../operations/downloads';
import { vendorOf } from '../operations/targets';
import { sendDownload } from '../routes/downloads';
import { latestRunOrUnreachable, publicRevocations, publicVersions } from '../certificate-views';
import { revokeVersion } from '../operations/revocations';
import { getCurrentRenewalInfo } from '../../activities/db/repositories/renewal-info';
import { publicRenewalInfo } from '../certificate-views';
import { groupFromJson } from '../vendor-form';
import { API_PREFIX, jsonBody, objectField, refuseUnchangeable, reply } from './support';
import { deviceErrorsFor } from '../device-errors';

const P = API_PREFIX;
const MAX_PAGE_SIZE = 200;

function pageSizeOf(query: Record<string, unknown>): number {
  const raw = query['pageSize'];
  const n = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : 50;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, n));
}

export function certificateApi(router: Router, deps: WebDeps): void {
  router.get(`${P}/certificates`, async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const pageSize = pageSizeOf(query);
    const { filter, page } = certificateFiltersOf(query, pageSize);
    const result = await listCertificatePage(deps.db, filter);
    res.json({ certificates: result.rows, total: result.total, page, pageSize });
  });
  router.post(`${P}/certificates`, canChange, async (req, res) =>
    reply(res, 201, await createCertificate(deps, req, jsonBody(req))),
  );
  router.get(`${P}/certificates/:id`, async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    const [versions, deployments, run, renewalInfo] = await Promise.all([
      listVersions(deps.db, cert.id),
      listDeploymentsOfCertificate(deps.db, cert.id),
      latestRunOrUnreachable(deps, req, cert.id),
      getCurrentRenewalInfo(deps.db, cert.id),
    ]);
    const lifetimeSeconds =
      cert.notBefore && cert.notAfter ? Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / 1000) : null;
    res.json({
      ...cert,
      lifetimeSeconds,
      versions: await publicVersions(deps.db, cert.id, versions),
      revocations: await publicRevocations(deps.db, cert.id),
      deployments,
      latestRun: run,
      renewalInfo: publicRenewalInfo(renewalInfo),
    });
  });
  router.patch(`${P}/certificates/:id`, canChange, async (req, res) => {
    const body = jsonBody(req);
    refuseUnchangeable(body, [
      'customerId',
      'dnsProviderId',
      'keyType',
      'renewalMode',
      'renewalValue',
      'enabled',
      'acmeProfile',
      'delegationZone',
      'fallbackDirectoryIds',
    ]);
    reply(res, 200, await updateCertificate(deps, req, req.params['id'], body));
  });
  /** DELETE needs ?confirm=<the certificate's name>, as the console's confirmation does; ?revoke=true[&revokeReason=…] revokes first. */
  router.delete(`${P}/certificates/:id`, canChange, async (req, res) => {
    const result = await deleteCertificate(deps, req, req.params['id'], {
      confirm: req.query['confirm'],
      revoke: req.query['revoke'],
      revokeReason: req.query['revokeReason'],
    });
    if (!result.ok) return reply(res, 204, result);
    res.status(204).end();
  });
  router.post(`${P}/certificates/:id/renew`, canChange, async (req, res) => {
    res.status(202).json(await renewCertificate(deps, req, req.params['id']));
  });
  router.get(`${P}/certificates/:id/runs`, async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    // allSettled: a failing call must not leave the other one retrying after the response.
    const [latest, runs] = await Promise.allSettled([
      deps.commands.describeLatestRun(cert.id, temporalUiUrlFor(deps, req)),
      deps.commands.listLifecycleRuns(cert.id, temporalUiUrlFor(deps, req), 50),
    ]);
    if (latest.status === 'rejected') throw latest.reason;
    if (runs.status === 'rejected') throw runs.reason;
    res.json({ latest: latest.value, runs: runs.value });
  });
  router.get(`${P}/certificates/:id/versions`, async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    res.json({ versions: await publicVersions(deps.db, cert.id, await listVersions(deps.db, cert.id)) });
  });
  /** Body {reason}: an RFC 5280 reason name or code. 202: the revocation runs (GET the certificate for its status). */
  router.post(`${P}/certificates/:id/versions/:versionId/revoke`, canChange, async (req, res) =>
    reply(res, 202, await revokeVersion(deps, req, req.params['id'], req.params['versionId'], jsonBody(req))),
  );
  const send = (res: Response, download: Download) => sendDownload(res, download);
  router.get(`${P}/certificates/:id/fullchain.pem`, async (req, res) =>
    send(res, await downloadFullchain(deps, req.params['id'])),
  );
  router.get(`${P}/certificates/:id/key.pem`, canChange, async (req, res) =>
    send(res, await downloadPrivateKey(deps, req, req.params['id'])),
  );
  router.post(`${P}/certificates/:id/pfx`, canChange, async (req, res) => {
    const result = await downloadPfx(deps, req, req.params['id'], jsonBody(req));
    if (!result.ok) return reply(res, 200, result);
    send(res, result.value);
  });

  // Deployments
  router.get(`${P}/certificates/:id/deployments`, async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    res.json(
      deviceErrorsFor(
        { deployments: await listDeploymentsOfCertificate(deps.db, cert.id) },
        req.user?.role === 'admin',
      ),
    );
  });
  router.post(`${P}/certificates/:id/deployments`, canChange, async (req, res) => {
    const body = jsonBody(req);
    const target =
      typeof body['targetId'] === 'string' || typeof body['targetId'] === 'number'
        ? await getTarget(deps.db, String(body['targetId']))
        : undefined;
    const vendor = target ? vendorOf(target.vendor) : undefined;
    const binding = vendor ? groupFromJson(objectField(body, 'binding'), vendor.bindingFields) : {};
    reply(
      res,
      201,
      await deploymentOps.linkDeployment(deps, req, req.params['id'], {
        targetId: body['targetId'],
        binding,
        verifyEndpoints: body['verifyEndpoints'],
        deployNow: body['deployNow'],
      }),
    );
  });
  router.get(`${P}/deployments`, async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const limit = pageSizeOf(query);
    const { filter } = historyFiltersOf(query, limit);
    const runs = await listDeploymentHistory(deps.db, filter);
    res.json(
      deviceErrorsFor(
        { runs, ...(runs.length === limit ? { nextBefore: runs.at(-1)?.runId } : {}) },
        req.user?.role === 'admin',
      ),
    );
  });
  router.get(`${P}/deployments/:id`, async (req, res) => {
    const deployment = await deploymentOps.loadDeployment(deps.db, req.params['id']);
    const runs = await listRunsOfDeployment(deps.db, deployment.id);
    const body = {
      ...deployment,
      runs: await Promise.all(runs.map(async (run) => ({ ...run, steps: await listRunSteps(deps.db, run.id) }))),
    };
    res.json(deviceErrorsFor(body, req.user?.role === 'admin'));
  });
  router.delete(`${P}/deployments/:id`, canChange, async (req, res) => {
    await deploymentOps.unlinkDeployment(deps, req, req.params['id']);
    res.status(204).end();
  });
  for (const action of ['retry', 'redeploy'] as const) {
    router.post(`${P}/deployments/:id/${action}`, canChange, async (req, res) => {
      res.status(202).json(await deploymentOps.commandDeployment(deps, req, req.params['id'], action));
    });
  }
  router.post(`${P}/deployments/:id/deploy-now`, canChange, async (req, res) => {
    await deploymentOps.deployNow(deps, req, req.params['id']);
    res.status(202).json({ signalled: true });
  });
  router.post(`${P}/deployments/:id/mark-done`, canChange, async (req, res) => {
    await deploymentOps.markDeploymentDone(deps, req, req.params['id']);
    res.status(204).end();
  });
}
