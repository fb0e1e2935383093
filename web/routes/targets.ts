import { Router, type Request, type Response } from 'express';
import { listCustomers } from '../../activities/db/repositories/customers';
import { listDeploymentsOfTarget } from '../../activities/db/repositories/deployments';
import { listTargets, redactTarget, type TargetRecord } from '../../activities/db/repositories/targets';
import { vendorDescriptors } from '../../activities/deployers/descriptors';
import { describeWindows, maintenanceStatus } from '../../activities/domain/maintenance-window';
import type { VendorDescriptor } from '../../activities/deployers/types';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { idParam, oneOf, searchText } from '../list-query';
import { canChange } from '../middleware/auth';
import type { Body, FieldErrors } from '../operations/input';
import {
  createTarget,
  deleteTarget,
  fetchTargetFingerprint,
  loadTarget,
  storedCredentialsOf,
  testTargetConnection,
  updateTarget,
  vendorOf,
  type TargetInput,
} from '../operations/targets';
import type { Views } from '../render';
import { pickErrors, pickGroup, renderFields, consoleVendors } from '../vendor-form';

const str = (body: Body, key: string): string => (typeof body[key] === 'string' ? body[key].trim() : '');

/** The console's flat form (cred_*, opt_* fields) as the operation's input. */
function inputFromForm(body: Body, vendor: VendorDescriptor): TargetInput {
  return {
    name: body['name'],
    customerId: body['customerId'],
    host: body['host'],
    port: body['port'],
    trustMode: body['trustMode'],
    trustFingerprint: body['trustFingerprint'],
    trustCaPem: body['trustCaPem'],
    credentials: pickGroup(body, 'cred', vendor.credentialFields),
    options: pickGroup(body, 'opt', vendor.optionFields),
    maintenanceTimeZone: body['maintenanceTimeZone'],
    maintenanceWindows: body['maintenanceWindows'],
  };
}

const TIME_ZONES = Intl.supportedValuesOf('timeZone');
const FETCH_FINGERPRINT_ID = /^fetch-fingerprint:[0-9a-f-]{36}$/;
/** How long "Fetch the fingerprint" waits for the worker before the fragment polls instead. */
const FETCH_FINGERPRINT_WAIT_MS = 2_000;

/** A refused form's values, shown again (secrets are never filled in: the form leaves them out). */
const refilled = (body: Body, vendor: VendorDescriptor): Body => ({
  ...body,
  name: str(body, 'name'),
  host: str(body, 'host'),
  port: str(body, 'port'),
  options: pickGroup(body, 'opt', vendor.optionFields),
});

export function targetRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  /** The form for a new target, or for editing one (`existing`): secrets are never filled in. */
  const form = async (
    req: Request,
    res: Response,
    vendor: VendorDescriptor,
    values: Body,
    errors: FieldErrors,
    existing?: TargetRecord,
    status = 200,
  ) => {
    const storedCredentials = existing ? (storedCredentialsOf(deps.box, existing) ?? {}) : {};
    views.page(
      req,
      res,
      'target-form',
      {
        title: existing ? `Edit ${existing.name}` : `New ${vendor.label} target`,
        vendors: consoleVendors,
        existing: existing && redactTarget(existing),
        vendor: {
          id: vendor.id,
          label: vendor.label,
          defaultPort: vendor.defaultPort,
          managementTls: vendor.managementTls !== false,
          manual: vendor.manual === true,
        },
        customers: await listCustomers(deps.db),
        timeZones: TIME_ZONES,
        values: { maintenanceTimeZone: 'UTC', ...values },
        errors,
        credentialFields: renderFields(
          'cred',
          vendor.credentialFields,
          existing && Object.keys(errors).length === 0
            ? storedCredentials
            : pickGroup(values, 'cred', vendor.credentialFields),
          pickErrors(errors, 'cred'),
        ),
        optionFields: renderFields(
          'opt',
          vendor.optionFields,
          (values['options'] as Record<string, unknown>) ?? pickGroup(values, 'opt', vendor.optionFields),
          pickErrors(errors, 'opt'),
        ),
        ...(Object.keys(errors).length ? { formError: 'Please correct the fields marked below.' } : {}),
      },
      status,
    );
  };

  router.get('/targets', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const filters = {
      customer: idParam(query, 'customer'),
      vendor: oneOf(query, 'vendor', Object.keys(vendorDescriptors)),
      q: searchText(query, 'q'),
    };
    const [targets, customers] = await Promise.all([
      listTargets(deps.db, {
        ...(filters.customer ? { customerId: filters.customer } : {}),
        ...(filters.vendor ? { vendor: filters.vendor } : {}),
        ...(filters.q ? { q: filters.q } : {}),
      }),
      listCustomers(deps.db),
    ]);
    views.page(req, res, 'targets', {
      title: 'Targets',
      targets: targets.map(redactTarget),
      vendors: consoleVendors,
      customers,
      filters,
    });
  });

  // Before /targets/:id. htmx: the certificate the address typed into the form presents, to pin it.
  router.post('/targets/fetch-fingerprint', canChange, async (req, res) => {
    const { workflowId } = await fetchTargetFingerprint(deps, req, req.body as Body);
    views.partial(res, 'fingerprint', {
      workflowId,
      check: await deps.commands.fetchedFingerprint(workflowId, FETCH_FINGERPRINT_WAIT_MS),
    });
  });

  router.get('/targets/fetch-fingerprint', canChange, async (req, res) => {
    const workflowId =
      typeof req.query['id'] === 'string' && FETCH_FINGERPRINT_ID.test(req.query['id']) ? req.query['id'] : undefined;
    if (!workflowId) throw new HttpError(400, 'Unknown fingerprint request.');
    views.partial(res, 'fingerprint', { workflowId, check: await deps.commands.fetchedFingerprint(workflowId) });
  });

  router.get('/targets/new', canChange, async (req, res) => {
    const vendor = vendorOf(req.query['vendor']) ?? vendorOf(consoleVendors[0]?.id);
    if (!vendor) throw new HttpError(404, 'No target vendors are available.');
    await form(
      req,
      res,
      vendor,
      { port: String(vendor.defaultPort), trustMode: 'fingerprint', customerId: req.query['customer'] },
      {},
    );
  });

  router.post('/targets', canChange, async (req, res) => {
    const body = req.body as Body;
    const vendor = vendorOf(body['vendor']);
    if (!vendor)
      throw new HttpError(
        400,
        `Unknown target vendor "${String(body['vendor']).slice(0, 40)}". Choose one of: ${consoleVendors.map((v) => v.id).join(', ')}.`,
      );
    const result = await createTarget(deps, req, vendor.id, inputFromForm(body, vendor));
    if (!result.ok) return form(req, res, vendor, refilled(body, vendor), result.errors, undefined, 400);
    res.redirect(303, `/targets/${result.value.id}`);
  });

  const detail = async (req: Request, res: Response, deleteError?: string) => {
    const target = await loadTarget(deps.db, req.params['id']);
    const [deployments, preflight] = await Promise.all([
      listDeploymentsOfTarget(deps.db, target.id),
      deps.commands.latestPreflight(target.id),
    ]);
    views.page(
      req,
      res,
      'target',
      {
        title: target.name,
        target: redactTarget(target),
        vendorLabel: vendorOf(target.vendor)?.label ?? target.vendor,
        deployments,
        preflight,
        maintenance: target.maintenance
          ? {
              timeZone: target.maintenance.timeZone,
              lines: describeWindows(target.maintenance).split('\n'),
              next: maintenanceStatus(target.maintenance, new Date()),
            }
          : undefined,
        ...(deleteError ? { deleteError } : {}),
      },
      deleteError ? 400 : 200,
    );
  };

  router.get('/targets/:id', (req, res) => detail(req, res));

  router.get('/targets/:id/edit', canChange, async (req, res) => {
    const target = await loadTarget(deps.db, req.params['id']);
    const vendor = vendorOf(target.vendor);
    if (!vendor) throw new HttpError(409, `Target vendor "${target.vendor}" is not supported by this version.`);
    const values = {
      name: target.name,
      host: target.host,
      port: String(target.port),
      customerId: target.customerId,
      options: target.options,
      trustMode: target.trustCaPem ? 'ca' : 'fingerprint',
      trustFingerprint: target.trustFingerprint ?? '',
      trustCaPem: target.trustCaPem ?? '',
      maintenanceTimeZone: target.maintenance?.timeZone ?? 'UTC',
      maintenanceWindows: describeWindows(target.maintenance),
    };
    await form(req, res, vendor, values, {}, target);
  });

  router.post('/targets/:id', canChange, async (req, res) => {
    const target = await loadTarget(deps.db, req.params['id']);
    const vendor = vendorOf(target.vendor);
    if (!vendor) throw new HttpError(409, `Target vendor "${target.vendor}" is not supported by this version.`);
    const body = req.body as Body;
    const result = await updateTarget(deps, req, target.id, inputFromForm(body, vendor));
    if (!result.ok) return form(req, res, vendor, refilled(body, vendor), result.errors, target, 400);
    res.redirect(303, `/targets/${target.id}`);
  });

  router.post('/targets/:id/delete', canChange, async (req, res) => {
    const result = await deleteTarget(deps, req, req.params['id'], req.body as Body);
    if (!result.ok) return detail(req, res, result.errors['confirm'] ?? 'Confirm the deletion.');
    res.redirect(303, '/targets');
  });

  /** htmx fragment: the latest connection test, polling itself while it runs. */
  router.get('/targets/:id/preflight', async (req, res) => {
    const target = await loadTarget(deps.db, req.params['id']);
    views.partial(res, 'preflight', {
      target: redactTarget(target),
      preflight: await deps.commands.latestPreflight(target.id),
    });
  });

  router.post('/targets/:id/preflight', canChange, async (req, res) => {
    await testTargetConnection(deps, req, req.params['id']);
    res.redirect(303, `/targets/${String(req.params['id'])}`);
  });

  return router;
}
