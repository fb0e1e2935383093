import { Router, type Request, type Response } from 'express';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { listDeploymentsOfTarget } from '../../activities/db/repositories/deployments';
import { getTarget, insertTarget, listTargets, liveTargetNameExists, redactTarget } from '../../activities/db/repositories/targets';
import { vendorDescriptors } from '../../activities/deployers/descriptors';
import type { VendorDescriptor } from '../../activities/deployers/types';
import { checkHost, checkPort, checkTrust } from '../../activities/domain/target-input';
import { audit } from '../audit';
import { latestPreflight, startPreflight } from '../deploy-commands';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { canChange } from '../middleware/auth';
import type { Views } from '../render';
import { pickGroup, renderFields, vendorList } from '../vendor-form';

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._()-]{0,63}$/u;
type Body = Record<string, unknown>;
const str = (body: Body, key: string): string => (typeof body[key] === 'string' ? (body[key] as string).trim() : '');

export function targetRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const vendors = vendorList(vendorDescriptors);

  const vendorOf = (id: unknown): VendorDescriptor | undefined => (typeof id === 'string' ? vendorDescriptors[id] : undefined);

  const form = (req: Request, res: Response, vendor: VendorDescriptor, values: Body, errors: Record<string, string>, status = 200) =>
    views.page(req, res, 'target-new', {
      title: `New ${vendor.label} target`,
      vendors,
      vendor: { id: vendor.id, label: vendor.label, defaultPort: vendor.defaultPort, managementTls: vendor.managementTls !== false, manual: vendor.manual === true },
      values,
      errors,
      credentialFields: renderFields('cred', vendor.credentialFields, {}, pickErrors(errors, 'cred')),
      optionFields: renderFields('opt', vendor.optionFields, (values['options'] as Record<string, unknown>) ?? {}, pickErrors(errors, 'opt')),
      ...(Object.keys(errors).length ? { formError: 'Please correct the fields marked below.' } : {}),
    }, status);

  router.get('/targets', async (req, res) => {
    const targets = (await listTargets(deps.db)).map(redactTarget);
    views.page(req, res, 'targets', { title: 'Targets', targets, vendors });
  });

  router.get('/targets/new', canChange, (req, res) => {
    const vendor = vendorOf(req.query['vendor']) ?? vendorOf(vendors[0]?.id);
    if (!vendor) throw new HttpError(404, 'No target vendors are available.');
    form(req, res, vendor, { port: String(vendor.defaultPort), trustMode: 'fingerprint' }, {});
  });

  router.post('/targets', canChange, async (req, res) => {
    const body = req.body as Body;
    const vendor = vendorOf(body['vendor']);
    if (!vendor) throw new HttpError(400, `Unknown target vendor "${String(body['vendor']).slice(0, 40)}". Choose one of: ${vendors.map((v) => v.id).join(', ')}.`);
    const errors: Record<string, string> = {};
    const name = str(body, 'name');
    if (!NAME.test(name)) errors['name'] = 'Give the target a name of 1 to 64 letters, digits, spaces, dots, dashes or brackets.';
    else if (await liveTargetNameExists(deps.db, name)) errors['name'] = 'A target with this name exists already.';
    // Manual targets have no address; SSH vendors pin their host key in the options, not a TLS trust.
    const host = vendor.manual ? ({ ok: true, host: '' } as const) : checkHost(body['host']);
    if (!host.ok) errors['host'] = host.error;
    const port = checkPort(body['port'], vendor.defaultPort);
    if (!port.ok) errors['port'] = port.error;
    const trust = vendor.managementTls === false ? ({ ok: true, caPem: null, fingerprint: null } as const) : checkTrust(body['trustMode'], body['trustCaPem'], body['trustFingerprint']);
    if (!trust.ok) errors['trust'] = trust.error;
    const credentials = vendor.parseCredentials(pickGroup(body, 'cred', vendor.credentialFields));
    for (const [k, v] of Object.entries(credentials.errors)) errors[`cred_${k}`] = v;
    const options = vendor.parseOptions(pickGroup(body, 'opt', vendor.optionFields));
    for (const [k, v] of Object.entries(options.errors)) errors[`opt_${k}`] = v;
    if (!host.ok || !port.ok || !trust.ok || Object.keys(errors).length > 0) {
      const values = { name, host: str(body, 'host'), port: str(body, 'port'), trustMode: body['trustMode'], trustFingerprint: str(body, 'trustFingerprint'), trustCaPem: body['trustCaPem'], options: pickGroup(body, 'opt', vendor.optionFields) };
      return form(req, res, vendor, values, errors, 400);
    }
    const id = await insertTarget(deps.db, {
      name,
      vendor: vendor.id,
      host: host.host,
      port: port.port,
      credentialsSealed: deps.box.seal(JSON.stringify(credentials.value), SecretPurpose.targetCredentials),
      options: options.value,
      trustCaPem: trust.caPem,
      trustFingerprint: trust.fingerprint,
    });
    const created = await getTarget(deps.db, id);
    await audit(deps.db, req, { action: 'target.create', entityType: 'target', entityId: id, after: created ? redactTarget(created) : { name } });
    res.redirect(303, `/targets/${id}`);
  });

  const load = async (req: Request) => {
    const id = req.params['id'];
    const target = typeof id === 'string' ? await getTarget(deps.db, id) : undefined;
    if (!target) throw new HttpError(404, 'No such target.');
    return target;
  };

  router.get('/targets/:id', async (req, res) => {
    const target = await load(req);
    const [deployments, preflight] = await Promise.all([
      listDeploymentsOfTarget(deps.db, target.id),
      latestPreflight(deps.temporal.client, target.id).catch((error: unknown) => ({ state: 'error' as const, message: (error as Error).message })),
    ]);
    views.page(req, res, 'target', { title: target.name, target: redactTarget(target), vendorLabel: vendorOf(target.vendor)?.label ?? target.vendor, deployments, preflight });
  });

  /** htmx fragment: the latest connection test, polling itself while it runs. */
  router.get('/targets/:id/preflight', async (req, res) => {
    const target = await load(req);
    views.partial(res, 'preflight', { target: redactTarget(target), preflight: await latestPreflight(deps.temporal.client, target.id) });
  });

  router.post('/targets/:id/preflight', canChange, async (req, res) => {
    const target = await load(req);
    const started = await startPreflight(deps.temporal.client, target.id);
    if (!started.ok) throw new HttpError(409, started.reason);
    await audit(deps.db, req, { action: 'target.test-connection', entityType: 'target', entityId: target.id });
    res.redirect(303, `/targets/${target.id}`);
  });

  return router;
}

function pickErrors(errors: Record<string, string>, group: string): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).filter(([k]) => k.startsWith(`${group}_`)).map(([k, v]) => [k.slice(group.length + 1), v]));
}
