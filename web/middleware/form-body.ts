import type { NextFunction, Request, Response } from 'express';
import { formBodyProblem } from '../body-guard';
import { HttpError } from '../http-error';

const FORM_TYPE = 'application/x-www-form-urlencoded';
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether the request says it carries a body (a content type, a length above zero, or chunks). */
export function hasBody(req: Request): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return (
    req.headers['content-type'] !== undefined ||
    req.headers['transfer-encoding'] !== undefined ||
    !(length === 0 || Number.isNaN(length))
  );
}

/**
 * Console forms, after express.urlencoded: a request without a body gets an empty one; a body of
 * any other type (JSON, text, multipart) is a 415 pointing scripts at the JSON API; a field sent
 * twice, or with text no field may hold (NUL), is a 400. Routes can rely on `req.body` being a form.
 */
export function formBody(req: Request, _res: Response, next: NextFunction): void {
  if (!WITH_BODY.has(req.method)) return next();
  if (req.body === undefined) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (hasBody(req) && type !== FORM_TYPE) {
      return next(
        new HttpError(
          415,
          `Console forms are sent as ${FORM_TYPE}, as a browser sends them; nothing was changed. Scripts use the JSON API under /api/v1.`,
        ),
      );
    }
    req.body = {};
  }
  const problem = formBodyProblem(req.body as Record<string, unknown>);
  if (problem) return next(new HttpError(400, `${problem.message} Nothing was changed.`));
  next();
}
