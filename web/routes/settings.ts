import { Router } from 'express';
import { listAcmeDirectories, upsertAcmeDirectory } from '../../activities/db/repositories/acme-directories';
import { getSetting, putSetting, SMTP_SETTING_KEY, type StoredSmtpSettings } from '../../activities/db/repositories/settings';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { checkSmtpForm } from '../../activities/domain/smtp-settings';
import { checkCaBundle } from '../../activities/domain/target-input';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { adminOnly } from '../middleware/auth';
import type { Views } from '../render';

export function settingsRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  const show = async (req: Parameters<Views['page']>[0], res: Parameters<Views['page']>[1], extra: Record<string, unknown> = {}, status = 200) => {
    const [directories, smtp] = await Promise.all([listAcmeDirectories(deps.db), getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY)]);
    const smtpValues = smtp
      ? { host: smtp.host, port: String(smtp.port), secure: smtp.secure, username: smtp.username ?? '', from: smtp.from, recipients: smtp.recipients.join(', '), hasPassword: Boolean(smtp.passwordSealed) }
      : { port: '587' };
    views.page(req, res, 'settings', { title: 'Settings', directories, values: {}, errors: {}, smtpValues, smtpErrors: {}, ...extra }, status);
  };

  router.get('/settings', adminOnly, (req, res) => show(req, res));

  router.post('/settings/acme-directories', adminOnly, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const name = typeof body['name'] === 'string' ? body['name'].trim() : '';
    const url = typeof body['url'] === 'string' ? body['url'].trim() : '';
    const errors: Record<string, string> = {};
    const directories = await listAcmeDirectories(deps.db);
    if (name.length < 1 || name.length > 64 || /[\r\n]/.test(name)) errors['name'] = 'Give the directory a name of 1 to 64 characters.';
    else if (directories.some((d) => d.name === name && d.url !== url)) errors['name'] = 'Another directory has this name already.';
    if (directories.some((d) => d.builtin && d.url === url)) errors['url'] = 'This is a built-in directory; it cannot be changed.';
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

  router.post('/settings/email', adminOnly, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const checked = checkSmtpForm(body);
    if (!checked.ok) {
      const smtpValues = { host: body['host'], port: body['port'], secure: body['secure'] === 'on', username: body['username'], from: body['from'], recipients: body['recipients'] };
      return show(req, res, { smtpValues, smtpErrors: checked.errors, smtpFormError: 'Please correct the fields marked below.' }, 400);
    }
    const form = checked.value;
    const previous = await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY);
    const passwordSealed = form.password ? deps.box.seal(form.password, SecretPurpose.smtpPassword) : form.username ? previous?.passwordSealed : undefined;
    const stored: StoredSmtpSettings = {
      host: form.host, port: form.port, secure: form.secure, from: form.from, recipients: form.recipients,
      ...(form.username ? { username: form.username } : {}),
      ...(passwordSealed ? { passwordSealed } : {}),
    };
    await putSetting(deps.db, SMTP_SETTING_KEY, stored);
    const redacted = { ...stored, passwordSealed: passwordSealed ? '(sealed)' : undefined };
    await audit(deps.db, req, { action: 'settings.email', entityType: 'settings', entityId: SMTP_SETTING_KEY, after: redacted });
    res.redirect(303, '/settings');
  });

  return router;
}
