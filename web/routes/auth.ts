import { Router, type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { appendAudit } from '../../activities/db/repositories/audit-log';
import { findUserById, findUserByUsername, recordLogin, type User } from '../../activities/db/repositories/users';
import { audit } from '../audit';
import { DEFAULT_LOGIN_PROTECTION, type WebDeps } from '../deps';
import { checkSecondFactor } from '../operations/mfa';
import { clearFailures, countFailure, currentLock, lockedMessage } from '../operations/login-guard';
import { hashPassword, verifyPassword } from '../passwords';
import { printable } from '../text-rules';
import type { Views } from '../render';

/** Only local paths: never redirect to another site after login. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

/** How long a correct password waits for its second factor. */
const PENDING_MFA_MS = 5 * 60_000;

export function authRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const protection = deps.login ?? DEFAULT_LOGIN_PROTECTION;
  // Unknown user names cost the same scrypt as known ones, so timing does not tell which exist.
  const dummyHash = hashPassword('certfleet-timing-equaliser');

  const nextOf = (req: Request): string =>
    safeNext((req.body as Record<string, unknown> | undefined)?.['next'] ?? req.query['next']);
  const loginPage = (req: Request, res: Response, status: number, error: string, username = '') =>
    views.page(req, res, 'login', { title: 'Sign in', error, username, next: nextOf(req) }, status);
  const mfaPage = (req: Request, res: Response, status = 200, error?: string) =>
    views.page(
      req,
      res,
      'login-mfa',
      { title: 'Two-factor sign-in', next: nextOf(req), ...(error ? { error } : {}) },
      status,
    );

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, '/');
    views.page(req, res, 'login', { title: 'Sign in', next: safeNext(req.query['next']) });
  });

  const limiter = rateLimit({
    windowMs: protection.rateWindowMs,
    limit: protection.rateLimit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res) => {
      const minutes = Math.ceil(protection.rateWindowMs / 60_000);
      void audit(deps.db, req, { action: 'login-rate-limited', entityType: 'user' }).catch(() => undefined);
      loginPage(req, res, 429, `Too many sign-in attempts from your address. Wait ${minutes} minute(s) and try again.`);
    },
  });

  /** A fresh session id (session fixation), stamped with the user's credential version. */
  const startSession = (req: Request, res: Response, next: NextFunction, user: User, how: string) => {
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.userId = user.id;
      req.session.credentialVersion = user.credentialVersion;
      const signedIn = async (): Promise<void> => {
        await clearFailures(deps, req, user.username);
        await deps.db.withTransaction(async (tx) => {
          await recordLogin(tx, user.id);
          await appendAudit(tx, {
            actor: user.username,
            actorIp: req.ip,
            action: 'login',
            entityType: 'user',
            entityId: user.id,
            after: { with: how },
          });
        });
        res.redirect(303, nextOf(req));
      };
      req.session.save((saveError) => {
        if (saveError) return next(saveError);
        signedIn().catch(next);
      });
    });
  };

  router.post('/login', limiter, async (req, res, next) => {
    const body = req.body as Record<string, unknown>;
    const username = typeof body['username'] === 'string' ? body['username'].trim() : '';
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    // A name no user can have (too long, control characters) is simply a wrong one: never looked up or counted.
    const countable = username.length >= 1 && username.length <= 64 && printable(username);
    // Locked pairs are refused before any look-up, for known and unknown names alike.
    const locked = countable ? await currentLock(deps, req, username) : null;
    if (locked) {
      await audit(deps.db, req, { action: 'login-locked', entityType: 'user', after: { username } });
      return loginPage(req, res, 423, lockedMessage(locked), username);
    }
    const user = countable ? await findUserByUsername(deps.db, username) : undefined;
    const valid = user
      ? await verifyPassword(password, user.passwordHash)
      : (await verifyPassword(password, await dummyHash)) && false;
    if (!user || !valid) {
      await audit(deps.db, req, {
        action: 'login-failed',
        entityType: 'user',
        after: { username: countable ? username : '(unprintable)' },
      });
      const until = countable ? await countFailure(deps, req, username, user) : null;
      if (until) return loginPage(req, res, 423, lockedMessage(until), username);
      return loginPage(req, res, 401, 'Wrong username or password.', username);
    }
    // Only someone with the right password learns that the account is disabled.
    if (user.disabledAt) {
      await audit(deps.db, req, {
        action: 'login-disabled',
        entityType: 'user',
        entityId: user.id,
        after: { username },
      });
      return loginPage(req, res, 403, 'This account is disabled. Ask an admin to enable it.', username);
    }
    if (!user.mfaEnabledAt) return startSession(req, res, next, user, 'password');
    // The password is right; the session only waits for the code (it grants nothing else).
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.pendingMfa = { userId: user.id, credentialVersion: user.credentialVersion, since: Date.now() };
      req.session.save((saveError) =>
        saveError ? next(saveError) : res.redirect(303, `/login/mfa?next=${encodeURIComponent(nextOf(req))}`),
      );
    });
  });

  /** The user waiting for their second factor, if the wait is still fresh and nothing changed meanwhile. */
  const pendingUser = async (req: Request): Promise<User | undefined> => {
    const pending = req.session.pendingMfa;
    if (!pending || Date.now() - pending.since > PENDING_MFA_MS) return undefined;
    const user = await findUserById(deps.db, pending.userId);
    return user && !user.disabledAt && user.mfaEnabledAt && user.credentialVersion === pending.credentialVersion
      ? user
      : undefined;
  };

  router.get('/login/mfa', async (req, res) => {
    if (!(await pendingUser(req))) return res.redirect(303, '/login');
    mfaPage(req, res);
  });

  router.post('/login/mfa', limiter, async (req, res, next) => {
    const user = await pendingUser(req);
    if (!user) return loginPage(req, res, 401, 'Your sign-in took too long or was interrupted. Sign in again.');
    const locked = await currentLock(deps, req, user.username);
    if (locked) return mfaPage(req, res, 423, lockedMessage(locked));
    const code =
      typeof (req.body as Record<string, unknown>)['code'] === 'string'
        ? ((req.body as Record<string, unknown>)['code'] as string)
        : '';
    const how = await checkSecondFactor(deps, user, code);
    if (!how) {
      await audit(deps.db, req, {
        action: 'login-failed',
        entityType: 'user',
        entityId: user.id,
        after: { username: user.username, step: 'mfa' },
      });
      const until = await countFailure(deps, req, user.username, user);
      if (until) {
        delete req.session.pendingMfa;
        return loginPage(req, res, 423, lockedMessage(until));
      }
      return mfaPage(
        req,
        res,
        401,
        'This code is not right (or was used already). Enter the current code from your app, or one of your recovery codes.',
      );
    }
    startSession(req, res, next, user, how);
  });

  router.post('/logout', (req, res, next) => {
    const actor = { user: req.user, ip: req.ip };
    req.session.destroy((error) => {
      if (error) return next(error);
      audit(deps.db, actor, {
        action: 'logout',
        entityType: 'user',
        ...(actor.user ? { entityId: actor.user.id } : {}),
      }).then(() => res.redirect(303, '/login'), next);
    });
  });

  return router;
}
