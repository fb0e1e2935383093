import { Router, type Request, type Response } from 'express';
import { listCustomers } from '../../activities/db/repositories/customers';
import { listDnsProviders, redactDnsProvider } from '../../activities/db/repositories/dns-providers';
import { secretFields } from '../../activities/dns-providers/types';
import { descriptorOrFirst, providerKinds, providerView, renderProviderFields } from '../dns-provider-form';
import type { WebDeps } from '../deps';
import { canChange } from '../middleware/auth';
import type { Body, FieldErrors } from '../operations/input';
import {
  createDnsProvider,
  deleteDnsProvider,
  loadDnsProvider,
  updateDnsProvider,
  verifyDnsProvider,
} from '../operations/dns-providers';
import type { Views } from '../render';

/** Never echo a secret back into a form (the field rendering drops secret values too). */
const withoutSecrets = (body: Body, kind: unknown): Body => {
  const secret = new Set(secretFields(descriptorOrFirst(kind)).map((f) => f.name));
  return Object.fromEntries(Object.entries(body).filter(([key]) => !secret.has(key)));
};

export function dnsProviderRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const kinds = providerKinds();
  const checkOf = (id: string) => deps.commands.latestDnsProviderCheck(id);

  const list = async (
    req: Request,
    res: Response,
    form: { kind?: unknown; values?: Body; errors?: FieldErrors; formError?: string } = {},
    status = 200,
  ) => {
    const customers = await listCustomers(deps.db);
    const providers = (await listDnsProviders(deps.db)).map((p) => providerView(p, customers));
    const descriptor = descriptorOrFirst(form.kind ?? req.query['kind']);
    const values = form.values ?? {};
    const errors = form.errors ?? {};
    views.page(
      req,
      res,
      'dns-providers',
      {
        title: 'DNS providers',
        providers,
        kinds,
        kind: { id: descriptor.id, label: descriptor.label },
        customers,
        fields: renderProviderFields(descriptor, values, errors),
        values,
        errors,
        ...(form.formError ? { formError: form.formError } : {}),
      },
      status,
    );
  };

  const detail = async (
    req: Request,
    res: Response,
    values?: Body,
    errors: FieldErrors = {},
    status = 200,
    deleteError?: string,
  ) => {
    const provider = await loadDnsProvider(deps.db, req.params['id']);
    const customers = await listCustomers(deps.db);
    const shown = values ?? { name: provider.name, customerId: provider.customerId ?? '', ...provider.config };
    views.page(
      req,
      res,
      'dns-provider',
      {
        title: provider.name,
        provider: providerView(provider, customers),
        customers,
        fields: renderProviderFields(descriptorOrFirst(provider.kind), shown, errors, {
          editing: true,
          stored: provider.secretsSealed,
        }),
        values: shown,
        errors,
        check: await checkOf(provider.id),
        ...(status === 400 && !deleteError
          ? { formError: 'Please correct the fields marked below. Nothing was changed.' }
          : {}),
        ...(deleteError ? { deleteError } : {}),
      },
      status,
    );
  };

  router.get('/dns-providers', (req, res) => list(req, res));

  router.post('/dns-providers', canChange, async (req, res) => {
    const result = await createDnsProvider(deps, req, req.body as Body);
    const body = req.body as Body;
    if (!result.ok)
      return list(
        req,
        res,
        {
          kind: body['kind'],
          values: withoutSecrets(body, body['kind']),
          errors: result.errors,
          formError: 'Please correct the fields marked below.',
        },
        400,
      );
    res.redirect(303, '/dns-providers');
  });

  router.get('/dns-providers/:id', (req, res) => detail(req, res));

  router.post('/dns-providers/:id', canChange, async (req, res) => {
    const result = await updateDnsProvider(deps, req, req.params['id'], req.body as Body);
    if (!result.ok) {
      const kind = (await loadDnsProvider(deps.db, req.params['id'])).kind;
      return detail(req, res, withoutSecrets(req.body as Body, kind), result.errors, 400);
    }
    res.redirect(303, `/dns-providers/${result.value.id}`);
  });

  router.post('/dns-providers/:id/delete', canChange, async (req, res) => {
    const result = await deleteDnsProvider(deps, req, req.params['id'], req.body as Body);
    if (!result.ok) return detail(req, res, undefined, {}, 400, result.errors['confirm'] ?? 'Confirm the deletion.');
    res.redirect(303, '/dns-providers');
  });

  router.post('/dns-providers/:id/verify', canChange, async (req, res) => {
    const id = String(req.params['id']);
    await verifyDnsProvider(deps, req, id);
    res.redirect(303, `/dns-providers/${id}`);
  });

  /** htmx fragment: the latest credential check, polling itself while it runs. */
  router.get('/dns-providers/:id/check', async (req, res) => {
    const provider = await loadDnsProvider(deps.db, req.params['id']);
    views.partial(res, 'dns-check', { provider: redactDnsProvider(provider), check: await checkOf(provider.id) });
  });

  return router;
}
