import type { Queryable } from '../pool';
import type { Role } from './users';

export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** Why it was revoked when not by hand (a password change, "sign out everywhere", …). */
  revokedReason: string | null;
  expiresAt: Date | null;
  expired: boolean;
}

/** Every column under its field's name, so a row is the record as it stands. */
const COLUMNS = `id, user_id AS "userId", name, prefix, created_at AS "createdAt", last_used_at AS "lastUsedAt",
  revoked_at AS "revokedAt", revoked_reason AS "revokedReason", expires_at AS "expiresAt",
  coalesce(expires_at <= now(), false) AS expired`;

export async function insertApiToken(
  db: Queryable,
  t: { userId: string; name: string; tokenHash: string; prefix: string; expiresInDays?: number },
): Promise<ApiTokenRecord> {
  const rows = await db.query<ApiTokenRecord>(
    `INSERT INTO api_tokens (user_id, name, token_hash, prefix, expires_at)
          VALUES ($1, $2, $3, $4, CASE WHEN $5::int IS NOT NULL THEN now() + $5::int * interval '1 day' END)
       RETURNING ${COLUMNS}`,
    [t.userId, t.name, t.tokenHash, t.prefix, t.expiresInDays ?? null],
  );
  return rows[0] as ApiTokenRecord;
}

export async function listApiTokensOfUser(db: Queryable, userId: string): Promise<ApiTokenRecord[]> {
  return await db.query<ApiTokenRecord>(`SELECT ${COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC`, [
    userId,
  ]);
}

/** Revokes one of the user's own tokens; returns whether a live token was revoked. */
export async function revokeApiToken(db: Queryable, userId: string, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false;
  const rows = await db.query(
    'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id',
    [id, userId],
  );
  return rows.length > 0;
}

/** A token as the API sees it: its user, or why it no longer works. */
export type TokenLookup =
  | { live: true; id: string; username: string; role: Role; tokenId: string }
  | { live: false; why: 'revoked'; reason: string | null }
  | { live: false; why: 'expired'; expiresAt: Date }
  | { live: false; why: 'disabled' };

/** The user behind a token, by the token's hash, or why it is dead; records the use (at most once a minute). */
export async function userByTokenHash(db: Queryable, tokenHash: string): Promise<TokenLookup | undefined> {
  const rows = await db.query<{
    id: string;
    username: string;
    role: Role;
    token_id: string;
    revoked_at: Date | null;
    revoked_reason: string | null;
    expires_at: Date | null;
    expired: boolean;
    disabled: boolean;
  }>(
    `SELECT u.id, u.username, u.role, t.id AS token_id, t.revoked_at, t.revoked_reason, t.expires_at,
            coalesce(t.expires_at <= now(), false) AS expired, u.disabled_at IS NOT NULL AS disabled
       FROM api_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1`,
    [tokenHash],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.revoked_at) return { live: false, why: 'revoked', reason: row.revoked_reason };
  if (row.expired && row.expires_at) return { live: false, why: 'expired', expiresAt: row.expires_at };
  if (row.disabled) return { live: false, why: 'disabled' };
  await db.query(
    "UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    [row.token_id],
  );
  return { live: true, id: row.id, username: row.username, role: row.role, tokenId: row.token_id };
}
