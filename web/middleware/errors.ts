import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { HttpError } from '../http-error';
import type { Views } from '../render';

export function notFound(_req: Request, _res: Response, next: NextFunction): void {
  next(new HttpError(404, 'Page not found.'));
}

/** Renders every error as a page (or a fragment for htmx); 5xx details go to the log, never to the user. */
export function errorHandler(views: Views, log: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    // Two requests racing for the same unique name: the loser gets a clear 409, not a 500.
    const uniqueViolation = (error as { code?: unknown }).code === '23505';
    const status =
      error instanceof HttpError ? error.status
      : uniqueViolation ? 409
      : typeof (error as { status?: unknown }).status === 'number' ? ((error as { status: number }).status)
      : 500;
    const message =
      uniqueViolation ? 'Something with this name was just created by someone else. Reload the page and choose another name.'
      : status >= 500 ? 'Something went wrong on our side. The details are in the server log.'
      : (error as Error).message;
    if (status >= 500) log.error({ err: error, url: req.originalUrl }, 'request failed');
    if (req.get('HX-Request') === 'true') {
      views.partial(res, 'error-message', { message }, status);
      return;
    }
    if (req.accepts(['html', 'json']) === 'json') {
      res.status(status).json({ error: message });
      return;
    }
    views.page(req, res, 'error', { title: 'Error', status, message }, status);
  };
}
