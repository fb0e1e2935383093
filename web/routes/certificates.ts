import { Router, type Request, type Response } from 'express';
import { getAcmeDirectory, listAcmeDirectories } from '../../activities/db/repositories/acme-directories';
import {
  deleteCertificate,
  getCertificate,
  insertCertificate,
  liveCertificateExists,
  updateCertificateSettings,
  type CertificateRecord,
} from '../../activities/db/repositories/certificates';
import { listVersions } from '../../activities/db/repositories/certificate-versions';
import { listDeploymentsOfCertificate } from '../../activities/db/repositories/deployments';
import { getDnsProvider, listDnsProviders } from '../../activities/db/repositories/dns-providers';
import { checkCertificateName } from '../../activities/domain/certificate-name';
import { DEFAULT_KEY_TYPE, isKeyType, KEY_TYPE_LABELS, KEY_TYPES } from '../../activities/domain/key-types';
import { checkRenewalPolicy, describePolicy, policyFromRow } from '../../activities/domain/renewal-policy';
import { deleteRenewalSchedule, upsertRenewalSchedule } from '../../temporal/schedules';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { describeLatestRun, listRuns, startLifecycle } from '../lifecycle-runs';
import { canChange } from '../middleware/auth';
import type { Views } from '../render';

type Body = Record<string, unknown>;
const str = (body: Body, key: string): string => (typeof body[key] === 'string' ? (body[key] as string).trim() : '');

/** What the audit log keeps of a certificate (no secrets here anyway). */
const auditView = (c: Pick<CertificateRecord, 'commonName' | 'dnsProviderId' | 'keyType' | 'renewalMode' | 'renewalValue' | 'enabled'>) => ({
  commonName: c.commonName, dnsProviderId: c.dnsProviderId, keyType: c.keyType, renewalMode: c.renewalMode, renewalValue: c.renewalValue, enabled: c.enabled,
});

export function certificateRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const { client, namespace, uiUrl } = deps.temporal;
  const keyTypes = KEY_TYPES.map((id) => ({ id, label: KEY_TYPE_LABELS[id] }));

  const load = async (req: Request): Promise<CertificateRecord> => {
    const id = req.params['id'];
    const cert = typeof id === 'string' ? await getCertificate(deps.db, id) : undefined;
    if (!cert) throw new HttpError(404, 'No such certificate.');
    return cert;
  };

  const newForm = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const [providers, directories] = await Promise.all([listDnsProviders(deps.db), listAcmeDirectories(deps.db)]);
    views.page(req, res, 'certificate-new', {
      title: 'New certificate', providers, directories, keyTypes, values: { keyType: DEFAULT_KEY_TYPE, renewalMode: 'fraction' }, errors: {}, ...extra,
    }, status);
  };

  router.get('/certificates/new', canChange, (req, res) => newForm(req, res));

  router.post('/certificates', canChange, async (req, res) => {
    const body = req.body as Body;
    const errors: Record<string, string> = {};
    const name = checkCertificateName(body['commonName']);
    if (!name.ok) errors['commonName'] = name.error;
    const provider = await getDnsProvider(deps.db, str(body, 'dnsProviderId'));
    if (!provider) errors['dnsProviderId'] = 'Choose a DNS provider (add one first under DNS providers).';
    const directory = await getAcmeDirectory(deps.db, /^\d{1,18}$/.test(str(body, 'acmeDirectoryId')) ? str(body, 'acmeDirectoryId') : '0');
    if (!directory) errors['acmeDirectoryId'] = 'Choose an ACME directory.';
    const keyType = str(body, 'keyType') || DEFAULT_KEY_TYPE;
    if (!isKeyType(keyType)) errors['keyType'] = 'Choose a key type from the list.';
    const policy = checkRenewalPolicy(body['renewalMode'], body['renewalValue']);
    if (!policy.ok) errors['renewalValue'] = policy.error;
    if (name.ok && (await liveCertificateExists(deps.db, name.name))) {
      errors['commonName'] = `A certificate for ${name.name} exists already.`;
    }
    if (!name.ok || !provider || !directory || !isKeyType(keyType) || !policy.ok || Object.keys(errors).length > 0) {
      const values = { commonName: str(body, 'commonName'), dnsProviderId: str(body, 'dnsProviderId'), acmeDirectoryId: str(body, 'acmeDirectoryId'), keyType, renewalMode: str(body, 'renewalMode'), renewalValue: str(body, 'renewalValue') };
      return newForm(req, res, { values, errors, formError: 'Please correct the fields marked below.' }, 400);
    }
    const fields = { commonName: name.name, dnsProviderId: provider.id, acmeDirectoryId: directory.id, keyType, renewalMode: policy.mode, renewalValue: policy.value };
    // The row and its schedule land together: if Temporal cannot take the schedule, nothing is stored.
    const id = await deps.db.withTransaction(async (tx) => {
      const newId = await insertCertificate(tx, fields);
      try {
        await upsertRenewalSchedule(client, { certificateId: newId, commonName: name.name, enabled: true }, deps.renewalSchedule);
      } catch (error) {
        deps.log.error({ err: error }, 'cannot create the renewal schedule');
        throw new HttpError(503, 'Temporal is unreachable, so the renewal schedule could not be created. Nothing was saved; try again.');
      }
      await audit(tx, req, { action: 'certificate.create', entityType: 'certificate', entityId: newId, after: auditView({ ...fields, enabled: true }) });
      return newId;
    });
    const started = await startLifecycle(client, id, 'create');
    if (started.started) await audit(deps.db, req, { action: 'certificate.issue', entityType: 'certificate', entityId: id, after: { runId: started.runId } });
    res.redirect(303, `/certificates/${id}`);
  });

  router.get('/certificates/:id', async (req, res) => {
    const cert = await load(req);
    const [versions, run, runs, providers, deployments] = await Promise.all([
      listVersions(deps.db, cert.id),
      describeLatestRun(client, cert.id, uiUrl, namespace).catch((error: unknown) => ({ exists: false, running: false, steps: [], queryError: `Temporal is unreachable: ${(error as Error).message}` })),
      listRuns(client, cert.id, uiUrl, namespace).catch(() => []),
      listDnsProviders(deps.db),
      listDeploymentsOfCertificate(deps.db, cert.id),
    ]);
    views.page(req, res, 'certificate', {
      deployments,
      title: cert.commonName,
      cert,
      versions: versions.map((v) => ({ id: v.id, serialHex: v.serialHex, fingerprintSha256: v.fingerprintSha256, notBefore: v.notBefore, notAfter: v.notAfter, keyType: v.keyType, createdAt: v.createdAt, current: v.id === cert.currentVersionId })),
      run,
      runs,
      providers,
      keyTypes,
      policyText: describePolicy(policyFromRow(cert.renewalMode, cert.renewalValue)),
    });
  });

  /** htmx fragment: re-polls itself while the run is in progress; reloads the page once when it ends. */
  router.get('/certificates/:id/progress', async (req, res) => {
    const cert = await load(req);
    const run = await describeLatestRun(client, cert.id, uiUrl, namespace);
    if (req.query['polling'] === '1' && !run.running) res.set('HX-Refresh', 'true');
    views.partial(res, 'progress', { cert, run });
  });

  router.post('/certificates/:id/renew', canChange, async (req, res) => {
    const cert = await load(req);
    const started = await startLifecycle(client, cert.id, 'manual');
    if (!started.started) throw new HttpError(409, started.reason);
    await audit(deps.db, req, { action: 'certificate.renew-now', entityType: 'certificate', entityId: cert.id, after: { runId: started.runId } });
    if (req.get('HX-Request') === 'true') {
      res.set('HX-Redirect', `/certificates/${cert.id}`).status(204).end();
      return;
    }
    res.redirect(303, `/certificates/${cert.id}`);
  });

  router.post('/certificates/:id/settings', canChange, async (req, res) => {
    const cert = await load(req);
    const body = req.body as Body;
    const errors: Record<string, string> = {};
    const provider = await getDnsProvider(deps.db, str(body, 'dnsProviderId'));
    if (!provider) errors['dnsProviderId'] = 'Choose a DNS provider.';
    const keyType = str(body, 'keyType');
    if (!isKeyType(keyType)) errors['keyType'] = 'Choose a key type from the list.';
    const policy = checkRenewalPolicy(body['renewalMode'], body['renewalValue']);
    if (!policy.ok) errors['renewalValue'] = policy.error;
    const enabled = body['enabled'] === 'on' || body['enabled'] === 'true';
    if (!provider || !isKeyType(keyType) || !policy.ok) {
      throw new HttpError(400, Object.values(errors).join(' '));
    }
    const after = { dnsProviderId: provider.id, keyType, renewalMode: policy.mode, renewalValue: policy.value, enabled };
    await deps.db.withTransaction(async (tx) => {
      await updateCertificateSettings(tx, cert.id, after);
      try {
        await upsertRenewalSchedule(client, { certificateId: cert.id, commonName: cert.commonName, enabled }, deps.renewalSchedule);
      } catch (error) {
        deps.log.error({ err: error }, 'cannot update the renewal schedule');
        throw new HttpError(503, 'Temporal is unreachable, so the renewal schedule could not be updated. Nothing was changed; try again.');
      }
      await audit(tx, req, { action: 'certificate.update', entityType: 'certificate', entityId: cert.id, before: auditView(cert), after: { commonName: cert.commonName, ...after } });
    });
    res.redirect(303, `/certificates/${cert.id}`);
  });

  router.post('/certificates/:id/delete', canChange, async (req, res) => {
    const cert = await load(req);
    if (str(req.body as Body, 'confirm') !== cert.commonName) {
      throw new HttpError(400, `Type the certificate name (${cert.commonName}) to confirm the deletion.`);
    }
    await deps.db.withTransaction(async (tx) => {
      await deleteCertificate(tx, cert.id);
      try {
        await deleteRenewalSchedule(client, cert.id);
      } catch (error) {
        deps.log.error({ err: error }, 'cannot delete the renewal schedule');
        throw new HttpError(503, 'Temporal is unreachable, so the renewal schedule could not be removed. Nothing was deleted; try again.');
      }
      await audit(tx, req, { action: 'certificate.delete', entityType: 'certificate', entityId: cert.id, before: auditView(cert) });
    });
    res.redirect(303, '/');
  });

  return router;
}
