import type { Queryable } from '../pool';

export const ROLES = ['admin', 'technician', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
  failedLogins: number;
  lockedUntil: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
}

interface UserRow {
  id: string;
  username: string;
  role: Role;
  password_hash: string;
  failed_logins: number;
  locked_until: Date | null;
  last_login_at: Date | null;
  created_at: Date;
}

const COLUMNS = 'id, username, role, password_hash, failed_logins, locked_until, last_login_at, created_at';
const toUser = (r: UserRow): User => ({
  id: r.id, username: r.username, role: r.role, passwordHash: r.password_hash, failedLogins: r.failed_logins,
  lockedUntil: r.locked_until, lastLoginAt: r.last_login_at, createdAt: r.created_at,
});
const isId = (id: string): boolean => /^\d{1,18}$/.test(id);

export async function countUsers(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: string }>('SELECT count(*) AS n FROM users');
  return Number(rows[0]?.n ?? 0);
}

export async function countAdmins(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: string }>("SELECT count(*) AS n FROM users WHERE role = 'admin'");
  return Number(rows[0]?.n ?? 0);
}

export async function listUsers(db: Queryable): Promise<User[]> {
  return (await db.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY lower(username), id`)).map(toUser);
}

export async function findUserByUsername(db: Queryable, username: string): Promise<User | undefined> {
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [username]);
  return rows[0] && toUser(rows[0]);
}

export async function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  if (!isId(id)) return undefined;
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] && toUser(rows[0]);
}

export async function insertUser(db: Queryable, user: { username: string; role: Role; passwordHash: string }): Promise<User> {
  const rows = await db.query<UserRow>(
    `INSERT INTO users (username, role, password_hash) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
    [user.username, user.role, user.passwordHash],
  );
  return toUser(rows[0] as UserRow);
}

export async function setUserRole(db: Queryable, id: string, role: Role): Promise<void> {
  await db.query('UPDATE users SET role = $2 WHERE id = $1', [id, role]);
}

/** A new password also lifts a lockout. */
export async function setUserPassword(db: Queryable, id: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE id = $1', [id, passwordHash]);
}

export async function deleteUser(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM users WHERE id = $1', [id]);
}

export async function recordLogin(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE users SET last_login_at = now(), failed_logins = 0, locked_until = NULL WHERE id = $1', [id]);
}

/**
 * Counts a failed sign-in; the `maxFailures`-th consecutive failure locks the account for `lockMs`.
 * Returns until when it is locked, if it is.
 */
export async function recordFailedLogin(db: Queryable, id: string, maxFailures: number, lockMs: number): Promise<Date | null> {
  const rows = await db.query<{ locked_until: Date | null }>(
    `UPDATE users
        SET failed_logins = failed_logins + 1,
            locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + ($3::double precision * interval '1 millisecond') ELSE locked_until END
      WHERE id = $1
    RETURNING locked_until`,
    [id, maxFailures, lockMs],
  );
  return rows[0]?.locked_until ?? null;
}

export async function unlockUser(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1', [id]);
}
