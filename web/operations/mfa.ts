import { SecretPurpose } from '../../activities/crypto/secret-box';
import {
  acceptMfaStep,
  enableMfa,
  setMfaSecret,
  useRecoveryCode,
  type User,
} from '../../activities/db/repositories/users';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { hashRecoveryCode, looksLikeRecoveryCode, newRecoveryCodes, newTotpSecret, otpauthUri, totpStep } from '../mfa';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';
import { confirmCurrentPassword } from './login-guard';
import { loadUser } from './users';

const openSecret = (deps: WebDeps, user: User): string | undefined =>
  user.mfaSecretSealed ? deps.box.openText(user.mfaSecretSealed, SecretPurpose.mfaSecret) : undefined;

/**
 * The second factor at sign-in (or to turn MFA off): a current TOTP code not used before, or an unused
 * recovery code (used up by this). Returns how, or undefined when the code is wrong.
 */
export async function checkSecondFactor(
  deps: WebDeps,
  user: User,
  code: string,
): Promise<'totp' | 'recovery-code' | undefined> {
  const secret = user.mfaEnabledAt ? openSecret(deps, user) : undefined;
  if (!secret) return undefined;
  if (looksLikeRecoveryCode(code))
    return (await useRecoveryCode(deps.db, user.id, hashRecoveryCode(code))) ? 'recovery-code' : undefined;
  const step = await totpStep(secret, code, user.mfaLastStep);
  return step !== undefined && (await acceptMfaStep(deps.db, user.id, step)) ? 'totp' : undefined;
}

/** What the set-up page shows while a secret waits for its first code: the user's own secret, to type or scan. */
export function pendingEnrolment(deps: WebDeps, user: User): { secret: string; uri: string } | undefined {
  const secret = !user.mfaEnabledAt ? openSecret(deps, user) : undefined;
  return secret ? { secret, uri: otpauthUri(user.username, secret) } : undefined;
}

/** Step 1: proven by the current password, a new secret waits (sealed) for its first code. */
export async function startEnrolment(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<void>> {
  const user = await loadUser(deps.db, actor.user?.id);
  if (user.mfaEnabledAt)
    throw new HttpError(409, 'Two-factor sign-in is on already; turn it off first to set up a new app.');
  const f = new FieldReader(body);
  const currentError = await confirmCurrentPassword(deps, actor, user, f.secret('currentPassword'));
  if (currentError) f.fail('currentPassword', currentError);
  if (!f.ok) return invalid(f.errors);
  await deps.db.withTransaction(async (tx) => {
    await setMfaSecret(tx, user.id, deps.box.seal(newTotpSecret(), SecretPurpose.mfaSecret));
    await audit(tx, actor, { action: 'user.mfa-start', entityType: 'user', entityId: user.id });
  });
  return done(undefined);
}

/** Step 2: the first code from the app turns MFA on; the ten recovery codes are returned once. */
export async function confirmEnrolment(
  deps: WebDeps,
  actor: Actor,
  body: Body,
): Promise<OpResult<{ recoveryCodes: string[] }>> {
  const user = await loadUser(deps.db, actor.user?.id);
  const secret = user.mfaEnabledAt ? undefined : openSecret(deps, user);
  if (!secret) throw new HttpError(409, 'Start the set-up first (Set up two-factor sign-in).');
  const f = new FieldReader(body);
  const step = await totpStep(secret, f.text('code'), null);
  if (step === undefined)
    f.fail(
      'code',
      "This code is not right. Enter the 6 digits your app shows now (check the phone's clock if it keeps failing).",
    );
  if (!f.ok || step === undefined) return invalid(f.errors);
  const recoveryCodes = newRecoveryCodes();
  await deps.db.withTransaction(async (tx) => {
    await enableMfa(tx, user.id, step, recoveryCodes.map(hashRecoveryCode));
    await audit(tx, actor, { action: 'user.mfa-enable', entityType: 'user', entityId: user.id });
  });
  return done({ recoveryCodes });
}

/** Turning MFA off: the current password and a code. Not while it is required for the user. */
export async function disableMfa(deps: WebDeps, actor: Actor, body: Body, required: boolean): Promise<OpResult<void>> {
  const user = await loadUser(deps.db, actor.user?.id);
  if (!user.mfaEnabledAt) throw new HttpError(409, 'Two-factor sign-in is off already.');
  if (required)
    throw new HttpError(409, 'Two-factor sign-in is required for admins; an admin can reset it if you lost your app.');
  const f = new FieldReader(body);
  const currentError = await confirmCurrentPassword(deps, actor, user, f.secret('currentPassword'));
  if (currentError) f.fail('currentPassword', currentError);
  else if (!(await checkSecondFactor(deps, user, f.text('code'))))
    f.fail('code', 'This code is not right (or was used already).');
  if (!f.ok) return invalid(f.errors);
  await deps.db.withTransaction(async (tx) => {
    await setMfaSecret(tx, user.id, null);
    await audit(tx, actor, { action: 'user.mfa-disable', entityType: 'user', entityId: user.id });
  });
  return done(undefined);
}
