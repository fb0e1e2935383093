import { unlockUsername } from '../../activities/db/repositories/login-failures';
import {
  getSetting,
  putSetting,
  SECURITY_SETTING_KEY,
  type SecuritySettings,
} from '../../activities/db/repositories/settings';
import {
  bumpCredentialVersion,
  countAdmins,
  deleteUser as removeUser,
  findUserById,
  findUserByUsername,
  insertUser,
  ROLES,
  setMfaSecret,
  setUserDisabled,
  setUserPassword,
  setUserRole,
  type Role,
  type User,
} from '../../activities/db/repositories/users';
import type { Queryable } from '../../activities/db/pool';
import { audit, auditedChange } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { passwordProblem } from '../password-policy';
import { hashPassword } from '../passwords';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';
import { confirmCurrentPassword } from './login-guard';

export { MIN_PASSWORD } from '../password-policy';

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/i;

/** What pages, the API and the audit log may show of a user: never the password hash. */
export const publicUser = (u: User) => ({
  id: u.id,
  username: u.username,
  role: u.role,
  lockedUntil: u.lockedUntil && u.lockedUntil > new Date() ? u.lockedUntil : null,
  failedLogins: u.failedLogins,
  lastLoginAt: u.lastLoginAt,
  createdAt: u.createdAt,
  disabled: u.disabledAt !== null,
  mfa: u.mfaEnabledAt !== null,
});

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
  if (!USERNAME.test(username))
    f.fail(
      'username',
      'A user name is 1 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit.',
    );
  else if (await findUserByUsername(deps.db, username)) f.fail('username', 'This user name is taken.');
  if (!isRole(role)) f.fail('role', 'Choose a role: admin, technician or readonly.');
  const passwordError = passwordProblem(password, username);
  if (passwordError) f.fail('password', passwordError);
  if (!f.ok || !isRole(role)) return invalid(f.errors);
  const passwordHash = await hashPassword(password);
  const user = await auditedChange(
    deps.db,
    actor,
    (tx) => insertUser(tx, { username, role, passwordHash }),
    (created) => ({ action: 'user.create', entityType: 'user', entityId: created.id, after: { username, role } }),
  );
  return done(user);
}

/**
 * Role, a new password set by an admin, disabling or enabling, or lifting a lockout (booleans: the console's
 * checkboxes turned into them). The last admin stays an admin and enabled. A new role or password and
 * disabling end the user's sessions and API tokens.
 */
export async function updateUser(deps: WebDeps, actor: Actor, id: unknown, body: Body): Promise<OpResult<User>> {
  const user = await loadUser(deps.db, id);
  const f = new FieldReader(body);
  const role = f.has('role') ? f.text('role') : user.role;
  if (!isRole(role)) f.fail('role', 'Choose a role: admin, technician or readonly.');
  else if (user.role === 'admin' && role !== 'admin' && (await countAdmins(deps.db)) <= 1)
    f.fail('role', 'This is the last admin; make another user admin first.');
  // Empty or left out: the password stays.
  const password = f.secret('password') || undefined;
  const passwordError = password !== undefined ? passwordProblem(password, user.username) : undefined;
  if (passwordError) f.fail('password', passwordError);
  const unlock = f.bool('unlock') === true;
  const disabled = f.has('disabled') ? f.bool('disabled') : undefined;
  const disabling = disabled === true && user.disabledAt === null;
  if (disabling && user.id === actor.user?.id) f.fail('disabled', 'You cannot disable your own account.');
  else if (disabling && user.role === 'admin' && (await countAdmins(deps.db)) <= 1)
    f.fail('disabled', 'This is the last admin; make another user admin first.');
  if (!f.ok || !isRole(role)) return invalid(f.errors);
  const passwordHash = password !== undefined ? await hashPassword(password) : undefined;
  await deps.db.withTransaction(async (tx) => {
    const changes: Record<string, unknown> = {};
    if (role !== user.role) {
      await setUserRole(tx, user.id, role);
      changes['role'] = role;
    }
    if (passwordHash !== undefined) {
      // A new password set by an admin also lifts a lockout.
      await setUserPassword(tx, user.id, passwordHash);
      await unlockUsername(tx, user.username);
      changes['password'] = '(changed)';
    }
    if (disabled !== undefined && disabled !== (user.disabledAt !== null)) {
      await setUserDisabled(tx, user.id, disabled);
      changes['disabled'] = disabled;
    }
    if (unlock) {
      await unlockUsername(tx, user.username);
      changes['unlocked'] = true;
    }
    if (changes['role'] !== undefined || changes['password'] !== undefined || changes['disabled'] === true) {
      await bumpCredentialVersion(tx, user.id, 'the account was changed by an admin');
      changes['sessionsEnded'] = true;
    }
    if (Object.keys(changes).length > 0) {
      await audit(tx, actor, {
        action: 'user.update',
        entityType: 'user',
        entityId: user.id,
        before: { username: user.username, role: user.role },
        after: { username: user.username, ...changes },
      });
    }
  });
  return done(await loadUser(deps.db, user.id));
}

export async function deleteUser(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const user = await loadUser(deps.db, id);
  if (user.id === actor.user?.id) throw new HttpError(409, 'You cannot delete your own account.');
  if (user.role === 'admin' && (await countAdmins(deps.db)) <= 1) throw new HttpError(409, 'This is the last admin.');
  await auditedChange(deps.db, actor, (tx) => removeUser(tx, user.id), {
    action: 'user.delete',
    entityType: 'user',
    entityId: user.id,
    before: { username: user.username, role: user.role },
  });
}

/** An admin's action on a user's sign-in (in one transaction with its audit entry), e.g. ending the sessions. */
async function adminActionOnUser(
  deps: WebDeps,
  actor: Actor,
  id: unknown,
  action: string,
  change: (tx: Queryable, user: User) => Promise<unknown>,
): Promise<User> {
  const user = await loadUser(deps.db, id);
  const entry = { action, entityType: 'user', entityId: user.id, after: { username: user.username } };
  await auditedChange(deps.db, actor, (tx) => change(tx, user), entry);
  return user;
}

/** Admin: ends every session and API token of a user (e.g. a lost laptop). */
export const endSessions = (deps: WebDeps, actor: Actor, id: unknown): Promise<User> =>
  adminActionOnUser(deps, actor, id, 'user.end-sessions', (tx, user) =>
    bumpCredentialVersion(tx, user.id, 'an admin ended the sessions'),
  );

/** Admin: turns a user's MFA off (a lost phone and no recovery codes) and ends their sessions. */
export const resetMfa = (deps: WebDeps, actor: Actor, id: unknown): Promise<User> =>
  adminActionOnUser(deps, actor, id, 'user.reset-mfa', async (tx, user) => {
    await setMfaSecret(tx, user.id, null);
    await bumpCredentialVersion(tx, user.id, 'an admin reset the MFA');
  });

/** The sign-in security settings; installs from before they existed read as "MFA not required". */
export async function securitySettings(db: Queryable): Promise<SecuritySettings> {
  return { requireAdminMfa: (await getSetting<SecuritySettings>(db, SECURITY_SETTING_KEY))?.requireAdminMfa === true };
}

/** Admin: "require MFA for admins" (a boolean; new installs start with it on, see bootstrap-admin.ts). */
export async function saveSecuritySettings(
  deps: WebDeps,
  actor: Actor,
  body: Body,
): Promise<OpResult<SecuritySettings>> {
  const f = new FieldReader(body);
  const requireAdminMfa = f.bool('requireAdminMfa');
  if (requireAdminMfa === undefined)
    f.fail('requireAdminMfa', 'Say whether admins must use two-factor sign-in: true or false.');
  if (!f.ok || requireAdminMfa === undefined) return invalid(f.errors);
  const settings: SecuritySettings = { requireAdminMfa };
  await auditedChange(
    deps.db,
    actor,
    async (tx) => {
      const before = await securitySettings(tx);
      await putSetting(tx, SECURITY_SETTING_KEY, settings);
      return before;
    },
    (before) => ({
      action: 'settings.security',
      entityType: 'settings',
      entityId: SECURITY_SETTING_KEY,
      before,
      after: settings,
    }),
  );
  return done(settings);
}

/** Any user: "sign out everywhere" ends all their sessions (this one too) and API tokens. */
export async function signOutEverywhere(deps: WebDeps, actor: Actor): Promise<void> {
  const user = await loadUser(deps.db, actor.user?.id);
  await deps.db.withTransaction(async (tx) => {
    await bumpCredentialVersion(tx, user.id, 'signed out everywhere');
    await audit(tx, actor, { action: 'user.sign-out-everywhere', entityType: 'user', entityId: user.id });
  });
}

/**
 * Any user: a new password for their own account, proven by the current one (a wrong one counts toward
 * the lockout). Ends the user's other sessions and API tokens; returns the new credential version, which
 * the calling session takes so it stays signed in.
 */
export async function changeOwnPassword(
  deps: WebDeps,
  actor: Actor,
  body: Body,
): Promise<OpResult<{ credentialVersion: number }>> {
  const user = await loadUser(deps.db, actor.user?.id);
  const f = new FieldReader(body);
  const currentPassword = f.secret('currentPassword');
  const newPassword = f.secret('newPassword');
  const passwordError = passwordProblem(newPassword, user.username);
  if (passwordError) f.fail('newPassword', passwordError);
  const currentError = await confirmCurrentPassword(deps, actor, user, currentPassword);
  if (currentError) f.fail('currentPassword', currentError);
  if (!f.ok) return invalid(f.errors);
  const passwordHash = await hashPassword(newPassword);
  const credentialVersion = await auditedChange(
    deps.db,
    actor,
    async (tx) => {
      await setUserPassword(tx, user.id, passwordHash);
      return bumpCredentialVersion(tx, user.id, 'the password was changed');
    },
    { action: 'user.change-password', entityType: 'user', entityId: user.id, after: { sessionsEnded: true } },
  );
  return done({ credentialVersion });
}
