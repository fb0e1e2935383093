import { Router, type Request, type Response } from 'express';
import { listAcmeAccounts } from '../../activities/db/repositories/acme-accounts';
import { listAcmeDirectories } from '../../activities/db/repositories/acme-directories';
import { listDirectoryPacing } from '../../activities/db/repositories/acme-order-slots';
import { saveDirectoryPacing } from '../operations/acme-pacing';
import { keyRolloversByDirectory } from '../../activities/db/repositories/acme-account-keys';
import { rollOverAccountKey } from '../operations/revocations';
import {
  allowedTargetNetworks,
  getSetting,
  SMTP_SETTING_KEY,
  type StoredSmtpSettings,
} from '../../activities/db/repositories/settings';
import { listUsers, ROLES } from '../../activities/db/repositories/users';
import { KEY_TYPE_LABELS, KEY_TYPES } from '../../activities/domain/key-types';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { adminOnly } from '../middleware/auth';
import { renewalDefaults } from '../operations/certificates';
import { checkbox, type Body, type FieldErrors } from '../operations/input';
import { readDirectoryProfiles, saveDirectoryOptions } from '../operations/acme-directories';
import {
  saveAcmeDirectory,
  saveRenewalDefaults,
  saveSmtpSettings,
  saveTargetNetworks,
  sendTestEmail,
} from '../operations/settings';
import {
  createUser,
  deleteUser,
  endSessions,
  loadUser,
  MIN_PASSWORD,
  publicUser,
  resetMfa,
  saveSecuritySettings,
  securitySettings,
  updateUser,
} from '../operations/users';
import type { Views } from '../render';
import { FORM_ERROR, formPage, formPost, type FormOperation, type Refused } from './form-page';

const TEST_EMAIL_ID = /^test-email:[0-9a-f-]{36}$/;

export function settingsRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  router.use('/settings', adminOnly);
  const keyTypes = KEY_TYPES.map((id) => ({ id, label: KEY_TYPE_LABELS[id] }));

  /** ACME directories and accounts, and the defaults of new certificates. */
  const acme = formPage(views, 'settings', async () => {
    const [directories, listed, defaults, rollovers, pacing] = await Promise.all([
      listAcmeDirectories(deps.db),
      listAcmeAccounts(deps.db),
      renewalDefaults(deps.db),
      keyRolloversByDirectory(deps.db),
      listDirectoryPacing(deps.db),
    ]);
    const names = new Map(directories.map((d) => [d.id, d.name]));
    const budgets = pacing.map((p) => ({
      ...p,
      name: names.get(p.directoryId),
      fallbackIds: p.fallbackDirectoryIds.join(', '),
      fallbackNames: p.fallbackDirectoryIds.map((id) => names.get(id) ?? id).join(' → '),
    }));
    const accounts = listed.map((a) => ({ ...a, keyRolledOverAt: rollovers.get(a.directoryId) ?? null }));
    return {
      title: 'Settings',
      tab: 'acme',
      directories,
      accounts,
      budgets,
      keyTypes,
      values: {},
      errors: {},
      defaults,
      defaultsErrors: {},
    };
  });

  router.get('/settings', (req, res) => acme(req, res));

  router.post('/settings/acme-directories', formPost(deps, acme, saveAcmeDirectory, '/settings'));

  /** A directory's rate-limit budgets (pacing) and fallback directories. */
  router.post('/settings/acme-directories/:id/pacing', async (req, res) => {
    const result = await saveDirectoryPacing(deps, req, req.params['id'], req.body as Body);
    if (!result.ok)
      return acme(req, res, { pacingErrors: result.errors, pacingFor: req.params['id'], formError: FORM_ERROR }, 400);
    res.redirect(303, '/settings');
  });

  /** ACME account key rollover (RFC 8555 §7.3.5): answered on the page within a few seconds, audited. */
  router.post('/settings/acme-directories/:id/key-rollover', async (req, res) => {
    const view = await rollOverAccountKey(deps, req, req.params['id']);
    const outcome =
      view.state === 'done'
        ? view.result.outcome === 'rolled-over'
          ? { rolloverNotice: 'The account key was rolled over: the CA now knows the account by its new key.' }
          : { rolloverError: `The key was not rolled over: ${view.result.reason}` }
        : view.state === 'error'
          ? { rolloverError: `The key rollover could not be checked: ${view.message}` }
          : { rolloverNotice: 'The key rollover is running; reload this page in a moment.' };
    return acme(req, res, outcome, 'rolloverError' in outcome ? 502 : 200);
  });

  router.post('/settings/acme-directories/:id/options', async (req, res) => {
    const id = req.params['id'];
    const result = await saveDirectoryOptions(deps, req, id, req.body as Body);
    if (!result.ok)
      return acme(req, res, { optionsFor: id, optionsErrors: result.errors, optionsFormError: FORM_ERROR }, 400);
    res.redirect(303, `/settings#directory-${result.value.id}`);
  });

  router.post('/settings/acme-directories/:id/read-profiles', async (req, res) => {
    const { directory, check } = await readDirectoryProfiles(deps, req.params['id']);
    const text =
      check.state === 'done'
        ? check.result.detail
        : check.state === 'error'
          ? check.message
          : `Reading the profiles of ${directory.name}; reload the page in a moment.`;
    const ok = check.state !== 'error' && (check.state !== 'done' || check.result.ok);
    return acme(req, res, { optionsFor: directory.id, readNotice: { ok, text } });
  });

  const refusedDefaults: Refused = (defaults, defaultsErrors) => ({
    defaults,
    defaultsErrors,
    defaultsFormError: FORM_ERROR,
  });
  router.post('/settings/renewal-defaults', formPost(deps, acme, saveRenewalDefaults, '/settings', refusedDefaults));

  const email = formPage(views, 'settings-email', async (req) => {
    const smtp = await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY);
    const smtpValues = smtp
      ? {
          host: smtp.host,
          port: String(smtp.port),
          secure: smtp.secure,
          username: smtp.username ?? '',
          from: smtp.from,
          recipients: smtp.recipients.join(', '),
          hasPassword: Boolean(smtp.passwordSealed),
          allowPasswordWithoutTls: smtp.allowPasswordWithoutTls === true,
        }
      : { port: '587' };
    const testId =
      typeof req.query['test'] === 'string' && TEST_EMAIL_ID.test(req.query['test']) ? req.query['test'] : undefined;
    return { title: 'Settings · Email', tab: 'email', smtpValues, smtpErrors: {}, testId };
  });

  router.get('/settings/email', (req, res) => email(req, res));

  /** A form sends a checkbox only when it is ticked. */
  const smtpCheckboxes = (body: Body) => ({
    secure: checkbox(body, 'secure'),
    allowPasswordWithoutTls: checkbox(body, 'allowPasswordWithoutTls'),
  });

  const saveSmtpForm: FormOperation<unknown> = (formDeps, actor, body) =>
    saveSmtpSettings(formDeps, actor, { ...body, ...smtpCheckboxes(body) });
  const refusedSmtp: Refused = (body, smtpErrors) => {
    const smtpValues = {
      host: body['host'],
      port: body['port'],
      ...smtpCheckboxes(body),
      username: body['username'],
      from: body['from'],
      recipients: body['recipients'],
    };
    return { smtpValues, smtpErrors, smtpFormError: FORM_ERROR };
  };
  router.post('/settings/email', formPost(deps, email, saveSmtpForm, '/settings/email', refusedSmtp));

  router.post('/settings/email/test', async (req, res) => {
    const { workflowId } = await sendTestEmail(deps, req);
    res.redirect(303, `/settings/email?test=${encodeURIComponent(workflowId)}`);
  });

  /** htmx fragment: the result of one test email, polling itself until it is sent or failed. */
  router.get('/settings/email/test', async (req, res) => {
    const workflowId =
      typeof req.query['id'] === 'string' && TEST_EMAIL_ID.test(req.query['id']) ? req.query['id'] : undefined;
    if (!workflowId) throw new HttpError(400, 'Unknown test email.');
    views.partial(res, 'test-email', { workflowId, check: await deps.commands.latestTestEmail(workflowId) });
  });

  const networks = formPage(views, 'settings-networks', async () => {
    const allowed = (await allowedTargetNetworks(deps.db)).join('\n');
    return { title: 'Settings · Networks', tab: 'networks', allowed, errors: {} };
  });

  router.get('/settings/networks', (req, res) => networks(req, res));

  const refusedNetworks: Refused = (body, errors) => {
    const allowed = typeof body['allowed'] === 'string' ? body['allowed'] : '';
    return { allowed, errors, formError: FORM_ERROR };
  };
  router.post(
    '/settings/networks',
    formPost(deps, networks, saveTargetNetworks, '/settings/networks', refusedNetworks),
  );

  const users = formPage(views, 'settings-users', async () => {
    const all = (await listUsers(deps.db)).map(publicUser);
    const { requireAdminMfa } = await securitySettings(deps.db);
    return {
      title: 'Settings · Users',
      tab: 'users',
      users: all,
      requireAdminMfa,
      roles: ROLES,
      minPassword: MIN_PASSWORD,
      values: { role: 'technician' },
      errors: {},
    };
  });

  router.get('/settings/users', (req, res) => users(req, res));

  const refusedUser: Refused = (body, errors) => ({ values: { ...body, password: '' }, errors, formError: FORM_ERROR });
  router.post('/settings/users', formPost(deps, users, createUser, '/settings/users', refusedUser));

  const userPage = async (req: Request, res: Response, errors: FieldErrors = {}, status = 200) => {
    const user = publicUser(await loadUser(deps.db, req.params['id']));
    views.page(
      req,
      res,
      'settings-user',
      {
        title: `User ${user.username}`,
        tab: 'users',
        account: user,
        roles: ROLES,
        minPassword: MIN_PASSWORD,
        errors,
        ...(status === 400 ? { formError: FORM_ERROR } : {}),
      },
      status,
    );
  };

  router.get('/settings/users/:id', (req, res) => userPage(req, res));

  router.post('/settings/users/:id', async (req, res) => {
    const body = req.body as Body;
    const result = await updateUser(deps, req, req.params['id'], {
      ...body,
      unlock: checkbox(body, 'unlock'),
      disabled: checkbox(body, 'disabled'),
    });
    if (!result.ok) return userPage(req, res, result.errors, 400);
    // An admin who changed their own account stays signed in here; their other sessions have ended.
    if (result.value.id === req.user?.id) req.session.credentialVersion = result.value.credentialVersion;
    res.redirect(303, `/settings/users/${result.value.id}`);
  });

  router.post('/settings/users/:id/end-sessions', async (req, res) => {
    const user = await endSessions(deps, req, req.params['id']);
    res.redirect(303, `/settings/users/${user.id}`);
  });

  router.post('/settings/users/:id/reset-mfa', async (req, res) => {
    const user = await resetMfa(deps, req, req.params['id']);
    res.redirect(303, `/settings/users/${user.id}`);
  });

  router.post('/settings/security', async (req, res) => {
    const result = await saveSecuritySettings(deps, req, {
      requireAdminMfa: checkbox(req.body as Body, 'requireAdminMfa'),
    });
    if (!result.ok) throw new HttpError(400, Object.values(result.errors).join(' '));
    res.redirect(303, '/settings/users');
  });

  router.post('/settings/users/:id/delete', async (req, res) => {
    await deleteUser(deps, req, req.params['id']);
    res.redirect(303, '/settings/users');
  });

  return router;
}
