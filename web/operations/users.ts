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
import { done, flag, invalid, text, type Actor, type Body, type FieldErrors, type OpResult } from './input';

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/i;
export const MIN_PASSWORD = 10;

/** What pages, the API and the audit log may show of a user: never the password hash. */
export const publicUser = (u: User) => ({
  id: u.id, username: u.username, role: u.role, lockedUntil: u.lockedUntil && u.lockedUntil > new Date() ? u.lockedUntil : null,
  failedLogins: u.failedLogins, lastLoginAt: u.lastLoginAt, createdAt: u.createdAt,
});

function checkPassword(password: unknown): string | undefined {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD || password.length > 128) return `Choose a password of ${MIN_PASSWORD} to 128 characters.`;
  return undefined;
}

const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

export async function loadUser(db: Queryable, id: unknown): Promise<User> {
  const user = typeof id === 'string' ? await findUserById(db, id) : undefined;
  if (!user) throw new HttpError(404, 'No such user.');
  return user;
}

export async function createUser(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<User>> {
  const errors: FieldErrors = {};
  const username = text(body, 'username');
  const role = text(body, 'role');
  if (!USERNAME.test(username)) errors['username'] = 'A user name is 1 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit.';
  else if (await findUserByUsername(deps.db, username)) errors['username'] = 'This user name is taken.';
  if (!isRole(role)) errors['role'] = 'Choose a role: admin, technician or readonly.';
  const passwordError = checkPassword(body['password']);
  if (passwordError) errors['password'] = passwordError;
  if (Object.keys(errors).length > 0 || !isRole(role)) return invalid(errors);
  const user = await insertUser(deps.db, { username, role, passwordHash: await hashPassword(body['password'] as string) });
  await audit(deps.db, actor, { action: 'user.create', entityType: 'user', entityId: user.id, after: { username, role } });
  return done(user);
}

/** Role, a new password set by an admin, or lifting a lockout. The last admin stays an admin. */
export async function updateUser(deps: WebDeps, actor: Actor, id: unknown, body: Body): Promise<OpResult<User>> {
  const user = await loadUser(deps.db, id);
  const errors: FieldErrors = {};
  const role = body['role'] === undefined ? user.role : text(body, 'role');
  if (!isRole(role)) errors['role'] = 'Choose a role: admin, technician or readonly.';
  else if (user.role === 'admin' && role !== 'admin' && (await countAdmins(deps.db)) <= 1) errors['role'] = 'This is the last admin; make another user admin first.';
  const password = typeof body['password'] === 'string' && body['password'] !== '' ? body['password'] : undefined;
  const passwordError = password !== undefined ? checkPassword(password) : undefined;
  if (passwordError) errors['password'] = passwordError;
  if (Object.keys(errors).length > 0 || !isRole(role)) return invalid(errors);
  const changes: Record<string, unknown> = {};
  if (role !== user.role) {
    await setUserRole(deps.db, user.id, role);
    changes['role'] = role;
  }
  if (password !== undefined) {
    await setUserPassword(deps.db, user.id, await hashPassword(password));
    changes['password'] = '(changed)';
  }
  if (flag(body, 'unlock')) {
    await unlockUser(deps.db, user.id);
    changes['unlocked'] = true;
  }
  if (Object.keys(changes).length > 0) {
    await audit(deps.db, actor, { action: 'user.update', entityType: 'user', entityId: user.id, before: { username: user.username, role: user.role }, after: { username: user.username, ...changes } });
  }
  return done(await loadUser(deps.db, user.id));
}

export async function deleteUser(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const user = await loadUser(deps.db, id);
  if (user.id === actor.user?.id) throw new HttpError(409, 'You cannot delete your own account.');
  if (user.role === 'admin' && (await countAdmins(deps.db)) <= 1) throw new HttpError(409, 'This is the last admin.');
  await removeUser(deps.db, user.id);
  await audit(deps.db, actor, { action: 'user.delete', entityType: 'user', entityId: user.id, before: { username: user.username, role: user.role } });
}

/** Any user: a new password for their own account, proven by the current one. */
export async function changeOwnPassword(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<void>> {
  const user = await loadUser(deps.db, actor.user?.id);
  const errors: FieldErrors = {};
  if (!(await verifyPassword(typeof body['currentPassword'] === 'string' ? body['currentPassword'] : '', user.passwordHash))) errors['currentPassword'] = 'This is not your current password.';
  const passwordError = checkPassword(body['newPassword']);
  if (passwordError) errors['newPassword'] = passwordError;
  if (Object.keys(errors).length > 0) return invalid(errors);
  await setUserPassword(deps.db, user.id, await hashPassword(body['newPassword'] as string));
  await audit(deps.db, actor, { action: 'user.change-password', entityType: 'user', entityId: user.id });
  return done(undefined);
}
