import { createConsoleCommands } from './commands';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { loadMasterKey } from '../activities/crypto/master-key';
import { resealLegacySecrets } from '../activities/crypto/reseal-legacy';
import { createDatabase } from '../activities/db/pool';
import { createLogger } from '../config/logger';
import { connectTemporal } from '../temporal/connection';
import { createApp } from './app';
import { bootstrapAdmin } from './bootstrap-admin';
import { keepConnectionsAlive } from './keep-alive';
import { loadWebConfig, metricsStartupNotice } from './config';

export interface RunningWeb {
  url: string;
  /** Set on the very first start only. */
  initialAdmin: { username: string; password: string } | undefined;
  /** Configuration worth a word at start-up (already logged as warnings). */
  notices: string[];
  stop: () => Promise<void>;
}

/** Starts the web console (migrations must have run). */
export async function startWeb(env: NodeJS.ProcessEnv, log: Logger): Promise<RunningWeb> {
  const config = loadWebConfig(env);
  const notices = [metricsStartupNotice(config)].filter((n): n is string => n !== undefined);
  for (const notice of notices) log.warn(notice);
  const db = createDatabase({ connectionString: config.databaseUrl, applicationName: 'certfleet-web' });
  const box = await loadMasterKey(config.masterKey, db);
  const resealed = await resealLegacySecrets(db, box);
  if (resealed > 0) log.info({ resealed }, 'secrets sealed again, bound to their endpoints');
  const initialAdmin = await db.withTransaction((tx) => bootstrapAdmin(tx, config.initialAdminPassword));
  const { connection, client } = await connectTemporal(config.temporal, { quickRetries: true });
  const app = createApp({
    db,
    box,
    log,
    temporal: { client, namespace: config.temporal.namespace, uiUrl: config.temporal.uiUrl },
    commands: createConsoleCommands({ client, namespace: config.temporal.namespace }),
    renewalSchedule: config.renewalSchedule,
    secureCookies: config.secureCookies,
    login: config.login,
    metricsToken: config.metricsToken,
    metricsPublic: config.metricsPublic,
    trustProxy: config.trustProxy,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  keepConnectionsAlive(server);
  const port = (server.address() as AddressInfo).port;
  const url = config.port === 0 ? config.publicUrl.replace(/:0$/, `:${port}`) : config.publicUrl;
  log.info({ url }, 'web console listening');
  return {
    url,
    initialAdmin,
    notices,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await connection.close();
      await db.close();
    },
  };
}

if (require.main === module) {
  const log = createLogger('certfleet-web', process.env['LOG_LEVEL'] ?? 'info');
  startWeb(process.env, log).then(
    (web) => {
      for (const notice of web.notices) console.log(`Note: ${notice}`);
      if (web.initialAdmin) {
        console.log(
          `First start: sign in at ${web.url} as "${web.initialAdmin.username}" with password: ${web.initialAdmin.password}`,
        );
      }
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        void web.stop().then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (error: unknown) => {
      console.error(`certfleet web: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
