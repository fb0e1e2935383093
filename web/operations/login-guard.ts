import { clearLoginFailures, lockedUntil, recordLoginFailure } from '../../activities/db/repositories/login-failures';
import { bumpCredentialVersion, type User } from '../../activities/db/repositories/users';
import { audit } from '../audit';
import { DEFAULT_LOGIN_PROTECTION, type WebDeps } from '../deps';
import { verifyPassword } from '../passwords';
import type { Actor } from './input';

const untilText = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/** The same words for known and unknown names: the answer never tells whether an account exists. */
export const lockedMessage = (until: Date): string =>
  `Too many failed sign-ins with this user name from your address: refused until ${untilText(until)}. An admin can unlock it sooner.`;

const addressOf = (actor: Actor): string => (actor.ip ?? 'unknown').slice(0, 64);

/** Until when sign-ins of this name from the actor's address are refused, if they are. */
export const currentLock = (deps: WebDeps, actor: Actor, username: string): Promise<Date | null> =>
  lockedUntil(deps.db, username, addressOf(actor));

/**
 * Counts a failed password or code of `username` from the actor's address (known or not); returns the lock
 * if this failure locked the pair. A lock from a signed-in session (the current-password check) also ends
 * that user's sessions and tokens: someone holding a session is guessing the password.
 */
export async function countFailure(
  deps: WebDeps,
  actor: Actor,
  username: string,
  user?: Pick<User, 'id' | 'username'>,
): Promise<Date | null> {
  const protection = deps.login ?? DEFAULT_LOGIN_PROTECTION;
  return deps.db.withTransaction(async (tx) => {
    const until = await recordLoginFailure(tx, username, addressOf(actor), protection.maxFailures, protection.lockMs);
    if (until && user) {
      await audit(tx, actor, {
        action: 'user.locked',
        entityType: 'user',
        entityId: user.id,
        after: { username: user.username, lockedUntil: until, address: addressOf(actor) },
      });
      if (actor.user?.id === user.id)
        await bumpCredentialVersion(tx, user.id, 'locked after wrong passwords from a signed-in session');
    }
    return until;
  });
}

export const clearFailures = (deps: WebDeps, actor: Actor, username: string): Promise<void> =>
  clearLoginFailures(deps.db, username, addressOf(actor));

/**
 * The current-password check of a signed-in user (password change, MFA set-up and turning it off): a wrong
 * password counts toward the lockout like a failed sign-in. Returns the field error, or undefined.
 */
export async function confirmCurrentPassword(
  deps: WebDeps,
  actor: Actor,
  user: User,
  password: string,
): Promise<string | undefined> {
  const locked = await currentLock(deps, actor, user.username);
  if (locked) return lockedMessage(locked);
  if (await verifyPassword(password, user.passwordHash)) return undefined;
  const until = await countFailure(deps, actor, user.username, user);
  return until ? `${lockedMessage(until)} You are signed out.` : 'This is not your current password.';
}
