/**
 * A private PostgreSQL server for tests that stop and start their database (the shared one on
 * 127.0.0.1:5432 is never touched). It runs Debian's server binaries (the machine's PostgreSQL
 * package; `TEST_POSTGRES_BINDIR` overrides) with its data in a temporary directory, so it works
 * wherever the clone lives: as root the server runs as the `postgres` user, which only needs to
 * reach that directory and /usr/lib/postgresql.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { postgresUser } from '../../scripts/embedded-postgres';
import { spawnManaged, type ManagedProcess } from './process';

export interface PrivatePostgres {
  /** A superuser connection to its `postgres` database (trust auth, loopback only). */
  readonly adminUrl: string;
  /** A fast shutdown (SIGINT: clients are disconnected); waits until the server has exited. */
  stop: () => Promise<void>;
  /** Starts it again on the same data and port. */
  start(): Promise<void>;
}

function serverBinDir(): string {
  const configured = process.env['TEST_POSTGRES_BINDIR'];
  if (configured) return configured;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined)
    throw new Error(
      `no PostgreSQL server binaries under ${root} (apt-get install postgresql, or set TEST_POSTGRES_BINDIR)`,
    );
  return path.join(root, newest, 'bin');
}

/**
 * Creates a cluster under `dir` (which it makes traversable) and starts it on `port`, with `settings`
 * (`-c name=value` arguments, e.g. scripts/topology.ts postgresSettingArgs()) after the test ones.
 */
export async function startPrivatePostgres(
  dir: string,
  port: number,
  settings: readonly string[] = [],
): Promise<PrivatePostgres> {
  const bin = serverBinDir();
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dataDir = path.join(dir, 'data');
  await chmod(dir, 0o711);
  await mkdir(dataDir, { mode: 0o700 });
  if (user) await chown(dataDir, user.uid, user.gid);
  const initdb = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync'],
    {
      encoding: 'utf8',
      ...(user ?? {}),
    },
  );
  if (initdb.error || initdb.status !== 0) {
    throw new Error(`initdb failed (${initdb.error?.message ?? `exit ${initdb.status}`}): ${initdb.stderr}`);
  }
  let server: ManagedProcess | undefined;
  const start = async (): Promise<void> => {
    server = await spawnManaged(
      path.join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
        ...settings,
      ],
      {
        name: 'private postgres',
        ...(user ?? {}),
        readyWhen: /database system is ready to accept connections/,
        stopSignal: 'SIGINT',
        timeoutMs: 30_000,
      },
    );
  };
  await start();
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    start,
  };
}
