import { Router, type Request, type Response } from 'express';
import { listCustomers } from '../../activities/db/repositories/customers';
import { listDeploymentHistory, RUN_OUTCOMES } from '../../activities/db/repositories/deployment-history';
import { listRunsOfDeployment, listRunSteps } from '../../activities/db/repositories/deployment-runs';
import { runsWithTranscript } from '../../activities/db/repositories/deployment-transcripts';
import { getTarget, listTargets } from '../../activities/db/repositories/targets';
import { displayCertificateName } from '../../activities/domain/certificate-name';
import type { CertificateRecord } from '../../activities/db/repositories/certificates';
import type { WebDeps } from '../deps';
import { temporalUiLink } from '../temporal-ui';
import { temporalUiUrlFor } from '../temporal-ui';
import { historyFiltersOf } from '../list-filters';
import { idParam, keysetPage } from '../list-query';
import { canChange } from '../middleware/auth';
import { loadCertificate } from '../operations/certificates';
import { downloadRunTranscript } from '../operations/transcripts';
import { sendDownload } from './downloads';
import {
  commandDeployment,
  deployNow,
  linkDeployment,
  loadDeployment,
  markDeploymentDone,
  unlinkDeployment,
} from '../operations/deployments';
import { checkbox, type Body, type FieldErrors } from '../operations/input';
import { vendorOf } from '../operations/targets';
import type { Views } from '../render';
import { pickErrors, pickGroup, renderFields, consoleVendors } from '../vendor-form';

/** The link form's certificate, the target picked (step 2), and the posted values and field errors. */
interface LinkForm {
  cert: CertificateRecord;
  targetId: string | undefined;
  values: Body;
  errors: FieldErrors;
}

/** Runs per page of the deployment history (keyset paging). */
const HISTORY_PAGE_SIZE = 50;

export function deploymentRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  /** Step 1 picks one of the customer's targets; step 2 shows that vendor's binding fields. */
  const linkForm = async (req: Request, res: Response, form: LinkForm, status = 200) => {
    const { cert, targetId, values, errors } = form;
    const targets = await listTargets(deps.db, { customerId: cert.customerId });
    const target = targetId ? await getTarget(deps.db, targetId) : undefined;
    const vendor = target ? vendorOf(target.vendor) : undefined;
    views.page(
      req,
      res,
      'deployment-new',
      {
        title: `Deploy ${displayCertificateName(cert.commonName)}`,
        cert,
        targets: targets.map((t) => ({ id: t.id, name: t.name, vendor: t.vendor })),
        target: target && { id: target.id, name: target.name, vendor: target.vendor },
        bindingFields: vendor
          ? renderFields(
              'bind',
              vendor.bindingFields,
              pickGroup(values, 'bind', vendor.bindingFields),
              pickErrors(errors, 'bind'),
            )
          : [],
        verifyEndpoints: values['verifyEndpoints'],
        errors,
        ...(status === 400 ? { formError: 'Please correct the fields marked below.' } : {}),
      },
      status,
    );
  };

  router.get('/certificates/:id/deployments/new', canChange, async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    await linkForm(req, res, { cert, targetId: idParam(req.query, 'target'), values: {}, errors: {} });
  });

  router.post('/certificates/:id/deployments', canChange, async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    const body = req.body as Body;
    const target = typeof body['targetId'] === 'string' ? await getTarget(deps.db, body['targetId']) : undefined;
    const vendor = target ? vendorOf(target.vendor) : undefined;
    const result = await linkDeployment(deps, req, cert.id, {
      targetId: body['targetId'],
      binding: vendor ? pickGroup(body, 'bind', vendor.bindingFields) : {},
      verifyEndpoints: body['verifyEndpoints'],
      deployNow: checkbox(body, 'deployNow'),
    });
    if (!result.ok) return linkForm(req, res, { cert, targetId: target?.id, values: body, errors: result.errors }, 400);
    res.redirect(303, `/certificates/${cert.id}`);
  });

  router.get('/deployments', async (req, res) => {
    const { filters, filter, before } = historyFiltersOf(req.query, HISTORY_PAGE_SIZE + 1);
    const [rows, customers] = await Promise.all([listDeploymentHistory(deps.db, filter), listCustomers(deps.db)]);
    const { page, nextUrl, firstUrl } = keysetPage('/deployments', filters, rows, {
      pageSize: HISTORY_PAGE_SIZE,
      before,
      cursorOf: (r) => r.runId,
    });
    const { namespace } = deps.temporal;
    const uiUrl = temporalUiUrlFor(deps, req);
    views.page(req, res, 'deployments', {
      title: 'Deployment history',
      runs: page.map((r) => ({ ...r, temporalUiUrl: temporalUiLink(uiUrl, namespace, r.workflowId, r.workflowRunId) })),
      filters,
      outcomes: RUN_OUTCOMES,
      customers,
      vendors: consoleVendors,
      nextUrl,
      firstUrl,
    });
  });

  router.get('/deployments/:id', async (req, res) => {
    const deployment = await loadDeployment(deps.db, req.params['id']);
    const runs = await listRunsOfDeployment(deps.db, deployment.id);
    const { namespace } = deps.temporal;
    const uiUrl = temporalUiUrlFor(deps, req);
    const transcripts = await runsWithTranscript(
      deps.db,
      runs.map((r) => r.id),
    );
    const withSteps = await Promise.all(
      runs.map(async (run) => ({
        ...run,
        hasTranscript: transcripts.has(run.id),
        steps: await listRunSteps(deps.db, run.id),
        temporalUiUrl: temporalUiLink(uiUrl, namespace, run.workflowId, run.runId),
      })),
    );
    const waitingDetail =
      deployment.status === 'waiting'
        ? withSteps[0]?.steps.filter((s) => s.step === 'maintenance window').at(-1)?.detail
        : undefined;
    views.page(req, res, 'deployment', {
      title: `${displayCertificateName(deployment.commonName)} → ${deployment.targetName}`,
      deployment,
      runs: withSteps,
      waitingDetail,
    });
  });

  /** The redacted wire transcript of a failed run, for a bug report (technicians and admins, audited). */
  router.get('/deployments/:id/runs/:runId/transcript', canChange, async (req, res) => {
    sendDownload(res, await downloadRunTranscript(deps, req, req.params['id'], req.params['runId']));
  });

  for (const action of ['redeploy', 'retry'] as const) {
    router.post(`/deployments/:id/${action}`, canChange, async (req, res) => {
      await commandDeployment(deps, req, req.params['id'], action);
      res.redirect(303, `/deployments/${String(req.params['id'])}`);
    });
  }

  router.post('/deployments/:id/deploy-now', canChange, async (req, res) => {
    await deployNow(deps, req, req.params['id']);
    res.redirect(303, `/deployments/${String(req.params['id'])}`);
  });

  router.post('/deployments/:id/mark-done', canChange, async (req, res) => {
    await markDeploymentDone(deps, req, req.params['id']);
    res.redirect(303, `/deployments/${String(req.params['id'])}`);
  });

  router.post('/deployments/:id/delete', canChange, async (req, res) => {
    const deployment = await unlinkDeployment(deps, req, req.params['id']);
    res.redirect(303, `/certificates/${deployment.certificateId}`);
  });

  return router;
}
