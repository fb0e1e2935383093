import { Router } from 'express';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { findDnsProviderByName, insertDnsProvider, listDnsProviders, redactDnsProvider } from '../../activities/db/repositories/dns-providers';
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { canChange } from '../middleware/auth';
import type { Views } from '../render';

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u;

export function dnsProviderRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const kinds = Object.values(dnsProviderDescriptors).map((d) => ({ id: d.id, label: d.label, fields: d.fields }));

  const show = async (req: Parameters<Views['page']>[0], res: Parameters<Views['page']>[1], extra: Record<string, unknown> = {}, status = 200) => {
    const providers = (await listDnsProviders(deps.db)).map(redactDnsProvider);
    views.page(req, res, 'dns-providers', { title: 'DNS providers', providers, kinds, values: {}, errors: {}, ...extra }, status);
  };

  router.get('/dns-providers', async (req, res) => show(req, res));

  router.post('/dns-providers', canChange, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const errors: Record<string, string> = {};
    const name = typeof body['name'] === 'string' ? body['name'].trim() : '';
    const kind = typeof body['kind'] === 'string' ? body['kind'] : 'cloudflare';
    const token = typeof body['token'] === 'string' ? body['token'].trim() : '';
    if (!NAME.test(name)) errors['name'] = 'Give the provider a name of 1 to 64 letters, digits, spaces, dots, dashes or underscores.';
    else if (await findDnsProviderByName(deps.db, name)) errors['name'] = 'A provider with this name exists already.';
    const descriptor = dnsProviderDescriptors[kind];
    if (!descriptor) errors['kind'] = 'Choose a supported DNS provider.';
    if (!token) errors['token'] = 'Enter the API token.';
    else if (token.length > 512 || /\s/.test(token)) errors['token'] = 'That does not look like an API token.';
    const parsed = descriptor ? descriptor.parseConfig(body) : { config: {}, errors: {} };
    Object.assign(errors, parsed.errors);
    if (Object.keys(errors).length > 0) {
      const values = { name, kind, zoneName: body['zoneName'], zoneId: body['zoneId'], apiBaseUrl: body['apiBaseUrl'] };
      return show(req, res, { values, errors, formError: 'Please correct the fields marked below.' }, 400);
    }
    const provider = await insertDnsProvider(deps.db, { name, kind, config: parsed.config, tokenSealed: deps.box.seal(token, SecretPurpose.dnsProviderToken) });
    await audit(deps.db, req, { action: 'dns-provider.create', entityType: 'dns_provider', entityId: provider.id, after: redactDnsProvider(provider) });
    res.redirect(303, '/dns-providers');
  });

  return router;
}
