/**
 * How BIG-IP replies become CertFleet failure types (docs/vendors/f5-bigip.md, "Failure modes").
 * Transport errors arrive classified already (device-http); device replies arrive as BigipHttpError.
 * Every message goes through `scrub`, so neither the password nor the token can appear in it.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { BigipHttpError } from './client';

export const COMPONENT = 'f5-bigip';

/** Replaces every secret in a message by `***`. */
export type Scrub = (message: string) => string;

/**
 * A device reply ≥ 400 → a classified error. restjavad answers a role that may not make a call with
 * 401 "Authorization failed: user=… resource=… verb=…" (terraform-provider-bigip #160, f5-appsvcs-extension
 * #420): that is a permission problem, not a wrong password.
 */
export function classifyBigipError(error: unknown, doing: string, scrub: Scrub): unknown {
  if (error instanceof ClassifiedError) return error;
  if (!(error instanceof BigipHttpError)) return error;
  const message = scrub(`${COMPONENT}: ${doing}: ${error.message}`);
  if (error.status === 401 && /authorization failed/i.test(error.deviceMessage)) {
    return classified(
      FailureType.targetPermission,
      `${message}. The BIG-IP user's role may not make this call: CertFleet needs the Administrator role (docs/vendors/f5-bigip.md).`,
    );
  }
  if (error.status === 401) return classified(FailureType.targetAuth, message);
  if (error.status === 403) return classified(FailureType.targetPermission, message);
  if (error.status === 408 || error.status === 429 || error.status >= 500)
    return classified(FailureType.targetUnreachable, message);
  return classified(FailureType.targetRejected, message);
}

/** The login's own failures: a wrong password, or the 100-token cap (retry later). */
export function classifyLoginError(error: unknown, username: string, scrub: Scrub, busyRetryAfterMs: number): unknown {
  if (error instanceof BigipHttpError && error.status === 401) {
    return classified(
      FailureType.targetAuth,
      scrub(
        `${COMPONENT}: login as "${username}" was refused (HTTP 401: ${error.deviceMessage}). Check the user name and password.`,
      ),
    );
  }
  if (
    error instanceof BigipHttpError &&
    error.status === 400 &&
    /maximum active login tokens/i.test(error.deviceMessage)
  ) {
    return classified(
      FailureType.deviceSessionBusy,
      `${COMPONENT}: user "${username}" already holds the maximum of 100 active REST tokens (F5 K44237337), held by other clients or leaked (BIG-IP 17.1.2.x bug ID1787517). Tokens expire after 20 minutes, or an administrator can delete them; CertFleet will retry.`,
      busyRetryAfterMs,
    );
  }
  return classifyBigipError(error, `login as "${username}"`, scrub);
}

/** A reply that may be retried by restarting an upload from byte 0 (not an auth or permission refusal). */
export const restartableUploadError = (error: unknown): boolean =>
  (error instanceof BigipHttpError && error.status !== 401 && error.status !== 403) ||
  (error instanceof ClassifiedError && error.type === FailureType.targetUnreachable);
