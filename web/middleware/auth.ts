import 'express-session';
import type { NextFunction, Request, Response } from 'express';
import type { Role } from '../../activities/db/repositories/users';
import { findUserById } from '../../activities/db/repositories/users';
import type { Queryable } from '../../activities/db/pool';
import { HttpError } from '../http-error';

declare module 'express-session' {
  interface SessionData {
    userId?: string;
  }
}

export interface CurrentUser {
  id: string;
  username: string;
  role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    user?: CurrentUser;
  }
}

/** Loads the signed-in user from the session into req.user and res.locals.user. */
export function loadUser(db: Queryable) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const id = req.session.userId;
    if (id) {
      const user = await findUserById(db, id);
      if (user) {
        req.user = { id: user.id, username: user.username, role: user.role };
        res.locals['user'] = req.user;
        res.locals['isAdmin'] = user.role === 'admin';
        res.locals['canChange'] = user.role !== 'readonly';
      } else {
        delete req.session.userId;
      }
    }
    next();
  };
}

/** Pages need a session: redirect browsers to /login, answer 401 to htmx and API calls. */
export function requireLogin(req: Request, res: Response, next: NextFunction): void {
  if (req.user) return next();
  if (req.get('HX-Request') === 'true') {
    res.set('HX-Redirect', '/login').status(401).end();
    return;
  }
  res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
}

/** Server-side role check for a route. */
export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.user && roles.includes(req.user.role)) return next();
    next(new HttpError(403, `This needs the ${roles.join(' or ')} role.`));
  };
}

export const canChange = requireRole('admin', 'technician');
export const adminOnly = requireRole('admin');
