import type { Queryable } from '../pool';

export const ROLES = ['admin', 'technician', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
}

interface UserRow {
  id: string;
  username: string;
  role: Role;
  password_hash: string;
}

const toUser = (r: UserRow): User => ({ id: r.id, username: r.username, role: r.role, passwordHash: r.password_hash });

export async function countUsers(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: string }>('SELECT count(*) AS n FROM users');
  return Number(rows[0]?.n ?? 0);
}

export async function findUserByUsername(db: Queryable, username: string): Promise<User | undefined> {
  const rows = await db.query<UserRow>('SELECT id, username, role, password_hash FROM users WHERE username = $1', [username]);
  return rows[0] && toUser(rows[0]);
}

export async function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  const rows = await db.query<UserRow>('SELECT id, username, role, password_hash FROM users WHERE id = $1', [id]);
  return rows[0] && toUser(rows[0]);
}

export async function insertUser(db: Queryable, user: { username: string; role: Role; passwordHash: string }): Promise<User> {
  const rows = await db.query<UserRow>(
    'INSERT INTO users (username, role, password_hash) VALUES ($1, $2, $3) RETURNING id, username, role, password_hash',
    [user.username, user.role, user.passwordHash],
  );
  return toUser(rows[0] as UserRow);
}

export async function recordLogin(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE users SET last_login_at = now() WHERE id = $1', [id]);
}
