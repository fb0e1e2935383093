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
}

interface Row { id: string; user_id: string; name: string; prefix: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }
const COLUMNS = 'id, user_id, name, prefix, created_at, last_used_at, revoked_at';
const toToken = (r: Row): ApiTokenRecord => ({
  id: r.id, userId: r.user_id, name: r.name, prefix: r.prefix, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at,
});

export async function insertApiToken(db: Queryable, t: { userId: string; name: string; tokenHash: string; prefix: string }): Promise<ApiTokenRecord> {
  const rows = await db.query<Row>(
    `INSERT INTO api_tokens (user_id, name, token_hash, prefix) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [t.userId, t.name, t.tokenHash, t.prefix],
  );
  return toToken(rows[0] as Row);
}

export async function listApiTokensOfUser(db: Queryable, userId: string): Promise<ApiTokenRecord[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC`, [userId])).map(toToken);
}

/** Revokes one of the user's own tokens; returns whether a live token was revoked. */
export async function revokeApiToken(db: Queryable, userId: string, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false;
  const rows = await db.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id', [id, userId]);
  return rows.length > 0;
}

/** The user behind a live token, by the token's hash; records the use (at most once a minute). */
export async function userByTokenHash(db: Queryable, tokenHash: string): Promise<{ id: string; username: string; role: Role; tokenId: string } | undefined> {
  const rows = await db.query<{ id: string; username: string; role: Role; token_id: string }>(
    `UPDATE api_tokens t SET last_used_at = now()
       FROM users u
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id
        AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
     RETURNING u.id, u.username, u.role, t.id AS token_id`,
    [tokenHash],
  );
  const updated = rows[0] ?? (
    await db.query<{ id: string; username: string; role: Role; token_id: string }>(
      `SELECT u.id, u.username, u.role, t.id AS token_id FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
      [tokenHash],
    )
  )[0];
  return updated && { id: updated.id, username: updated.username, role: updated.role, tokenId: updated.token_id };
}
