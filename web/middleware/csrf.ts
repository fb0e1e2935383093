import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { csrfSync } from 'csrf-sync';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../http-error';

const CSRF_MESSAGE = 'The form expired or was sent from another site. Reload the page and try again.';
/** The anonymous visitor's random nonce; the form carries its HMAC. */
export const ANONYMOUS_CSRF_COOKIE = 'certfleet.csrf';
const NONCE = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function tokenFromRequest(req: Request): string | undefined {
  const fromBody = (req.body as Record<string, unknown> | undefined)?.['_csrf'];
  if (typeof fromBody === 'string') return fromBody;
  const header = req.headers['x-csrf-token'];
  return typeof header === 'string' ? header : undefined;
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * CSRF protection. Signed in: a synchronizer token kept in the session, carried in the `_csrf` form
 * field or the `X-CSRF-Token` header (htmx sends it from `hx-headers` on <body>). Anonymous (the
 * sign-in form): a signed double-submit cookie, so a page view without a session stores nothing on
 * the server: the cookie holds a random nonce, the form its HMAC under a key derived from the master
 * key, and a POST must bring both.
 */
export function createCsrf(options: { key: Buffer; secureCookies: boolean }) {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: tokenFromRequest,
    errorConfig: { statusCode: 403, message: CSRF_MESSAGE },
  });
  const sign = (nonce: string): string => createHmac('sha256', options.key).update(nonce).digest('base64url');
  const validNonce = (req: Request): string | undefined => {
    const nonce = cookieValue(req, ANONYMOUS_CSRF_COOKIE);
    return nonce !== undefined && NONCE.test(nonce) ? nonce : undefined;
  };

  const anonymousToken = (req: Request, res: Response): string => {
    let nonce = validNonce(req);
    if (!nonce) {
      nonce = randomBytes(32).toString('base64url');
      res.cookie(ANONYMOUS_CSRF_COOKIE, nonce, {
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secureCookies,
        path: '/',
      });
    }
    return sign(nonce);
  };

  const anonymousProtection = (req: Request, next: NextFunction): void => {
    if (SAFE_METHODS.has(req.method)) return next();
    const nonce = validNonce(req);
    const sent = tokenFromRequest(req);
    const expected = nonce ? Buffer.from(sign(nonce)) : undefined;
    if (
      expected &&
      sent !== undefined &&
      Buffer.byteLength(sent) === expected.length &&
      timingSafeEqual(Buffer.from(sent), expected)
    )
      return next();
    next(new HttpError(403, CSRF_MESSAGE));
  };

  const exposeToken = (req: Request, res: Response, next: NextFunction): void => {
    res.locals['csrfToken'] = req.user ? generateToken(req) : anonymousToken(req, res);
    next();
  };
  const protect = (req: Request, res: Response, next: NextFunction): void => {
    if (req.user) return csrfSynchronisedProtection(req, res, next);
    anonymousProtection(req, next);
  };
  return { protect, exposeToken };
}
