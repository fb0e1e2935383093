import { csrfSync } from 'csrf-sync';
import type { NextFunction, Request, Response } from 'express';

/**
 * Synchronizer-token CSRF protection: every state-changing request carries the session's token, in
 * the `_csrf` form field or the `X-CSRF-Token` header (htmx sends it from `hx-headers` on <body>).
 */
export function createCsrf() {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => {
      const fromBody = (req.body as Record<string, unknown> | undefined)?.['_csrf'];
      if (typeof fromBody === 'string') return fromBody;
      const header = req.headers['x-csrf-token'];
      return typeof header === 'string' ? header : undefined;
    },
    errorConfig: { statusCode: 403, message: 'The form expired or was sent from another site. Reload the page and try again.' },
  });
  const exposeToken = (req: Request, res: Response, next: NextFunction): void => {
    res.locals['csrfToken'] = generateToken(req);
    next();
  };
  return { protect: csrfSynchronisedProtection, exposeToken };
}
