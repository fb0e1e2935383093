import 'express-session';
import type { NextFunction, Request, Response } from 'express';
import { getSetting, SECURITY_SETTING_KEY, type SecuritySettings } from '../../activities/db/repositories/settings';
import type { Role, User } from '../../activities/db/repositories/users';
import { findUserById } from '../../activities/db/repositories/users';
import type { Queryable } from '../../activities/db/pool';
import { HttpError } from '../http-error';

declare module 'express-session' {
  interface SessionData {
    userId?: string;
    /** The user's credential version at sign-in: a session of an older version is dead (see users.credential_version). */
    credentialVersion?: number;
    /** Password right, TOTP code still to come: grants nothing but the code form. */
    pendingMfa?: { userId: string; credentialVersion: number; since: number };
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
    /** An admin without MFA while "require MFA for admins" is on: may only set it up (or sign out). */
    mustEnrolMfa?: boolean;
  }
}

/** Whether an admin without MFA must set it up before anything else. */
export async function mustEnrolMfa(db: Queryable, user: Pick<User, 'role' | 'mfaEnabledAt'>): Promise<boolean> {
  if (user.role !== 'admin' || user.mfaEnabledAt) return false;
  return (await getSetting<SecuritySettings>(db, SECURITY_SETTING_KEY))?.requireAdminMfa === true;
}

/**
 * Loads the signed-in user from the session into req.user and res.locals.user. A session signed in before
 * the user's credential version moved on (password, role, disabling, "sign out everywhere"…) is ended here.
 */
export function loadUser(db: Queryable) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const id = req.session.userId;
    if (id) {
      const user = await findUserById(db, id);
      if (user && user.disabledAt === null && user.credentialVersion === req.session.credentialVersion) {
        req.user = { id: user.id, username: user.username, role: user.role };
        req.mustEnrolMfa = await mustEnrolMfa(db, user);
        res.locals['user'] = req.user;
        res.locals['isAdmin'] = user.role === 'admin';
        res.locals['canChange'] = user.role !== 'readonly';
      } else {
        delete req.session.userId;
        delete req.session.credentialVersion;
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

/** Paths an admin who must set up MFA may still use. */
const ENROLMENT_PATHS = /^\/account\/mfa(\/|$)/;

/** Sends an admin who must set up MFA to the set-up page before anything else. */
export function requireMfaEnrolment(req: Request, res: Response, next: NextFunction): void {
  if (!req.mustEnrolMfa || ENROLMENT_PATHS.test(req.path)) return next();
  if (req.get('HX-Request') === 'true') {
    res.set('HX-Redirect', '/account/mfa').status(403).end();
    return;
  }
  if (req.method !== 'GET')
    return next(
      new HttpError(
        403,
        'Set up two-factor sign-in first (Your account → Two-factor sign-in): it is required for admins.',
      ),
    );
  res.redirect(303, '/account/mfa');
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
