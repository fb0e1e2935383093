import {
  countAdmins,
  deleteUser as removeUser,
  findUserById,
  findUserByUsername,
  insertUser,
  ROLES,
  setUserPassword,
  setUserRole,
  unlockUser,
  type Role,
  type User,
} from '../../activities/db/repositories/users';
import type { Queryable } from '../../activities/db/pool';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { hashPassword, verifyPassword } from '../passwords';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/i;
export const MIN_PASSWORD = 10;

/** What pages, the API and the audit log may show of a user: never the password hash. */
export const publicUser = (u: User) => ({
  id: u.id, username: u.username, role: u.role, lockedUntil: u.lockedUntil && u.lockedUntil > new Date() ? u.lockedUntil : null,
  failedLogins: u.failedLogins, lastLoginAt: u.lastLoginAt, createdAt: u.createdAt,
});

function checkPassword(password: string): string | undefined {
  if (password.length < MIN_PASSWORD || password.length > 128) return `Choose a password of ${MIN_PASSWORD} to 128 characters.`;
  return undefined;
}

const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

export async function loadUser(db: Queryable, id: unknown): Promise<User> {
  const user = typeof id === 'string' ? await findUserById(db, id) : undefined;
  if (!user) throw new HttpError(404, 'No such user.');
  return user;
}

export async function createUser(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<User>> {
  const f = new FieldReader(body);
  const username = f.text('username');
  const role = f.text('role');
  const password = f.secret('password');
  if (!USERNAME.test(username)) f.fail('username', 'A user name is 1 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit.');
  else if (await findUserByUsername(deps.db, username)) f.fail('username', 'This user name is taken.');
  if (!isRole(role)) f.fail('role', 'Choose a role: admin, technician or readonly.');
  const passwordError = checkPassword(password);
  if (passwordError) f.fail('password', passwordError);
  if (!f.ok || !isRole(role)) return invalid(f.errors);
  const passwordHash = await hashPassword(password);
  const user = await deps.db.withTransaction(async (tx) => {
    const created = await insertUser(tx, { username, role, passwordHash });
    await audit(tx, actor, { action: 'user.create', entityType: 'user', entityId: created.id, after: { username, role } });
    return created;
  });
  return done(user);
}

/** Role, a new password set by an admin, or lifting a lockout (a boolean: the console's checkbox turned into one). The last admin stays an admin. */
export async function updateUser(deps: WebDeps, actor: Actor, id: unknown, body: Body): Promise<OpResult<User>> {
  const user = await loadUser(deps.db, id);
  const f = new FieldReader(body);
  const role = f.has('role') ? f.text('role') : user.role;
  if (!isRole(role)) f.fail('role', 'Choose a role: admin, technician or readonly.');
  else if (user.role === 'admin' && role !== 'admin' && (await countAdmins(deps.db)) <= 1) f.fail('role', 'This is the last admin; make another user admin first.');
  // Empty or left out: the password stays.
  const password = f.secret('password') || undefined;
  const passwordError = password !== undefined ? checkPassword(password) : undefined;
  if (passwordError) f.fail('password', passwordError);
  const unlock = f.bool('unlock') === true;
  if (!f.ok || !isRole(role)) return invalid(f.errors);
  const passwordHash = password !== undefined ? await hashPassword(password) : undefined;
  await deps.db.withTransaction(async (tx) => {
    const changes: Record<string, unknown> = {};
    if (role !== user.role) {
      await setUserRole(tx, user.id, role);
      changes['role'] = role;
    }
    if (passwordHash !== undefined) {
      await setUserPassword(tx, user.id, passwordHash);
      changes['password'] = '(changed)';
    }
    if (unlock) {
      await unlockUser(tx, user.id);
      changes['unlocked'] = true;
    }
    if (Object.keys(changes).length > 0) {
      await audit(tx, actor, { action: 'user.update', entityType: 'user', entityId: user.id, before: { username: user.username, role: user.role }, after: { username: user.username, ...changes } });
    }
  });
  return done(await loadUser(deps.db, user.id));
}

export async function deleteUser(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const user = await loadUser(deps.db, id);
  if (user.id === actor.user?.id) throw new HttpError(409, 'You cannot delete your own account.');
  if (user.role === 'admin' && (await countAdmins(deps.db)) <= 1) throw new HttpError(409, 'This is the last admin.');
  await deps.db.withTransaction(async (tx) => {
    await removeUser(tx, user.id);
    await audit(tx, actor, { action: 'user.delete', entityType: 'user', entityId: user.id, before: { username: user.username, role: user.role } });
  });
}

/** Any user: a new password for their own account, proven by the current one. */
export async function changeOwnPassword(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<void>> {
  const user = await loadUser(deps.db, actor.user?.id);
  const f = new FieldReader(body);
  const currentPassword = f.secret('currentPassword');
  const newPassword = f.secret('newPassword');
  if (!(await verifyPassword(currentPassword, user.passwordHash))) f.fail('currentPassword', 'This is not your current password.');
  const passwordError = checkPassword(newPassword);
  if (passwordError) f.fail('newPassword', passwordError);
  if (!f.ok) return invalid(f.errors);
  const passwordHash = await hashPassword(newPassword);
  await deps.db.withTransaction(async (tx) => {
    await setUserPassword(tx, user.id, passwordHash);
    await audit(tx, actor, { action: 'user.change-password', entityType: 'user', entityId: user.id });
  });
  return done(undefined);
}
