import type { NextFunction, Request, Response } from 'express';

/**
 * `Cache-Control: no-store` on every console page, fragment, download and API answer: they show a
 * signed-in user's customers, certificates and settings, which no browser or shared cache may keep
 * (the back button after sign-out, a proxy between offices). Mounted after /static and the health
 * routes, which keep their own caching.
 */
export function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.set('Cache-Control', 'no-store');
  next();
}
