/**
 * SonicWall: one API session at a time (docs/vendors/sonicwall.md). Login (Basic or CHAP, a
 * leftover session of ours ended first), the work, logout, also when the work fails; methods of one
 * deployer never overlap; commits checked by reading the pending list back.
 */
import { createHash } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import type { SonicWallClient, SonicResponse } from './client';
import type { SonicWallOptions } from './descriptor';
import { API_DISABLED, COMPONENT, isDisabled, ok, type SonicFailures } from './failures';

/** CHAP digest: MD5 over the bytes of the hex id, the UTF-8 password and the bytes of the hex challenge (sonicos-automation). */
export function chapDigest(id: string, password: string, challenge: string): string {
  return createHash('md5')
    .update(Buffer.from(id, 'hex'))
    .update(Buffer.from(password, 'utf8'))
    .update(Buffer.from(challenge, 'hex'))
    .digest('hex');
}

/** How many changes `GET config/pending` still lists (ASSUMPTION: a `pending` array; an empty body = none). */
export function pendingCount(r: SonicResponse): number {
  const pending = r.body?.['pending'] ?? r.list;
  return Array.isArray(pending) ? pending.length : 0;
}

export interface SonicSessionContext {
  client: SonicWallClient;
  username: string;
  password: string;
  options: Pick<SonicWallOptions, 'override' | 'authMethod'>;
  busyRetryAfterMs: number;
  failures: SonicFailures;
}

export interface SonicSession {
  /**
   * Login → work → logout, the logout also after a failure. `override` (pre-empt whoever is logged
   * in) only when the target asks for it and never for a read-only look (preflight).
   */
  session: <T>(work: () => Promise<T>, mayOverride?: boolean) => Promise<T>;
  /** Runs `work` after every earlier method of this deployer ended. */
  exclusive: <T>(work: () => Promise<T>) => Promise<T>;
  logoutQuietly: () => Promise<void>;
  /** Drops staged changes; never throws. */
  discardQuietly: () => Promise<void>;
  /** POST config/pending, then GET it: nothing may be left staged. */
  commit: (what: string) => Promise<void>;
}

export function createSonicSession({
  client,
  username,
  password,
  options,
  busyRetryAfterMs,
  failures,
}: SonicSessionContext): SonicSession {
  const { expect, failure, loginFailure } = failures;
  /** Methods of one instance run one after another: a second login would be refused by our own session. */
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  /**
   * True until this attempt's first login, and again after a logout that did not go through: a
   * session of ours may be open on the firewall (a crashed attempt's, or the one we could not end).
   */
  let mayHaveLeftSession = true;

  async function login(override: boolean): Promise<void> {
    if (mayHaveLeftSession) {
      // A session we left behind blocks the firewall's single API session (docs/vendors/sonicwall.md): end it first.
      // Best effort: the login's own answer tells what is still in the way.
      await client.endLeftoverSession(username, password).catch(() => undefined);
      mayHaveLeftSession = false;
    }
    let r: SonicResponse;
    if (options.authMethod === 'chap') {
      const challenge = await client.chapChallenge();
      const id = challenge.body?.['id'];
      const value = challenge.body?.['challenge'];
      if (challenge.status === 403 && isDisabled(challenge))
        throw classified(FailureType.targetPermission, `${COMPONENT}: CHAP challenge: ${API_DISABLED}`);
      if (!challenge.body) {
        // SonicWall's own tooling sees a non-JSON answer here while an administrator is logged in.
        throw classified(
          FailureType.deviceSessionBusy,
          `${COMPONENT}: the CHAP challenge request got no JSON answer (HTTP ${challenge.status}); SonicOS answers so while another administrator is logged in. CertFleet will retry.`,
          busyRetryAfterMs,
        );
      }
      if (
        typeof id !== 'string' ||
        typeof value !== 'string' ||
        !/^[0-9a-f]+$/i.test(id) ||
        !/^[0-9a-f]+$/i.test(value)
      ) {
        if (!ok(challenge)) throw loginFailure(challenge, override);
        throw classified(
          FailureType.targetRejected,
          `${COMPONENT}: the CHAP challenge answer has no hex "id" and "challenge"; is CHAP enabled under SonicOS API?`,
        );
      }
      r = await client.loginChap({ override, id, user: username, digest: chapDigest(id, password, value) }, password);
    } else {
      r = await client.loginBasic(username, password, override);
    }
    if (!ok(r)) throw loginFailure(r, override);
    if (r.info?.auth_code === 'API_AUTH_PASSWORD_UPDATE') {
      await logoutQuietly();
      throw classified(
        FailureType.targetAuth,
        `${COMPONENT}: the firewall requires a new password for "${username}" before the API can be used (API_AUTH_PASSWORD_UPDATE). Log in once in the web UI, change it, and update the target.`,
      );
    }
  }

  /** Logs out; a transport failure is retried once. Never throws: the session then ends at the idle timeout. */
  async function logoutQuietly(): Promise<void> {
    for (let attempt = 0; attempt < 2 && client.hasSession; attempt++) {
      try {
        const r = await client.logout();
        if (r.status >= 500) mayHaveLeftSession = true;
        return;
      } catch (error) {
        if (!(error instanceof ClassifiedError && error.type === FailureType.targetUnreachable)) break;
      }
    }
    if (client.hasSession) mayHaveLeftSession = true;
    client.forgetSession();
  }

  /**
   * Login → work → logout, the logout also after a failure. `override` (pre-empt whoever is logged
   * in) only when the target asks for it and never for a read-only look (preflight).
   */
  const session = <T>(work: () => Promise<T>, mayOverride = true): Promise<T> =>
    exclusive(async () => {
      await login(mayOverride && options.override);
      try {
        return await work();
      } finally {
        await logoutQuietly();
      }
    });

  async function discardQuietly(): Promise<void> {
    try {
      if (client.hasSession) await client.discardPending();
    } catch {
      // Logout drops pending changes as well (docs/vendors/sonicwall.md).
    }
  }

  /** POST config/pending, then GET it: nothing may be left staged ([sw-doc] Commit Pending Configuration). */
  async function commit(what: string): Promise<void> {
    const r = await client.commitPending();
    if (!ok(r)) {
      const error = failure(r, `commit (${what})`);
      if (error.type === FailureType.targetRejected) throw classified(FailureType.commitFailed, error.message);
      throw error;
    }
    const left = expect(await client.pendingChanges(), `read the pending changes after the commit (${what})`);
    const pending = pendingCount(left);
    if (pending > 0) {
      throw classified(
        FailureType.commitFailed,
        `${COMPONENT}: commit (${what}): the firewall accepted the commit but still lists ${pending} pending change(s); nothing more was changed. Check Device → Settings → pending configuration.`,
      );
    }
  }

  return { session, exclusive, logoutQuietly, discardQuietly, commit };
}
