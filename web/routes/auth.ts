import { Router } from 'express';
import { appendAudit } from '../../activities/db/repositories/audit-log';
import { findUserByUsername, recordLogin } from '../../activities/db/repositories/users';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { verifyPassword } from '../passwords';
import type { Views } from '../render';

/** Only local paths: never redirect to another site after login. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/';
}

export function authRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, '/');
    views.page(req, res, 'login', { title: 'Sign in', next: safeNext(req.query['next']) });
  });

  router.post('/login', async (req, res, next) => {
    const body = req.body as Record<string, unknown>;
    const username = typeof body['username'] === 'string' ? body['username'].trim() : '';
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    const user = username && username.length <= 64 ? await findUserByUsername(deps.db, username) : undefined;
    if (!user || !(await verifyPassword(password, user.passwordHash))) {
      await audit(deps.db, req, { action: 'login-failed', entityType: 'user', after: { username: username.slice(0, 64) } });
      return views.page(req, res, 'login', { title: 'Sign in', error: 'Wrong username or password.', username, next: safeNext(body['next']) }, 401);
    }
    // A fresh session id at login (session fixation).
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.userId = user.id;
      req.session.save(async (saveError) => {
        if (saveError) return next(saveError);
        await recordLogin(deps.db, user.id);
        await appendAudit(deps.db, { actor: user.username, actorIp: req.ip, action: 'login', entityType: 'user', entityId: user.id });
        res.redirect(303, safeNext(body['next']));
      });
    });
  });

  router.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/login')));
  });

  return router;
}
