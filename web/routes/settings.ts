import { X509Certificate } from 'node:crypto';
import { Router } from 'express';
import { listAcmeDirectories, upsertAcmeDirectory } from '../../activities/db/repositories/acme-directories';
import { splitPemChain } from '../../activities/crypto/pem';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { adminOnly } from '../middleware/auth';
import type { Views } from '../render';

/** Validates a CA bundle: one or more PEM certificates, nothing else. */
export function checkCaBundle(text: string): { ok: true; pem: string | null } | { ok: false; error: string } {
  const trimmed = text.trim();
  if (!trimmed) return { ok: true, pem: null };
  const certs = splitPemChain(trimmed);
  if (certs.length === 0) return { ok: false, error: 'Paste one or more PEM certificates (-----BEGIN CERTIFICATE-----).' };
  if (trimmed.replace(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g, '').trim() !== '') {
    return { ok: false, error: 'The CA bundle may only contain PEM certificates.' };
  }
  for (const pem of certs) {
    try {
      new X509Certificate(pem);
    } catch {
      return { ok: false, error: 'One of the certificates in the CA bundle cannot be parsed.' };
    }
  }
  return { ok: true, pem: certs.join('') };
}

export function settingsRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  const show = async (req: Parameters<Views['page']>[0], res: Parameters<Views['page']>[1], extra: Record<string, unknown> = {}, status = 200) => {
    const directories = await listAcmeDirectories(deps.db);
    views.page(req, res, 'settings', { title: 'Settings', directories, values: {}, errors: {}, ...extra }, status);
  };

  router.get('/settings', adminOnly, (req, res) => show(req, res));

  router.post('/settings/acme-directories', adminOnly, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const name = typeof body['name'] === 'string' ? body['name'].trim() : '';
    const url = typeof body['url'] === 'string' ? body['url'].trim() : '';
    const errors: Record<string, string> = {};
    if (name.length < 1 || name.length > 64) errors['name'] = 'Give the directory a name of 1 to 64 characters.';
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.protocol !== 'https:' || parsed.username || parsed.password) errors['url'] = 'Enter the https:// URL of the ACME directory.';
    const bundle = checkCaBundle(typeof body['caBundlePem'] === 'string' ? body['caBundlePem'] : '');
    if (!bundle.ok) errors['caBundlePem'] = bundle.error;
    if (Object.keys(errors).length > 0 || !bundle.ok) {
      return show(req, res, { values: { name, url, caBundlePem: body['caBundlePem'] }, errors, formError: 'Please correct the fields marked below.' }, 400);
    }
    const directory = await upsertAcmeDirectory(deps.db, { name, url, caBundlePem: bundle.pem });
    await audit(deps.db, req, { action: 'acme-directory.upsert', entityType: 'acme_directory', entityId: directory.id, after: { name, url, caBundle: bundle.pem ? 'set' : 'none' } });
    res.redirect(303, '/settings');
  });

  return router;
}
