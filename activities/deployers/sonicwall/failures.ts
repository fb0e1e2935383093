/**
 * SonicWall: what a SonicOS API answer means, as a classified error a technician can act on
 * (docs/vendors/sonicwall.md: status envelope, busy sessions, E_DISABLED, pre-emption).
 */
import { FailureType } from '../../../temporal/contract';
import { classified, type ClassifiedError } from '../../errors';
import type { SonicWallClient, SonicResponse } from './client';
import type { SonicWallOptions } from './descriptor';

export const COMPONENT = 'sonicwall';

/**
 * A login refused because another session holds the device. DOCUMENTED: that it is refused ("a single
 * SonicOS API session is currently allowed", API guide "Client Authentication") and that `override`
 * pre-empts (sonicwall/sonicos-automation; 7.0.1 OpenAPI `auth.override`). ASSUMPTION (no source shows
 * the refusal's body): `E_BUSY` is what the fake answers; the patterns cover wordings SonicOS might
 * use. docs/vendors/sonicwall.md, assumption A2.
 */
export function isSessionBusy(r: SonicResponse): boolean {
  const code = r.info?.code ?? '';
  const message = r.info?.message ?? '';
  return (
    /^E_(BUSY|SESSION|PREEMPT|CONFIG_MODE|ADMIN_LOGGED_IN)/i.test(code) ||
    /already logged in|another (administrator|admin|user|session)|is logged in|session (is )?(active|open|in use)|in config(uration)? mode|pre-?empt/i.test(
      message,
    )
  );
}

/** A session the device ended because another administrator pre-empted it (override). */
const isPreempted = (r: SonicResponse): boolean =>
  /pre-?empt|another (administrator|admin)|overrid/i.test(`${r.info?.code ?? ''} ${r.info?.message ?? ''}`);

export const ok = (r: SonicResponse): boolean => r.status === 200 && r.success !== false;
export const deviceSays = (r: SonicResponse): string => {
  const code = r.info?.code;
  const message = r.info?.message?.trim();
  if (code && message) return `${code}: ${message}`;
  return code ?? message ?? `HTTP ${r.status}`;
};
export const isDisabled = (r: SonicResponse): boolean =>
  r.info?.code === 'E_DISABLED' || /service disabled/i.test(r.info?.message ?? '');

export const API_DISABLED =
  'the SonicOS API is disabled on the firewall (E_DISABLED "Service disabled."). Enable it under Device → Settings → Administration → SonicOS API, with Basic or CHAP authentication.';

export interface SonicFailureContext {
  client: SonicWallClient;
  username: string;
  options: Pick<SonicWallOptions, 'override' | 'authMethod'>;
  busyRetryAfterMs: number;
  /** Replaces the target's secrets in a message. */
  scrub: (message: string) => string;
}

export interface SonicFailures {
  /** Maps a non-success answer within a session to a classified error. */
  failure: (r: SonicResponse, what: string) => ClassifiedError;
  /** The answer when it is a success, else throws `failure`. */
  expect: (r: SonicResponse, what: string) => SonicResponse;
  /** Maps a refused login (or CHAP challenge) to a classified error. */
  loginFailure: (r: SonicResponse, override: boolean) => ClassifiedError;
}

export function sonicFailures({
  client,
  username,
  options,
  busyRetryAfterMs,
  scrub,
}: SonicFailureContext): SonicFailures {
  function failure(r: SonicResponse, what: string): ClassifiedError {
    const prefix = `${COMPONENT}: ${what}`;
    if (r.status === 403 && isDisabled(r))
      return classified(FailureType.targetPermission, `${prefix}: ${API_DISABLED}`);
    if (r.status === 401) {
      client.forgetSession();
      if (isPreempted(r)) {
        return classified(
          FailureType.deviceSessionBusy,
          scrub(
            `${prefix}: another administrator pre-empted CertFleet's session (${deviceSays(r)}); the firewall dropped the uncommitted changes. CertFleet will retry.`,
          ),
          busyRetryAfterMs,
        );
      }
      return classified(
        FailureType.targetUnreachable,
        scrub(`${prefix}: the firewall ended the session (${deviceSays(r)}); retrying with a new session may help`),
      );
    }
    if (r.status === 403)
      return classified(
        FailureType.targetPermission,
        scrub(`${prefix}: permission denied (${deviceSays(r)}). The account must be a full administrator.`),
      );
    if (r.status >= 500 || r.status === 408 || r.status === 429) {
      return classified(
        FailureType.targetUnreachable,
        scrub(`${prefix}: the firewall answered HTTP ${r.status} (${deviceSays(r)}); retrying may help`),
      );
    }
    if (r.status === 404 && !r.info)
      return classified(
        FailureType.targetRejected,
        `${prefix}: not found (HTTP 404); this SonicOS may not offer that API`,
      );
    return classified(FailureType.targetRejected, scrub(`${prefix}: ${deviceSays(r)}`));
  }

  const expect = (r: SonicResponse, what: string): SonicResponse => {
    if (!ok(r)) throw failure(r, what);
    return r;
  };

  function loginFailure(r: SonicResponse, override: boolean): ClassifiedError {
    const prefix = `${COMPONENT}: login as "${username}"`;
    if (r.status === 403 && isDisabled(r))
      return classified(FailureType.targetPermission, `${prefix}: ${API_DISABLED}`);
    if (isSessionBusy(r)) {
      return classified(
        FailureType.deviceSessionBusy,
        scrub(
          `${prefix} was refused because another session holds the firewall: "${r.info?.message?.trim() || r.info?.code || `HTTP ${r.status}`}". SonicOS allows one API session and one administrator in config mode at a time; ${
            override
              ? 'override was requested but not granted'
              : options.override
                ? 'CertFleet never pre-empts anyone for a connection test'
                : 'CertFleet does not pre-empt it (the target\'s "override" option is off)'
          } and will retry.`,
        ),
        busyRetryAfterMs,
      );
    }
    if (r.status === 401 && !r.body) {
      return classified(
        FailureType.targetAuth,
        `${prefix}: refused with an empty HTTP 401. ${
          options.authMethod === 'basic'
            ? 'Basic authentication is probably disabled on this firewall (Digest-only appliances answer this way): enable Basic under SonicOS API, or set the target to CHAP.'
            : 'Check the user name and password.'
        }`,
      );
    }
    if (r.status === 401)
      return classified(
        FailureType.targetAuth,
        scrub(
          `${prefix} was refused (${deviceSays(r)}). Check the user name and password, and that the account is a full administrator.`,
        ),
      );
    if (r.status === 404)
      return classified(
        FailureType.targetRejected,
        `${prefix}: /api/sonicos/auth answered 404: this firewall has no SonicOS API (Gen5), or the port is not its management port.`,
      );
    return failure(r, `login as "${username}"`);
  }

  return { failure, expect, loginFailure };
}
