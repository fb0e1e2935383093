import { Router, type Request, type Response } from 'express';
import { listApiTokensOfUser } from '../../activities/db/repositories/api-tokens';
import { countUnusedRecoveryCodes } from '../../activities/db/repositories/users';
import type { WebDeps } from '../deps';
import { mustEnrolMfa } from '../middleware/auth';
import { createApiToken, revokeApiToken } from '../operations/api-tokens';
import type { Body } from '../operations/input';
import { confirmEnrolment, disableMfa, pendingEnrolment, startEnrolment } from '../operations/mfa';
import { changeOwnPassword, loadUser, MIN_PASSWORD, signOutEverywhere } from '../operations/users';
import type { Views } from '../render';

/** Every signed-in user: their own password, two-factor sign-in, sessions and API tokens. */
export function accountRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  const page = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const tokens = req.user ? await listApiTokensOfUser(deps.db, req.user.id) : [];
    views.page(req, res, 'account', { title: 'Your account', tokens, minPassword: MIN_PASSWORD, errors: {}, tokenErrors: {}, ...extra }, status);
  };

  router.get('/account', (req, res) => page(req, res));

  router.post('/account/password', async (req, res) => {
    const result = await changeOwnPassword(deps, req, req.body as Body);
    if (!result.ok) return page(req, res, { errors: result.errors, formError: 'Your password was not changed.' }, 400);
    // This session stays signed in; every other one (and every API token) has ended.
    req.session.credentialVersion = result.value.credentialVersion;
    await page(req, res, { notice: 'Your password was changed. Your other sessions and your API tokens have ended.' });
  });

  router.post('/account/sign-out-everywhere', async (req, res) => {
    await signOutEverywhere(deps, req);
    // This session is of the old credential version now: the next request finds it ended.
    res.redirect(303, '/login');
  });

  router.post('/account/tokens', async (req, res) => {
    const result = await createApiToken(deps, req, req.body as Body);
    if (!result.ok) return page(req, res, { tokenErrors: result.errors, tokenValues: req.body }, 400);
    // Shown once, on this response only; never stored or logged in the clear.
    res.set('Cache-Control', 'no-store');
    await page(req, res, { newToken: result.value.token, newTokenName: result.value.record.name }, 201);
  });

  router.post('/account/tokens/:id/revoke', async (req, res) => {
    await revokeApiToken(deps, req, req.params['id']);
    res.redirect(303, '/account');
  });

  /** Two-factor sign-in: its state, the pending secret while setting up, the recovery codes once. */
  const mfa = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const user = await loadUser(deps.db, req.user?.id);
    res.set('Cache-Control', 'no-store');
    views.page(req, res, 'account-mfa', {
      title: 'Two-factor sign-in', enabled: user.mfaEnabledAt !== null, pending: pendingEnrolment(deps, user),
      required: await mustEnrolMfa(deps.db, { role: user.role, mfaEnabledAt: null }), mustEnrol: req.mustEnrolMfa === true,
      recoveryLeft: user.mfaEnabledAt ? await countUnusedRecoveryCodes(deps.db, user.id) : 0, errors: {}, ...extra,
    }, status);
  };

  router.get('/account/mfa', (req, res) => mfa(req, res));

  router.post('/account/mfa/setup', async (req, res) => {
    const result = await startEnrolment(deps, req, req.body as Body);
    if (!result.ok) return mfa(req, res, { errors: result.errors }, 400);
    res.redirect(303, '/account/mfa');
  });

  router.post('/account/mfa/confirm', async (req, res) => {
    const result = await confirmEnrolment(deps, req, req.body as Body);
    if (!result.ok) return mfa(req, res, { errors: result.errors }, 400);
    req.mustEnrolMfa = false;
    await mfa(req, res, { recoveryCodes: result.value.recoveryCodes }, 201);
  });

  router.post('/account/mfa/disable', async (req, res) => {
    const required = req.user ? await mustEnrolMfa(deps.db, { role: req.user.role, mfaEnabledAt: null }) : false;
    const result = await disableMfa(deps, req, req.body as Body, required);
    if (!result.ok) return mfa(req, res, { errors: result.errors }, 400);
    res.redirect(303, '/account/mfa');
  });

  return router;
}
