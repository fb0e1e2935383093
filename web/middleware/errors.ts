import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { HttpError, publicError } from '../http-error';
import { loggableUrl } from './request-log';
import type { Views } from '../render';

export function notFound(_req: Request, _res: Response, next: NextFunction): void {
  next(new HttpError(404, 'Page not found.'));
}

/** Renders every error as a page (or a fragment for htmx); 5xx details go to the log, never to the user. */
export function errorHandler(views: Views, log: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    // Too late for an error page (a download was under way): Express closes the connection.
    if (res.headersSent) return next(error);
    const { status, message } = publicError(error);
    if (status >= 500) (req.log ?? log).error({ err: error, url: loggableUrl(req.originalUrl) }, 'request failed');
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
