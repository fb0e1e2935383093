/**
 * One iControl REST session per deployer instance: a token created at the first call and deleted in
 * close(), also after failures (100 active tokens per user: docs/vendors/f5-bigip.md). A token the
 * device no longer knows ("auth-token does not exist") is renewed once.
 */
import { createDeviceHttp } from '../device-http';
import type { DeployerTarget } from '../types';
import { BigipClient, BigipHttpError } from './client';
import type { BigipCredentials } from './descriptor';
import { classifyBigipError, classifyLoginError, COMPONENT, type Scrub } from './failures';

export interface BigipSession {
  client: BigipClient;
  /** Logs in once (lazily), runs the work and classifies its errors. */
  step<T>(doing: string, work: () => Promise<T>): Promise<T>;
  scrub: Scrub;
  close: () => Promise<void>;
}

/** `credentials` is read at the first login, after the deployer has validated its configuration. */
export function openBigipSession(
  target: DeployerTarget,
  credentials: () => BigipCredentials,
  busyRetryAfterMs: number,
): BigipSession {
  const http = createDeviceHttp(target, COMPONENT);
  const client = new BigipClient(http);
  let token: string | undefined;
  let loggingIn: Promise<void> | undefined;
  let renewed = false;
  let closed = false;

  const secrets = (): string[] => [target.credentials['password'] ?? '', token ?? ''].filter((s) => s.length >= 4);
  const scrub: Scrub = (message) => secrets().reduce((m, s) => m.split(s).join('***'), message);

  async function login(): Promise<void> {
    const { username, password } = credentials();
    try {
      const result = await client.login(username, password);
      token = result.token;
      client.useToken(token);
    } catch (error) {
      throw classifyLoginError(error, username, scrub, busyRetryAfterMs);
    }
  }

  async function step<T>(doing: string, work: () => Promise<T>): Promise<T> {
    if (closed) throw new Error(`${COMPONENT}: deployer used after close()`);
    if (!token) {
      loggingIn ??= login().finally(() => {
        loggingIn = undefined;
      });
      await loggingIn;
    }
    try {
      return await work();
    } catch (error) {
      if (
        error instanceof BigipHttpError &&
        error.status === 401 &&
        /auth-token does not exist/i.test(error.deviceMessage) &&
        !renewed
      ) {
        renewed = true;
        token = undefined;
        client.useToken(undefined);
        await login();
        try {
          return await work();
        } catch (again) {
          throw classifyBigipError(again, doing, scrub);
        }
      }
      throw classifyBigipError(error, doing, scrub);
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    try {
      if (token) await client.deleteToken(token);
    } catch {
      // The token expires on its own (20 minutes); nothing else to do.
    } finally {
      token = undefined;
      client.useToken(undefined);
      await http.close();
    }
  }

  return { client, step, scrub, close };
}
