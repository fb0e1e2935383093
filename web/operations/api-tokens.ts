import { createHash, randomBytes } from 'node:crypto';
import {
  insertApiToken,
  revokeApiToken as revoke,
  type ApiTokenRecord,
} from '../../activities/db/repositories/api-tokens';
import { audit, auditedChange } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { displayable, done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';

/** Every token starts with this, so secret scanners and people recognise one. */
export const TOKEN_PREFIX = 'cft_';

const MAX_EXPIRY_DAYS = 3650;

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new API token for the acting user: shown once, stored as its SHA-256 only. */
export async function createApiToken(
  deps: WebDeps,
  actor: Actor,
  body: Body,
): Promise<OpResult<{ token: string; record: ApiTokenRecord }>> {
  if (!actor.user) throw new HttpError(401, 'Sign in first.');
  const f = new FieldReader(body);
  const name = f.text('name');
  if (name.length < 1 || name.length > 64 || !displayable(name))
    f.fail(
      'name',
      'Name the token (1 to 64 characters, no control or text-direction characters), e.g. after the script that uses it.',
    );
  const expiresInDays = f.integer('expiresInDays');
  if (expiresInDays !== undefined && (expiresInDays < 1 || expiresInDays > MAX_EXPIRY_DAYS))
    f.fail(
      'expiresInDays',
      `A token expires after 1 to ${MAX_EXPIRY_DAYS} days; leave it empty for one that does not expire.`,
    );
  if (!f.ok) return invalid(f.errors);
  const userId = actor.user.id;
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const record = await auditedChange(
    deps.db,
    actor,
    (tx) =>
      insertApiToken(tx, {
        userId,
        name,
        tokenHash: hashToken(token),
        prefix: token.slice(0, TOKEN_PREFIX.length + 6),
        ...(expiresInDays !== undefined ? { expiresInDays } : {}),
      }),
    (created) => ({
      action: 'api-token.create',
      entityType: 'api_token',
      entityId: created.id,
      after: { name, prefix: created.prefix, expiresAt: created.expiresAt },
    }),
  );
  return done({ token, record });
}

export async function revokeApiToken(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  if (!actor.user) throw new HttpError(401, 'Sign in first.');
  const userId = actor.user.id;
  await deps.db.withTransaction(async (tx) => {
    if (typeof id !== 'string' || !(await revoke(tx, userId, id)))
      throw new HttpError(404, 'No such token of yours (or it is revoked already).');
    await audit(tx, actor, { action: 'api-token.revoke', entityType: 'api_token', entityId: id });
  });
}
