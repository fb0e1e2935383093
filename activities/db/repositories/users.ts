import type { Queryable } from '../pool';

export const ROLES = ['admin', 'technician', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
  /** Sign-in failures in a row, over all addresses (see login-failures.ts). */
  failedLogins: number;
  /** The latest lock of this name from any address, if one is still running. */
  lockedUntil: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
  /** Sessions and API tokens of an older version are dead. */
  credentialVersion: number;
  disabledAt: Date | null;
  /** TOTP secret, sealed (SecretPurpose.mfaSecret); pending until mfaEnabledAt is set. */
  mfaSecretSealed: string | null;
  mfaEnabledAt: Date | null;
  mfaLastStep: number | null;
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
  credential_version: number;
  disabled_at: Date | null;
  mfa_secret_sealed: string | null;
  mfa_enabled_at: Date | null;
  mfa_last_step: string | null;
}

const COLUMNS = `id, username, role, password_hash, last_login_at, created_at, credential_version, disabled_at,
  mfa_secret_sealed, mfa_enabled_at, mfa_last_step,
  (SELECT coalesce(sum(f.failures), 0)::int FROM login_failures f WHERE f.username = users.username) AS failed_logins,
  (SELECT max(f.locked_until) FROM login_failures f WHERE f.username = users.username AND f.locked_until > now()) AS locked_until`;
const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  role: r.role,
  passwordHash: r.password_hash,
  failedLogins: r.failed_logins,
  lockedUntil: r.locked_until,
  lastLoginAt: r.last_login_at,
  createdAt: r.created_at,
  credentialVersion: r.credential_version,
  disabledAt: r.disabled_at,
  mfaSecretSealed: r.mfa_secret_sealed,
  mfaEnabledAt: r.mfa_enabled_at,
  mfaLastStep: r.mfa_last_step === null ? null : Number(r.mfa_last_step),
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

export async function insertUser(
  db: Queryable,
  user: { username: string; role: Role; passwordHash: string },
): Promise<User> {
  const rows = await db.query<UserRow>(
    `INSERT INTO users (username, role, password_hash) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
    [user.username, user.role, user.passwordHash],
  );
  return toUser(rows[0] as UserRow);
}

export async function setUserRole(db: Queryable, id: string, role: Role): Promise<void> {
  await db.query('UPDATE users SET role = $2 WHERE id = $1', [id, role]);
}

export async function setUserPassword(db: Queryable, id: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
}

export async function setUserDisabled(db: Queryable, id: string, disabled: boolean): Promise<void> {
  await db.query('UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END WHERE id = $1', [
    id,
    disabled,
  ]);
}

/**
 * Ends every session and API token of the user: sessions carry the version they were signed in with
 * (checked on every request), live tokens are revoked with the reason. Returns the new version.
 */
export async function bumpCredentialVersion(db: Queryable, id: string, reason: string): Promise<number> {
  const rows = await db.query<{ credential_version: number }>(
    'UPDATE users SET credential_version = credential_version + 1 WHERE id = $1 RETURNING credential_version',
    [id],
  );
  await db.query(
    'UPDATE api_tokens SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL',
    [id, reason],
  );
  return rows[0]?.credential_version ?? 0;
}

export async function deleteUser(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM users WHERE id = $1', [id]);
}

export async function recordLogin(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE users SET last_login_at = now() WHERE id = $1', [id]);
}

/** A TOTP secret waiting for its first code (sealed), or none (MFA off). Recovery codes go with it. */
export async function setMfaSecret(db: Queryable, id: string, sealed: string | null): Promise<void> {
  await db.query('UPDATE users SET mfa_secret_sealed = $2, mfa_enabled_at = NULL, mfa_last_step = NULL WHERE id = $1', [
    id,
    sealed,
  ]);
  await db.query('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [id]);
}

/** Turns MFA on (the pending secret was confirmed with a code) with new recovery codes. */
export async function enableMfa(db: Queryable, id: string, step: number, recoveryCodeHashes: string[]): Promise<void> {
  await db.query('UPDATE users SET mfa_enabled_at = now(), mfa_last_step = $2 WHERE id = $1', [id, step]);
  await db.query('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [id]);
  for (const hash of recoveryCodeHashes)
    await db.query('INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)', [id, hash]);
}

/** Records an accepted TOTP step; false if it (or a later one) was used already (a replay). */
export async function acceptMfaStep(db: Queryable, id: string, step: number): Promise<boolean> {
  const rows = await db.query(
    'UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND (mfa_last_step IS NULL OR mfa_last_step < $2) RETURNING id',
    [id, step],
  );
  return rows.length > 0;
}

/** Uses up one recovery code; false if it is not one of the user's unused codes. */
export async function useRecoveryCode(db: Queryable, id: string, codeHash: string): Promise<boolean> {
  const rows = await db.query(
    'UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id',
    [id, codeHash],
  );
  return rows.length > 0;
}

export async function countUnusedRecoveryCodes(db: Queryable, id: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL',
    [id],
  );
  return Number(rows[0]?.n ?? 0);
}
