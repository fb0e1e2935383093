import { textOf } from '../text-rules';
import type { SessionData } from 'express-session';
import { Router, type Request, type Response } from 'express';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { listApiTokensOfUser } from '../../activities/db/repositories/api-tokens';
import { countUnusedRecoveryCodes } from '../../activities/db/repositories/users';
import type { WebDeps } from '../deps';
import { mustEnrolMfa } from '../middleware/auth';
import { createApiToken, revokeApiToken } from '../operations/api-tokens';
import type { Body } from '../operations/input';
import { confirmEnrolment, disableMfa, pendingEnrolment, startEnrolment } from '../operations/mfa';
import { changeOwnPassword, loadUser, MIN_PASSWORD, signOutEverywhere } from '../operations/users';
import type { Views } from '../render';
import { formPage, formPost, type Refused } from './form-page';

declare module 'express-session' {
  interface SessionData {
    /** What the next GET /account shows once, after a POST that succeeded (POST-redirect-GET). */
    accountFlash?: { notice?: string; newToken?: { sealed: string; name: string } };
  }
}

/**
 * Every signed-in user: their own password, two-factor sign-in, sessions and API tokens. A POST that succeeds redirects to
 * GET /account (a reload repeats nothing); what it has to say waits in the session for that page,
 * a new token sealed, shown once.
 */
export function accountRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  const page = formPage(views, 'account', async (req) => {
    const tokens = req.user ? await listApiTokensOfUser(deps.db, req.user.id) : [];
    return { title: 'Your account', tokens, minPassword: MIN_PASSWORD, errors: {}, tokenErrors: {} };
  });

  /**
   * Stores the flash, then redirects: express-session sends a response's headers before its own save
   * ends, so a browser following the 303 could otherwise read the session before the flash is in it.
   */
  const redirectWith = async (
    req: Request,
    res: Response,
    flash: NonNullable<SessionData['accountFlash']>,
  ): Promise<void> => {
    req.session.accountFlash = flash;
    await new Promise<void>((resolve, reject) =>
      req.session.save((error: unknown) =>
        error ? reject(error instanceof Error ? error : new Error(textOf(error))) : resolve(),
      ),
    );
    res.redirect(303, '/account');
  };

  router.get('/account', async (req, res) => {
    const flash = req.session.accountFlash;
    if (!flash) return page(req, res);
    delete req.session.accountFlash;
    const shown: Record<string, unknown> = flash.notice ? { notice: flash.notice } : {};
    if (flash.newToken) {
      // Shown once, on this response only; never stored or logged in the clear.
      res.set('Cache-Control', 'no-store');
      Object.assign(shown, {
        newToken: deps.box.openText(flash.newToken.sealed, SecretPurpose.newApiToken),
        newTokenName: flash.newToken.name,
      });
    }
    await page(req, res, shown);
  });

  router.post('/account/password', async (req, res) => {
    const result = await changeOwnPassword(deps, req, req.body as Body);
    if (!result.ok) return page(req, res, { errors: result.errors, formError: 'Your password was not changed.' }, 400);
    // This session stays signed in; every other one (and every API token) has ended.
    req.session.credentialVersion = result.value.credentialVersion;
    await redirectWith(req, res, {
      notice: 'Your password was changed. Your other sessions and your API tokens have ended.',
    });
  });

  router.post('/account/sign-out-everywhere', async (req, res) => {
    await signOutEverywhere(deps, req);
    // This session is of the old credential version now: the next request finds it ended.
    res.redirect(303, '/login');
  });

  router.post('/account/tokens', async (req, res) => {
    const result = await createApiToken(deps, req, req.body as Body);
    if (!result.ok) return page(req, res, { tokenErrors: result.errors, tokenValues: req.body }, 400);
    await redirectWith(req, res, {
      newToken: {
        sealed: deps.box.seal(result.value.token, SecretPurpose.newApiToken),
        name: result.value.record.name,
      },
    });
  });

  router.post('/account/tokens/:id/revoke', async (req, res) => {
    await revokeApiToken(deps, req, req.params['id']);
    res.redirect(303, '/account');
  });

  /** Two-factor sign-in: its state, the pending secret while setting up, the recovery codes once. */
  const mfa = formPage(views, 'account-mfa', async (req, res) => {
    const user = await loadUser(deps.db, req.user?.id);
    res.set('Cache-Control', 'no-store');
    return {
      title: 'Two-factor sign-in',
      enabled: user.mfaEnabledAt !== null,
      pending: pendingEnrolment(deps, user),
      required: await mustEnrolMfa(deps.db, { role: user.role, mfaEnabledAt: null }),
      mustEnrol: req.mustEnrolMfa === true,
      recoveryLeft: user.mfaEnabledAt ? await countUnusedRecoveryCodes(deps.db, user.id) : 0,
      errors: {},
    };
  });

  router.get('/account/mfa', (req, res) => mfa(req, res));

  /** The MFA forms show only the errors again: a code or a password is never put back. */
  const refusedMfa: Refused = (_body, errors) => ({ errors });
  router.post('/account/mfa/setup', formPost(deps, mfa, startEnrolment, '/account/mfa', refusedMfa));

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
