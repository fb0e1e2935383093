/** API: who am I, the dashboard summary, the audit log, and (admins) users and settings. */
import type { Router } from 'express';
import { listAcmeAccounts } from '../../activities/db/repositories/acme-accounts';
import { listAcmeDirectories } from '../../activities/db/repositories/acme-directories';
import { listApiTokensOfUser } from '../../activities/db/repositories/api-tokens';
import { listAudit } from '../../activities/db/repositories/audit-log';
import {
  allowedTargetNetworks,
  getSetting,
  SMTP_SETTING_KEY,
  type StoredSmtpSettings,
} from '../../activities/db/repositories/settings';
import { listUsers } from '../../activities/db/repositories/users';
import { dashboardSummary } from '../dashboard-summary';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { idParam } from '../list-query';
import { adminOnly } from '../middleware/auth';
import { revokeApiToken } from '../operations/api-tokens';
import { renewalDefaults } from '../operations/certificates';
import { readDirectoryProfiles, saveDirectoryOptions } from '../operations/acme-directories';
import * as settings from '../operations/settings';
import * as users from '../operations/users';
import { auditFilterOf } from '../routes/audit';
import { API_PREFIX, jsonBody, refuseUnchangeable, reply } from './support';

const P = API_PREFIX;

export function adminApi(router: Router, deps: WebDeps): void {
  router.get(`${P}/me`, async (req, res) => {
    const me = req.user;
    res.json({ user: me, tokens: me ? await listApiTokensOfUser(deps.db, me.id) : [] });
  });
  router.delete(`${P}/me/tokens/:id`, async (req, res) => {
    await revokeApiToken(deps, req, req.params['id']);
    res.status(204).end();
  });

  router.get(`${P}/dashboard`, async (req, res) => {
    const customerId = idParam(req.query, 'customer');
    const { failing, renewals, ...summary } = await dashboardSummary(deps.db, customerId, { lists: 20, watch: 50 });
    res.json({ ...summary, failingDeployments: failing, upcomingRenewals: renewals });
  });

  router.get(`${P}/audit`, async (req, res) => {
    const { filter } = auditFilterOf(req);
    const before = idParam(req.query, 'before');
    const raw = req.query['limit'];
    const limit = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Math.min(1000, Math.max(1, Number(raw))) : 100;
    const entries = await listAudit(deps.db, { ...filter, ...(before ? { beforeId: before } : {}), limit });
    res.json({ entries, ...(entries.length === limit ? { nextBefore: entries.at(-1)?.id } : {}) });
  });

  // Admins only from here.
  router.use(`${P}/users`, adminOnly);
  router.use(`${P}/settings`, adminOnly);

  router.get(`${P}/users`, async (_req, res) => {
    res.json({ users: (await listUsers(deps.db)).map(users.publicUser) });
  });
  router.post(`${P}/users`, async (req, res) =>
    reply(res, 201, await users.createUser(deps, req, jsonBody(req)), users.publicUser),
  );
  router.get(`${P}/users/:id`, async (req, res) => {
    res.json(users.publicUser(await users.loadUser(deps.db, req.params['id'])));
  });
  router.patch(`${P}/users/:id`, async (req, res) => {
    const body = jsonBody(req);
    refuseUnchangeable(body, ['role', 'password', 'unlock', 'disabled']);
    reply(res, 200, await users.updateUser(deps, req, req.params['id'], body), users.publicUser);
  });
  router.post(`${P}/users/:id/end-sessions`, async (req, res) => {
    res.json(
      users.publicUser(await users.loadUser(deps.db, (await users.endSessions(deps, req, req.params['id'])).id)),
    );
  });
  router.post(`${P}/users/:id/reset-mfa`, async (req, res) => {
    res.json(users.publicUser(await users.loadUser(deps.db, (await users.resetMfa(deps, req, req.params['id'])).id)));
  });
  router.delete(`${P}/users/:id`, async (req, res) => {
    await users.deleteUser(deps, req, req.params['id']);
    res.status(204).end();
  });

  router.get(`${P}/settings/email`, async (_req, res) => {
    res.json(settings.publicSmtp(await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY)) ?? {});
  });
  router.put(`${P}/settings/email`, async (req, res) =>
    reply(res, 200, await settings.saveSmtpSettings(deps, req, jsonBody(req)), settings.publicSmtp),
  );
  router.post(`${P}/settings/email/test`, async (req, res) => {
    res.status(202).json(await settings.sendTestEmail(deps, req));
  });
  router.get(`${P}/settings/email/test/:workflowId`, async (req, res) => {
    const workflowId = req.params['workflowId'];
    if (typeof workflowId !== 'string' || !/^test-email:[0-9a-f-]{36}$/.test(workflowId))
      throw new HttpError(404, 'Unknown test email.');
    res.json(await deps.commands.latestTestEmail(workflowId));
  });
  router.get(`${P}/settings/security`, async (_req, res) => {
    res.json(await users.securitySettings(deps.db));
  });
  router.put(`${P}/settings/security`, async (req, res) =>
    reply(res, 200, await users.saveSecuritySettings(deps, req, jsonBody(req))),
  );
  router.get(`${P}/settings/renewal-defaults`, async (_req, res) => {
    res.json(await renewalDefaults(deps.db));
  });
  router.put(`${P}/settings/renewal-defaults`, async (req, res) =>
    reply(res, 200, await settings.saveRenewalDefaults(deps, req, jsonBody(req))),
  );
  router.get(`${P}/settings/networks`, async (_req, res) => {
    res.json({ allowed: await allowedTargetNetworks(deps.db) });
  });
  router.put(`${P}/settings/networks`, async (req, res) =>
    reply(res, 200, await settings.saveTargetNetworks(deps, req, jsonBody(req))),
  );
  router.get(`${P}/settings/acme-directories`, async (_req, res) => {
    res.json({ directories: await listAcmeDirectories(deps.db), accounts: await listAcmeAccounts(deps.db) });
  });
  router.post(`${P}/settings/acme-directories`, async (req, res) =>
    reply(res, 200, await settings.saveAcmeDirectory(deps, req, jsonBody(req))),
  );
  router.put(`${P}/settings/acme-directories/:id/options`, async (req, res) =>
    reply(res, 200, await saveDirectoryOptions(deps, req, req.params['id'], jsonBody(req))),
  );
  router.post(`${P}/settings/acme-directories/:id/read-profiles`, async (req, res) => {
    const { directory, check } = await readDirectoryProfiles(deps, req.params['id']);
    res.status(check.state === 'running' ? 202 : 200).json({ directory, check });
  });
}
