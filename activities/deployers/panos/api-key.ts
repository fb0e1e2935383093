/**
 * The PAN-OS API key (docs/vendors/panos.md "What the account needs"): a configured key, else the
 * cached one (ctx.sessionKey) validated with type=version, else keygen (which ends the admin's other
 * API sessions), stored back into the cache. A key that stops working mid-run (another keygen for the
 * same admin) is replaced once, after trying the one another worker may have stored.
 */
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import type { DeployerContext } from '../types';
import type { PanosClient, PanReply } from './client';
import type { PanosCredentials } from './descriptor';
import { credentialRejected, describeReply, ensureSuccess, failureOf } from './failures';

export interface PanosKeySession {
  /** The key, validated or generated once per deployer. */
  ensureKey: () => Promise<string>;
  /** Sends a keyed request, replacing a key that stopped working. */
  keyed<T extends { reply: PanReply }>(send: (key: string) => Promise<T>): Promise<T>;
  /** A keyed request whose reply must be a success. */
  request(action: string, send: (key: string) => Promise<PanReply>): Promise<PanReply>;
  /** How the key was obtained, and what type=version said (when it was asked). */
  info(): { source?: 'configured' | 'cached' | 'generated'; swVersion?: string; model?: string };
  /** Records what a later type=version said. */
  remember(version: { swVersion?: string; model?: string }): void;
}

export function createPanosKeySession(
  client: PanosClient,
  credentials: () => PanosCredentials,
  cache: DeployerContext['sessionKey'],
): PanosKeySession {
  const session: { key?: string; source?: 'configured' | 'cached' | 'generated'; swVersion?: string; model?: string } =
    {};

  const keygen = async (): Promise<string> => {
    const { username, password } = credentials();
    if (!password)
      throw classified(
        FailureType.targetAuth,
        `panos: the API key of admin ${username} was rejected and no password is configured to generate a new one`,
      );
    const { reply, key } = await client.keygen(username, password);
    if (reply.status !== 'success' || !key) {
      if (reply.httpStatus === 403 || credentialRejected(reply)) {
        throw classified(
          FailureType.targetAuth,
          `panos: keygen for admin ${username} was refused (${describeReply(reply)}); check the user name and password`,
        );
      }
      throw failureOf('keygen', reply);
    }
    await cache?.set(key);
    session.key = key;
    session.source = 'generated';
    return key;
  };

  /** Validates a key with type=version; undefined when the key is refused. */
  const tryKey = async (key: string, source: 'configured' | 'cached'): Promise<string | undefined> => {
    const version = await client.version(key);
    if (version.reply.status !== 'success') {
      if (credentialRejected(version.reply)) return undefined;
      throw failureOf('version check', version.reply);
    }
    Object.assign(session, { key, source, swVersion: version.swVersion, model: version.model });
    return key;
  };

  const ensureKey = async (): Promise<string> => {
    if (session.key) return session.key;
    const { apiKey, username } = credentials();
    if (apiKey) {
      const ok = await tryKey(apiKey, 'configured');
      if (!ok)
        throw classified(
          FailureType.targetAuth,
          `panos: the configured API key for admin ${username} was rejected (Invalid Credential); generate a new key or configure the password instead`,
        );
      return ok;
    }
    const cached = await cache?.get();
    return (cached && (await tryKey(cached, 'cached'))) || keygen();
  };

  const keyed = async <T extends { reply: PanReply }>(send: (key: string) => Promise<T>): Promise<T> => {
    const key = await ensureKey();
    const first = await send(key);
    if (!credentialRejected(first.reply) || session.source === 'configured') return first;
    session.key = undefined;
    const stored = await cache?.get();
    if (stored && stored !== key) {
      const second = await send(stored);
      if (!credentialRejected(second.reply)) {
        Object.assign(session, { key: stored, source: 'cached' });
        return second;
      }
    }
    return send(await keygen());
  };

  return {
    ensureKey,
    keyed,
    request: async (action, send) =>
      ensureSuccess(action, (await keyed(async (key) => ({ reply: await send(key) }))).reply),
    info: () => ({
      ...(session.source ? { source: session.source } : {}),
      ...(session.swVersion ? { swVersion: session.swVersion } : {}),
      ...(session.model ? { model: session.model } : {}),
    }),
    remember(version) {
      if (version.swVersion) session.swVersion = version.swVersion;
      if (version.model) session.model = version.model;
    },
  };
}
