/** API: customers, DNS providers and targets. */
import type { Router } from 'express';
import { listCustomerSummaries } from '../../activities/db/repositories/customers';
import { listDeploymentsOfTarget } from '../../activities/db/repositories/deployments';
import { listDnsProviders, redactDnsProvider } from '../../activities/db/repositories/dns-providers';
import { listTargets, redactTarget } from '../../activities/db/repositories/targets';
import { vendorDescriptors } from '../../activities/deployers/descriptors';
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
import { describeWindows } from '../../activities/domain/maintenance-window';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { idParam, oneOf, searchText } from '../list-query';
import { canChange } from '../middleware/auth';
import { createCustomer, deleteCustomer, loadCustomer, updateCustomer } from '../operations/customers';
import * as dnsProviderOps from '../operations/dns-providers';
import {
  createTarget,
  deleteTarget,
  loadTarget,
  testTargetConnection,
  updateTarget,
  vendorOf,
  type TargetInput,
} from '../operations/targets';
import { groupFromJson } from '../vendor-form';
import { API_PREFIX, jsonBody, objectField, refuseUnchangeable, reply } from './support';
import { deviceErrorsFor } from '../device-errors';

const P = API_PREFIX;

/** `maintenance`: null (any time) or {timeZone, windows: ["sat,sun 02:00-05:00", …]}; absent: unchanged. */
function maintenanceOf(body: Record<string, unknown>): Pick<TargetInput, 'maintenanceTimeZone' | 'maintenanceWindows'> {
  if (!('maintenance' in body)) return {};
  if (body['maintenance'] === null) return { maintenanceWindows: '' };
  const m = objectField(body, 'maintenance');
  const windows = m['windows'];
  return {
    maintenanceTimeZone: m['timeZone'],
    // A non-string entry makes the whole value invalid (a 400), never silently dropped.
    maintenanceWindows: Array.isArray(windows)
      ? windows.map((w) => (typeof w === 'string' ? w : '?')).join('\n')
      : windows,
  };
}

export function inventoryApi(router: Router, deps: WebDeps): void {
  // Customers
  router.get(`${P}/customers`, async (_req, res) => {
    res.json({ customers: await listCustomerSummaries(deps.db) });
  });
  router.post(`${P}/customers`, canChange, async (req, res) =>
    reply(res, 201, await createCustomer(deps, req, jsonBody(req))),
  );
  router.get(`${P}/customers/:id`, async (req, res) => {
    res.json(await loadCustomer(deps.db, req.params['id']));
  });
  router.patch(`${P}/customers/:id`, canChange, async (req, res) => {
    const before = await loadCustomer(deps.db, req.params['id']);
    const body = jsonBody(req);
    refuseUnchangeable(body, ['name', 'notes', 'alertRecipients']);
    reply(
      res,
      200,
      await updateCustomer(deps, req, before.id, {
        name: before.name,
        notes: before.notes,
        alertRecipients: before.alertRecipients,
        ...body,
      }),
    );
  });
  router.delete(`${P}/customers/:id`, canChange, async (req, res) => {
    await deleteCustomer(deps, req, req.params['id']);
    res.status(204).end();
  });

  // DNS providers (tokens are write-only)
  router.get(`${P}/dns-providers`, async (_req, res) => {
    res.json({ dnsProviders: (await listDnsProviders(deps.db)).map(redactDnsProvider) });
  });
  // Fields go flat (`token`, `zoneName`) or grouped (`config: {…}`, `secrets: {…}`), as the descriptor names them.
  const providerBody = (body: Record<string, unknown>): Record<string, unknown> => {
    const { config: _config, secrets: _secrets, ...rest } = body;
    return { ...objectField(body, 'config'), ...objectField(body, 'secrets'), ...rest };
  };
  router.post(`${P}/dns-providers`, canChange, async (req, res) =>
    reply(res, 201, await dnsProviderOps.createDnsProvider(deps, req, providerBody(jsonBody(req))), redactDnsProvider),
  );
  router.get(`${P}/dns-providers/:id`, async (req, res) => {
    res.json(redactDnsProvider(await dnsProviderOps.loadDnsProvider(deps.db, req.params['id'])));
  });
  router.patch(`${P}/dns-providers/:id`, canChange, async (req, res) => {
    const before = await dnsProviderOps.loadDnsProvider(deps.db, req.params['id']);
    const body = jsonBody(req);
    const fields = dnsProviderDescriptors[before.kind]?.fields ?? [];
    const configKeys = fields.filter((f) => !f.secret).map((f) => f.name);
    const secretKeys = fields.filter((f) => f.secret).map((f) => f.name);
    refuseUnchangeable(body, ['name', 'kind', 'customerId', 'config', 'secrets', ...configKeys, ...secretKeys], {
      config: configKeys,
      secrets: secretKeys,
    });
    reply(
      res,
      200,
      await dnsProviderOps.updateDnsProvider(deps, req, before.id, {
        name: before.name,
        ...before.config,
        ...providerBody(body),
      }),
      redactDnsProvider,
    );
  });
  router.delete(`${P}/dns-providers/:id`, canChange, async (req, res) => {
    await dnsProviderOps.deleteDnsProvider(deps, req, req.params['id']);
    res.status(204).end();
  });
  router.post(`${P}/dns-providers/:id/verify`, canChange, async (req, res) => {
    res.status(202).json(await dnsProviderOps.verifyDnsProvider(deps, req, req.params['id']));
  });
  router.get(`${P}/dns-providers/:id/verify`, async (req, res) => {
    const provider = await dnsProviderOps.loadDnsProvider(deps.db, req.params['id']);
    res.json(await deps.commands.latestDnsProviderCheck(provider.id));
  });

  // Targets (credentials are write-only)
  const targetInput = (
    body: Record<string, unknown>,
    vendorId: string,
    base: Partial<TargetInput> = {},
  ): TargetInput => {
    const vendor = vendorOf(vendorId);
    const trust = objectField(body, 'trust');
    return {
      ...base,
      ...Object.fromEntries(
        ['name', 'customerId', 'host', 'port'].filter((k) => body[k] !== undefined).map((k) => [k, body[k]]),
      ),
      ...(trust['fingerprintSha256'] !== undefined
        ? { trustMode: 'fingerprint', trustFingerprint: trust['fingerprintSha256'] }
        : {}),
      ...(trust['caPem'] !== undefined ? { trustMode: 'ca', trustCaPem: trust['caPem'] } : {}),
      ...maintenanceOf(body),
      credentials: vendor ? groupFromJson(objectField(body, 'credentials'), vendor.credentialFields) : {},
      options: vendor ? { ...base.options, ...groupFromJson(objectField(body, 'options'), vendor.optionFields) } : {},
    };
  };
  router.get(`${P}/targets`, async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const customerId = idParam(query, 'customer');
    const vendor = oneOf(query, 'vendor', Object.keys(vendorDescriptors));
    const q = searchText(query, 'q');
    res.json({
      targets: (
        await listTargets(deps.db, {
          ...(customerId ? { customerId } : {}),
          ...(vendor ? { vendor } : {}),
          ...(q ? { q } : {}),
        })
      ).map(redactTarget),
    });
  });
  router.post(`${P}/targets`, canChange, async (req, res) => {
    const body = jsonBody(req);
    const vendorId = typeof body['vendor'] === 'string' ? body['vendor'] : '';
    reply(res, 201, await createTarget(deps, req, vendorId, targetInput(body, vendorId)), redactTarget);
  });
  router.get(`${P}/targets/:id`, async (req, res) => {
    const target = await loadTarget(deps.db, req.params['id']);
    res.json({ ...redactTarget(target), deployments: await listDeploymentsOfTarget(deps.db, target.id) });
  });
  router.patch(`${P}/targets/:id`, canChange, async (req, res) => {
    const before = await loadTarget(deps.db, req.params['id']);
    const body = jsonBody(req);
    const vendor = vendorOf(before.vendor);
    refuseUnchangeable(
      body,
      ['vendor', 'name', 'customerId', 'host', 'port', 'trust', 'credentials', 'options', 'maintenance'],
      {
        trust: ['fingerprintSha256', 'caPem'],
        credentials: (vendor?.credentialFields ?? []).map((f) => f.name),
        options: (vendor?.optionFields ?? []).map((f) => f.name),
      },
    );
    if (body['vendor'] !== undefined && body['vendor'] !== before.vendor)
      throw new HttpError(400, 'The vendor of a target cannot change; add a new target instead.');
    const base: Partial<TargetInput> = {
      maintenanceTimeZone: before.maintenance?.timeZone,
      maintenanceWindows: describeWindows(before.maintenance),
      name: before.name,
      customerId: before.customerId,
      host: before.host,
      port: before.port,
      options: before.options,
      ...(before.trustCaPem
        ? { trustMode: 'ca', trustCaPem: before.trustCaPem }
        : { trustMode: 'fingerprint', trustFingerprint: before.trustFingerprint ?? '' }),
    };
    reply(res, 200, await updateTarget(deps, req, before.id, targetInput(body, before.vendor, base)), redactTarget);
  });
  router.delete(`${P}/targets/:id`, canChange, async (req, res) => {
    await deleteTarget(deps, req, req.params['id']);
    res.status(204).end();
  });
  router.post(`${P}/targets/:id/test-connection`, canChange, async (req, res) => {
    await testTargetConnection(deps, req, req.params['id']);
    res.status(202).json({ started: true });
  });
  router.get(`${P}/targets/:id/test-connection`, async (req, res) => {
    const target = await loadTarget(deps.db, req.params['id']);
    res.json(deviceErrorsFor(await deps.commands.latestPreflight(target.id), req.user?.role === 'admin'));
  });
}
