import type { NextFunction, Request, Response } from 'express';
import { userByTokenHash, type TokenLookup } from '../../activities/db/repositories/api-tokens';
import type { Queryable } from '../../activities/db/pool';
import { hashToken, TOKEN_PREFIX } from '../operations/api-tokens';
import type { OpResult } from '../operations/input';
import { jsonBodyProblem } from '../body-guard';
import { HttpError, publicError } from '../http-error';
import { hasBody } from '../middleware/form-body';
import { loggableUrl } from '../middleware/request-log';

export const API_PREFIX = '/api/v1';
const INVALID_FIELDS = 'Some fields are invalid; nothing was changed.';

/** `Authorization: Bearer cft_…`: the token's user becomes req.user, with the same role checks as the console. */
export function bearerAuth(db: Queryable) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1] || !match[1].startsWith(TOKEN_PREFIX) || match[1].length > 200) {
      res
        .set('WWW-Authenticate', 'Bearer realm="certfleet"')
        .status(401)
        .json({ error: 'Send an API token: Authorization: Bearer cft_… (create one under Your account).' });
      return;
    }
    const user = await userByTokenHash(db, hashToken(match[1]));
    if (!user?.live) {
      res
        .set('WWW-Authenticate', 'Bearer realm="certfleet", error="invalid_token"')
        .status(401)
        .json({ error: deadTokenMessage(user) });
      return;
    }
    req.user = { id: user.id, username: user.username, role: user.role };
    next();
  };
}

const dayText = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/** Why a token is refused, in words a script's owner can act on. */
function deadTokenMessage(lookup: Exclude<TokenLookup, { live: true }> | undefined): string {
  if (lookup?.why === 'expired')
    return `This API token expired on ${dayText(lookup.expiresAt)}. Create a new one under Your account.`;
  if (lookup?.why === 'disabled') return 'The account of this API token is disabled.';
  if (lookup?.reason) return `This API token was revoked (${lookup.reason}). Create a new one under Your account.`;
  return 'This API token is unknown or revoked.';
}

/** An operation's result as JSON: the value, or 400 with the field errors. */
export function reply<T>(
  res: Response,
  status: number,
  result: OpResult<T>,
  view: (value: T) => unknown = (v) => v,
): void {
  if (!result.ok) {
    res.status(400).json({ error: INVALID_FIELDS, fields: apiFieldNames(result.errors) });
    return;
  }
  res.status(status).json(view(result.value));
}

const GROUPS: Record<string, string> = { cred_: 'credentials.', opt_: 'options.', bind_: 'binding.' };

/** The console's flat field names (cred_token) as the API's nested ones (credentials.token). */
export function apiFieldNames(errors: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(errors).map(([k, v]) => {
      const prefix = Object.keys(GROUPS).find((p) => k.startsWith(p));
      return [prefix ? `${GROUPS[prefix]}${k.slice(prefix.length)}` : k, v];
    }),
  );
}

/**
 * A JSON object body. No body at all is an empty object; a body of another content type is a 415,
 * one that is not an object, nests too deeply or holds text no field may hold (NUL, lone surrogates)
 * a 400: nothing is changed on a malformed request.
 */
export function jsonBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined) {
    if (hasBody(req)) throw new HttpError(415, 'Send the request body as JSON (Content-Type: application/json).');
    return {};
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'The request body must be a JSON object.');
  const problem = jsonBodyProblem(body);
  if (problem)
    throw problem.field
      ? new HttpError(400, INVALID_FIELDS, { [problem.field]: problem.message })
      : new HttpError(400, problem.message);
  return body as Record<string, unknown>;
}

/**
 * A PATCH names only what its endpoint can change: any other member (a typo, or a read-only field
 * such as `id`, `createdAt` or a certificate's name) is a 400 listing them, and nothing is changed.
 * `nested` lists the keys an object member may hold (a target's `credentials` and `options`).
 */
export function refuseUnchangeable(
  body: Record<string, unknown>,
  changeable: readonly string[],
  nested: Record<string, readonly string[]> = {},
): void {
  const refused: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!changeable.includes(key)) {
      refused[key] = 'This field is unknown or cannot be changed.';
      continue;
    }
    const allowed = nested[key];
    if (!allowed || typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    for (const inner of Object.keys(value))
      if (!allowed.includes(inner)) refused[`${key}.${inner}`] = 'This field is unknown or cannot be changed.';
  }
  const names = Object.keys(refused);
  if (names.length) {
    throw new HttpError(
      400,
      `${names.join(', ')} cannot be changed here (unknown or read-only); nothing was changed. Changeable: ${changeable.join(', ')}.`,
      refused,
    );
  }
}

/** An object-valued member of a body (credentials, options, binding), or an empty one. */
export function objectField(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = body[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, `"${key}" must be a JSON object.`);
  return value as Record<string, unknown>;
}

/** Errors as JSON: 4xx with the message, 5xx without details (they go to the log). */
export function apiErrors(log: { error(obj: object, msg: string): void }) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    // Too late for a JSON error (a download was under way): Express closes the connection.
    if (res.headersSent) return next(error);
    const { status, message, fields } = publicError(error);
    if (status >= 500) (req.log ?? log).error({ err: error, url: loggableUrl(req.originalUrl) }, 'api request failed');
    res.status(status).json({ error: message, ...(fields ? { fields } : {}) });
  };
}
