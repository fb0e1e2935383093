/**
 * The console alone on the real peers it reads and commands: a fresh PostgreSQL database and the
 * Temporal dev server, `createApp(deps)` listening on a free port, users of every role with a
 * signed-in console client and an API token each. No worker: commands start workflows that wait.
 */
import { createConsoleCommands } from '../../web/commands';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import pino from 'pino';
import { createSecretBox, type SecretBox } from '../../activities/crypto/secret-box';
import { insertApiToken } from '../../activities/db/repositories/api-tokens';
import { insertUser, type Role } from '../../activities/db/repositories/users';
import { connectTemporal } from '../../temporal/connection';
import { createApp } from '../../web/app';
import type { LoginProtection, WebDeps } from '../../web/deps';
import { hashToken, TOKEN_PREFIX } from '../../web/operations/api-tokens';
import { hashPassword } from '../../web/passwords';
import { ConsoleClient } from './console-client';
import { createTestDatabase, type TestDatabase } from './db';
import { startTestTemporal, type TestTemporal } from './temporal';
import { jsonOrUndefined } from './json';

export const ROLE_PASSWORD = 'role-password-1234';

export interface ConsoleApp {
  url: string;
  app: Express;
  deps: WebDeps;
  db: TestDatabase;
  temporal: TestTemporal;
  box: SecretBox;
  /** A new user of this role (name derived from the role unless given). */
  addUser(role: Role, username?: string): Promise<{ id: string; username: string }>;
  /** A console client signed in as a new user of this role. */
  signedIn(role: Role, username?: string): Promise<ConsoleClient>;
  /** An API token of a new user of this role. */
  apiToken(role: Role, username?: string): Promise<string>;
  /** JSON API call with a bearer token. */
  api(
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown; text: string; headers: Headers }>;
  stop: () => Promise<void>;
}

export async function startConsoleApp(
  options: { login?: LoginProtection; metricsToken?: string } = {},
): Promise<ConsoleApp> {
  const [db, temporal] = await Promise.all([createTestDatabase(), startTestTemporal()]);
  const { connection, client } = await connectTemporal(
    { address: temporal.address, namespace: 'default' },
    { quickRetries: true },
  );
  const box = createSecretBox(randomBytes(32));
  const deps: WebDeps = {
    db: db.db,
    box,
    log: pino({ level: 'silent' }),
    temporal: { client, namespace: 'default', uiUrl: 'http://127.0.0.1:8233' },
    commands: createConsoleCommands({ client, namespace: 'default' }),
    renewalSchedule: { intervalSeconds: 3600, jitterSeconds: 60 },
    secureCookies: false,
    ...(options.login ? { login: options.login } : {}),
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
  };
  const app = createApp(deps);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let counter = 0;

  const addUser = async (role: Role, username?: string) => {
    counter += 1;
    const user = await db.db.withTransaction(async (tx) =>
      insertUser(tx, {
        username: username ?? `${role}-${counter}`,
        role,
        passwordHash: await hashPassword(ROLE_PASSWORD),
      }),
    );
    return { id: user.id, username: user.username };
  };

  return {
    url,
    app,
    deps,
    db,
    temporal,
    box,
    addUser,
    async signedIn(role, username) {
      const user = await addUser(role, username);
      const client = new ConsoleClient(url);
      await client.login(user.username, ROLE_PASSWORD);
      return client;
    },
    async apiToken(role, username) {
      const user = await addUser(role, username);
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      await insertApiToken(db.db, {
        userId: user.id,
        name: 'test',
        tokenHash: hashToken(token),
        prefix: token.slice(0, 10),
      });
      return token;
    },
    async api(token, method, path, body) {
      const response = await fetch(new URL(path, url), {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      const json = jsonOrUndefined(text);
      return { status: response.status, json, text, headers: response.headers };
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await connection.close();
      await temporal.stop();
      await db.drop();
    },
  };
}
