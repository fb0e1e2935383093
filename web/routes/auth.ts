import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { appendAudit } from '../../activities/db/repositories/audit-log';
import { findUserByUsername, recordFailedLogin, recordLogin } from '../../activities/db/repositories/users';
import { audit } from '../audit';
import { DEFAULT_LOGIN_PROTECTION, type WebDeps } from '../deps';
import { hashPassword, verifyPassword } from '../passwords';
import { printable } from '../text-rules';
import type { Views } from '../render';

/** Only local paths: never redirect to another site after login. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

const untilText = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export function authRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();
  const protection = deps.login ?? DEFAULT_LOGIN_PROTECTION;
  // Unknown user names cost the same scrypt as known ones, so timing does not tell which exist.
  const dummyHash = hashPassword('certfleet-timing-equaliser');

  const loginPage = (req: Request, res: Response, status: number, error: string, username = '') =>
    views.page(req, res, 'login', { title: 'Sign in', error, username, next: safeNext((req.body as Record<string, unknown> | undefined)?.['next'] ?? req.query['next']) }, status);

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

  router.post('/login', limiter, async (req, res, next) => {
    const body = req.body as Record<string, unknown>;
    const username = typeof body['username'] === 'string' ? body['username'].trim() : '';
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    // A name no user can have (too long, control characters) is simply a wrong one: never looked up.
    const user = username && username.length <= 64 && printable(username) ? await findUserByUsername(deps.db, username) : undefined;
    if (user?.lockedUntil && user.lockedUntil > new Date()) {
      await audit(deps.db, req, { action: 'login-locked', entityType: 'user', entityId: user.id, after: { username: user.username } });
      return loginPage(req, res, 423, `This account is locked until ${untilText(user.lockedUntil)} after too many wrong passwords. An admin can unlock it sooner.`, username);
    }
    const valid = user ? await verifyPassword(password, user.passwordHash) : (await verifyPassword(password, await dummyHash)) && false;
    if (!user || !valid) {
      await audit(deps.db, req, { action: 'login-failed', entityType: 'user', after: { username: printable(username) ? username.slice(0, 64) : '(unprintable)' } });
      if (user) {
        const lockedUntil = await deps.db.withTransaction(async (tx) => {
          const until = await recordFailedLogin(tx, user.id, protection.maxFailures, protection.lockMs);
          if (until && until > new Date()) await audit(tx, req, { action: 'user.locked', entityType: 'user', entityId: user.id, after: { username: user.username, lockedUntil: until } });
          return until;
        });
        if (lockedUntil && lockedUntil > new Date()) {
          return loginPage(req, res, 423, `This account is locked until ${untilText(lockedUntil)} after too many wrong passwords. An admin can unlock it sooner.`, username);
        }
      }
      return loginPage(req, res, 401, 'Wrong username or password.', username);
    }
    // A fresh session id at login (session fixation).
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.userId = user.id;
      req.session.save(async (saveError) => {
        if (saveError) return next(saveError);
        try {
          await deps.db.withTransaction(async (tx) => {
            await recordLogin(tx, user.id);
            await appendAudit(tx, { actor: user.username, actorIp: req.ip, action: 'login', entityType: 'user', entityId: user.id });
          });
          res.redirect(303, safeNext(body['next']));
        } catch (failure) {
          next(failure);
        }
      });
    });
  });

  router.post('/logout', (req, res, next) => {
    const actor = { user: req.user, ip: req.ip };
    req.session.destroy((error) => {
      if (error) return next(error);
      audit(deps.db, actor, { action: 'logout', entityType: 'user', ...(actor.user ? { entityId: actor.user.id } : {}) }).then(
        () => res.redirect(303, '/login'),
        next,
      );
    });
  });

  return router;
}
