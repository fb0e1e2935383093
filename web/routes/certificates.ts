import { Router, type Request, type Response } from 'express';
import { listAcmeDirectories } from '../../activities/db/repositories/acme-directories';
import { CERTIFICATE_SORTS, listCertificatePage } from '../../activities/db/repositories/certificate-list';
import type { CertificateRecord } from '../../activities/db/repositories/certificates';
import { listVersions } from '../../activities/db/repositories/certificate-versions';
import { listCustomers } from '../../activities/db/repositories/customers';
import { listDeploymentsOfCertificate } from '../../activities/db/repositories/deployments';
import { listDnsProviders } from '../../activities/db/repositories/dns-providers';
import { displayCertificateName } from '../../activities/domain/certificate-name';
import { KEY_TYPE_LABELS, KEY_TYPES } from '../../activities/domain/key-types';
import { describePolicy, policyFromRow } from '../../activities/domain/renewal-policy';
import { latestRunOrUnreachable, publicRevocations, publicVersions } from '../certificate-views';
import { revokeVersion } from '../operations/revocations';
import { REVOCATION_REASON_LABELS, REVOCATION_REASONS } from '../../activities/domain/revocation-reasons';
import { getCurrentRenewalInfo } from '../../activities/db/repositories/renewal-info';
import { publicRenewalInfo } from '../certificate-views';
import type { WebDeps } from '../deps';
import { withMaintenanceWaits } from '../commands/lifecycle';
import { temporalUiUrlFor } from '../temporal-ui';
import { certificateFiltersOf, CERTIFICATE_STATUSES } from '../list-filters';
import { pager } from '../list-query';
import { canChange } from '../middleware/auth';
import {
  createCertificate,
  deleteCertificate,
  loadCertificate,
  renewalDefaults,
  renewCertificate,
  updateCertificate,
} from '../operations/certificates';
import { delegationView } from '../operations/dns-delegation';
import { checkbox, type Body, type FieldErrors } from '../operations/input';
import type { Views } from '../render';
import { formPage, formPost, type Refused } from './form-page';
import { consoleVendors } from '../vendor-form';

export const CERTIFICATES_PAGE_SIZE = 50;

export function certificateRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const keyTypes = KEY_TYPES.map((id) => ({ id, label: KEY_TYPE_LABELS[id] }));
  const revocationReasons = Object.entries(REVOCATION_REASONS).map(([name, code]) => ({
    name,
    label: REVOCATION_REASON_LABELS[code],
  }));

  router.get('/certificates', async (req, res) => {
    const { filters, filter, page } = certificateFiltersOf(req.query, CERTIFICATES_PAGE_SIZE);
    const [result, customers] = await Promise.all([listCertificatePage(deps.db, filter), listCustomers(deps.db)]);
    const filterParams = {
      ...filters,
      sort: filters.sort === 'expiry' ? undefined : filters.sort,
      dir: filters.dir === 'asc' ? undefined : filters.dir,
    };
    // Column headers sort by their column; a second click reverses.
    const sortLinks = Object.fromEntries(
      CERTIFICATE_SORTS.map((s) => {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries({
          ...filters,
          sort: s,
          dir: filters.sort === s && filters.dir === 'asc' ? 'desc' : 'asc',
        }))
          if (v) params.set(k, v);
        return [s, `/certificates?${params.toString()}`];
      }),
    );
    views.page(req, res, 'certificates', {
      title: 'Certificates',
      certificates: result.rows,
      filters,
      sortLinks,
      statuses: CERTIFICATE_STATUSES,
      expiries: [
        { id: 'expired', label: 'expired' },
        { id: '7', label: 'within 7 days' },
        { id: '14', label: 'within 14 days' },
        { id: '30', label: 'within 30 days' },
        { id: 'none', label: 'not issued yet' },
      ],
      customers,
      vendors: consoleVendors,
      pager: pager('/certificates', filterParams, page, CERTIFICATES_PAGE_SIZE, result.total),
    });
  });

  const newForm = formPage(views, 'certificate-new', async (req) => {
    const [providers, directories, customers, defaults] = await Promise.all([
      listDnsProviders(deps.db),
      listAcmeDirectories(deps.db),
      listCustomers(deps.db),
      renewalDefaults(deps.db),
    ]);
    const preselected = typeof req.query['customer'] === 'string' ? req.query['customer'] : undefined;
    const values = {
      keyType: defaults.keyType,
      renewalMode: defaults.renewalMode,
      renewalValue: defaults.renewalValue ?? '',
      acmeDirectoryId: defaults.acmeDirectoryId,
      customerId: preselected,
    };
    return { title: 'New certificate', providers, directories, keyTypes, customers, values, errors: {} };
  });

  router.get('/certificates/new', canChange, (req, res) => newForm(req, res));

  const refusedNew: Refused = (values, errors) => ({
    values,
    errors,
    formError: 'Please correct the fields marked below.',
  });
  const created = (value: { id: string }) => `/certificates/${value.id}`;
  router.post('/certificates', canChange, formPost(deps, newForm, createCertificate, created, refusedNew));

  const detail = async (
    req: Request,
    res: Response,
    cert: CertificateRecord,
    extra: { settingsValues?: Body; settingsErrors?: FieldErrors; deleteError?: string; revokeError?: string } = {},
    status = 200,
  ) => {
    const [versions, latestRun, runs, providers, deployments, customers, directories, renewalInfo, delegationCheck] =
      await Promise.all([
        listVersions(deps.db, cert.id),
        latestRunOrUnreachable(deps, req, cert.id),
        deps.commands.listLifecycleRuns(cert.id, temporalUiUrlFor(deps, req)).catch(() => []),
        listDnsProviders(deps.db),
        listDeploymentsOfCertificate(deps.db, cert.id),
        listCustomers(deps.db),
        listAcmeDirectories(deps.db),
        getCurrentRenewalInfo(deps.db, cert.id),
        cert.delegationZone ? deps.commands.dnsDelegationCheck(cert.id) : undefined,
      ]);
    const run = withMaintenanceWaits(latestRun, deployments);
    const [shownVersions, revocations] = await Promise.all([
      publicVersions(deps.db, cert.id, versions),
      publicRevocations(deps.db, cert.id),
    ]);
    views.page(
      req,
      res,
      'certificate',
      {
        deployments,
        title: displayCertificateName(cert.commonName),
        cert,
        delegation: delegationView(cert),
        delegationCheck,
        settingsValues: extra.settingsValues ?? cert,
        settingsErrors: extra.settingsErrors ?? {},
        ...(extra.settingsErrors
          ? { settingsFormError: 'Please correct the fields marked below. Nothing was changed.' }
          : {}),
        ...(extra.deleteError ? { deleteError: extra.deleteError } : {}),
        ...(extra.revokeError ? { revokeError: extra.revokeError } : {}),
        versions: shownVersions.map((v) => ({ ...v, current: v.id === cert.currentVersionId })),
        revocations,
        revocationReasons,
        run,
        runs,
        providers,
        customers,
        directories,
        keyTypes,
        policyText: describePolicy(policyFromRow(cert.renewalMode, cert.renewalValue)),
        renewalInfo: publicRenewalInfo(renewalInfo),
      },
      status,
    );
  };

  router.get('/certificates/:id', async (req, res) =>
    detail(req, res, await loadCertificate(deps.db, req.params['id'])),
  );

  /** The certificate page again (400) with what a refused form on it says. */
  const refusedOnDetail = async (req: Request, res: Response, extra: Parameters<typeof detail>[3]) =>
    detail(req, res, await loadCertificate(deps.db, req.params['id']), extra, 400);

  /** htmx fragment: re-polls itself while the run is in progress; reloads the page once when it ends. */
  router.get('/certificates/:id/progress', async (req, res) => {
    const cert = await loadCertificate(deps.db, req.params['id']);
    const [latestRun, deployments] = await Promise.all([
      deps.commands.describeLatestRun(cert.id, temporalUiUrlFor(deps, req)),
      listDeploymentsOfCertificate(deps.db, cert.id),
    ]);
    const run = withMaintenanceWaits(latestRun, deployments);
    if (req.query['polling'] === '1' && !run.running) res.set('HX-Refresh', 'true');
    views.partial(res, 'progress', { cert, run });
  });

  router.post('/certificates/:id/renew', canChange, async (req, res) => {
    const id = String(req.params['id']);
    await renewCertificate(deps, req, id);
    if (req.get('HX-Request') === 'true') {
      res.set('HX-Redirect', `/certificates/${id}`).status(204).end();
      return;
    }
    res.redirect(303, `/certificates/${id}`);
  });

  router.post('/certificates/:id/settings', canChange, async (req, res) => {
    // A form sends a checkbox only when it is ticked.
    const body = { ...(req.body as Body), enabled: checkbox(req.body as Body, 'enabled') };
    const result = await updateCertificate(deps, req, req.params['id'], body);
    if (!result.ok) return refusedOnDetail(req, res, { settingsValues: body, settingsErrors: result.errors });
    res.redirect(303, `/certificates/${result.value.id}`);
  });

  router.post('/certificates/:id/delete', canChange, async (req, res) => {
    const body = { ...(req.body as Body), revoke: checkbox(req.body as Body, 'revoke') };
    const result = await deleteCertificate(deps, req, req.params['id'], body);
    if (!result.ok) {
      const errors = result.errors;
      const deleteError = errors['revoke'] ?? errors['revokeReason'] ?? errors['confirm'] ?? 'Confirm the deletion.';
      return refusedOnDetail(req, res, { deleteError });
    }
    res.redirect(303, '/certificates');
  });

  router.post('/certificates/:id/versions/:versionId/revoke', canChange, async (req, res) => {
    const id = String(req.params['id']);
    const result = await revokeVersion(deps, req, id, req.params['versionId'], req.body as Body);
    if (!result.ok) return refusedOnDetail(req, res, { revokeError: result.errors['reason'] });
    res.redirect(303, `/certificates/${id}`);
  });

  return router;
}
