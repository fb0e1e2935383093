/**
 * The production topology as processes: the second runner of scripts/topology.ts (docker-compose.yml
 * is the first). A private PostgreSQL (so a test can restart it) holding Temporal's two databases and
 * CertFleet's; the compose init script's `temporal` role; temporal-sql-tool's schema steps; the real
 * Temporal server 1.29.1; the namespace created by the one-shot's commands; CertFleet's migrations,
 * then the web and the workers as separate processes with the commands of scripts/processes.ts and
 * the environment compose gives them (CERTFLEET_PROCESS_ENV). The peers (Pebble, fake Cloudflare,
 * SMTP catcher) and the console client are those of stack.ts.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { restoreDatabases } from '../../scripts/backup/databases';
import { readVerifiedManifest } from '../../scripts/backup/manifest';
import { PROCESS_COMMANDS } from '../../scripts/processes';
import {
  CERTFLEET_PROCESS_ENV,
  DEFAULT_NAMESPACE,
  DEFAULT_NAMESPACE_RETENTION,
  postgresSettingArgs,
} from '../../scripts/topology';
import { compiledBuild } from './compiled-build';
import { createEmptyTestDatabase } from './db';
import { freePort } from './free-port';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';
import { registerExitCleanup } from './process';
import { processCommand, startStackOn, type Stack, type StackOptions } from './stack';
import {
  createNamespace,
  untilHistoryServes,
  runToEnd,
  setUpTemporalSchema,
  startTemporalServer,
  type RealTemporal,
} from './temporal-server';

export interface ProductionStack extends Stack<RealTemporal> {
  postgres: PrivatePostgres;
  /** The temporal-sql-tool argument lists the schema step ran. */
  schemaCommands: string[][];
  namespace: 'created' | 'existed';
  /** Milliseconds of each phase of the start, for the report. */
  timings: Record<string, number>;
}

/** The compose init script's role (configs.postgres-init of docker-compose.yml). */
async function createTemporalRole(adminUrl: string, password: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // A literal, as psql's :'var' writes it: the password is hex, so it needs no quoting.
    await client.query(`CREATE ROLE temporal LOGIN CREATEDB PASSWORD '${password}'`);
  } finally {
    await client.end();
  }
}

export interface ProductionStackOptions extends Omit<StackOptions, 'webProcess'> {
  /**
   * A directory written by `npm run backup` (scripts/backup/databases.ts): the three databases are
   * restored into the new PostgreSQL instead of being created, so Temporal's schema step is skipped
   * and the namespace step finds the namespace (docs/backup-restore.md, "Restoring"). Start the stack
   * with the backup's master key in `env.CERTFLEET_MASTER_KEY`.
   */
  restoreFrom?: string;
}

/** Restores a backup's three databases onto `adminUrl`'s server, CertFleet's into `certfleetUrl`'s (empty) database. */
async function restoreBackup(backupDir: string, adminUrl: string, certfleetUrl: string): Promise<void> {
  const manifest = await readVerifiedManifest(backupDir);
  await restoreDatabases(backupDir, manifest.files, {
    serverUrl: adminUrl,
    names: {
      certfleet: decodeURIComponent(new URL(certfleetUrl).pathname.slice(1)),
      temporal: 'temporal',
      temporal_visibility: 'temporal_visibility',
    },
    owners: { temporal: 'temporal', temporal_visibility: 'temporal' },
  });
}

/** Starts the whole production topology (web as a process; start workers with stack.startWorker()). */
export async function startProductionStack(options: ProductionStackOptions = {}): Promise<ProductionStack> {
  const { restoreFrom, ...stackOptions } = options;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-production-'));
  const unregister = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const result = await work();
    timings[phase] = Date.now() - t0;
    return result;
  };
  let postgres: PrivatePostgres | undefined;
  let schemaCommands: string[][] = [];
  let namespace: 'created' | 'existed' = 'existed';
  const previousAdminUrl = process.env['TEST_DATABASE_ADMIN_URL'];
  const cleanup = async (): Promise<void> => {
    await postgres?.stop();
    if (previousAdminUrl === undefined) delete process.env['TEST_DATABASE_ADMIN_URL'];
    else process.env['TEST_DATABASE_ADMIN_URL'] = previousAdminUrl;
    await rm(dir, { recursive: true, force: true });
    unregister();
  };
  try {
    const stack = await startStackOn<RealTemporal>(
      {
        async start(stops) {
          // PostgreSQL runs as the postgres user when this is root: it must traverse the temporary directory.
          await chmod(dir, 0o711);
          await mkdir(path.join(dir, 'postgres'));
          const pg = await timed('postgres', async () =>
            startPrivatePostgres(path.join(dir, 'postgres'), await freePort(), postgresSettingArgs()),
          );
          postgres = pg;
          // CertFleet's database lives in the same server, as under compose.
          process.env['TEST_DATABASE_ADMIN_URL'] = pg.adminUrl;
          const access = {
            host: '127.0.0.1',
            port: Number(new URL(pg.adminUrl).port),
            user: 'temporal',
            password: randomBytes(12).toString('hex'),
          };
          await createTemporalRole(pg.adminUrl, access.password);
          // Empty: the migrations process below migrates it, as the compose one-shot does (or finds it restored).
          const db = await createEmptyTestDatabase();
          stops.push(db.drop);
          if (restoreFrom) await timed('restore', () => restoreBackup(restoreFrom, pg.adminUrl, db.url));
          else schemaCommands = await timed('temporal-schema', () => setUpTemporalSchema(access));
          const temporal = await timed('temporal', () => startTemporalServer(path.join(dir, 'temporal'), access));
          stops.push(temporal.stop);
          namespace = await timed('temporal-namespace', () =>
            createNamespace(temporal.address, DEFAULT_NAMESPACE, DEFAULT_NAMESPACE_RETENTION),
          );
          await timed('temporal-history', () => untilHistoryServes(temporal.address, DEFAULT_NAMESPACE));
          return { db, temporal };
        },
        async beforeProcesses(env) {
          const [node, args] = processCommand(PROCESS_COMMANDS.migrations);
          const cwd = await compiledBuild();
          await timed('migrations', () => runToEnd(node, args, { env, cwd, timeoutMs: 120_000 }));
        },
      },
      { processEnv: CERTFLEET_PROCESS_ENV, ...stackOptions, webProcess: true },
    );
    if (!postgres) throw new Error('production stack: PostgreSQL did not start');
    const started: PrivatePostgres = postgres;
    const stopStack = stack.stop;
    return Object.assign(stack, {
      postgres: started,
      schemaCommands,
      namespace,
      timings,
      stop: async () => {
        await stopStack();
        await cleanup();
      },
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
}
