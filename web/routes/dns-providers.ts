import { Router, type Request, type Response } from 'express';
import { listDnsProviders, redactDnsProvider } from '../../activities/db/repositories/dns-providers';
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
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

/** Never echo a token back into a form. */
const withoutToken = (body: Body): Body => ({ ...body, token: '' });

export function dnsProviderRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const kinds = Object.values(dnsProviderDescriptors).map((d) => ({ id: d.id, label: d.label, fields: d.fields }));
  const checkOf = (id: string) => deps.commands.latestDnsProviderCheck(id);

  const list = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const providers = (await listDnsProviders(deps.db)).map(redactDnsProvider);
    views.page(
      req,
      res,
      'dns-providers',
      { title: 'DNS providers', providers, kinds, values: {}, errors: {}, ...extra },
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
    const redacted = redactDnsProvider(provider);
    views.page(
      req,
      res,
      'dns-provider',
      {
        title: provider.name,
        provider: redacted,
        values: values ?? { name: provider.name, ...provider.config },
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
    if (!result.ok)
      return list(
        req,
        res,
        {
          values: withoutToken(req.body as Body),
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
    if (!result.ok) return detail(req, res, withoutToken(req.body as Body), result.errors, 400);
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

  /** htmx fragment: the latest token check, polling itself while it runs. */
  router.get('/dns-providers/:id/check', async (req, res) => {
    const provider = await loadDnsProvider(deps.db, req.params['id']);
    views.partial(res, 'dns-check', { provider: redactDnsProvider(provider), check: await checkOf(provider.id) });
  });

  return router;
}
