import { Router, type Request, type Response } from 'express';
import { listApiTokensOfUser } from '../../activities/db/repositories/api-tokens';
import type { WebDeps } from '../deps';
import { createApiToken, revokeApiToken } from '../operations/api-tokens';
import type { Body } from '../operations/input';
import { changeOwnPassword, MIN_PASSWORD } from '../operations/users';
import type { Views } from '../render';

/** Every signed-in user: their own password and API tokens. */
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
    await page(req, res, { notice: 'Your password was changed.' });
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

  return router;
}
