import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadMasterKey } from '../activities/crypto/master-key';
import { createDatabase } from '../activities/db/pool';
import { listLiveCertificateIds } from '../activities/db/repositories/certificates';
import { dnsProviderFactories } from '../activities/dns-providers/registry';
import { createLogger } from '../config/logger';
import { TASK_QUEUE } from '../temporal/contract';
import { connectTemporal } from '../temporal/connection';
import { reconcileRenewalSchedules } from '../temporal/schedules';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { WORKFLOWS_PATH } from './build-workflow-bundle';
import { loadWorkerConfig } from './config';
import { temporalLoggerFor } from './temporal-logger';

/** Composition root of the worker process. */
async function main(): Promise<void> {
  const config = loadWorkerConfig(process.env);
  const log = createLogger('certfleet-worker', config.logLevel);
  Runtime.install({ logger: temporalLoggerFor(log.child({ component: 'temporal' })) });

  const db = createDatabase({ connectionString: config.databaseUrl, applicationName: 'certfleet-worker', max: 20 });
  const box = await loadMasterKey(config.masterKey, db);
  const { connection, client } = await connectTemporal(config.temporal);
  await ensureSearchAttributes(connection, config.temporal.namespace);

  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: TASK_QUEUE,
    ...(config.workflowBundlePath ? { workflowBundle: { codePath: config.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      db,
      box,
      log,
      acme: config.acme,
      propagation: config.propagation,
      mail: config.mail,
      consoleUrl: config.consoleUrl,
      dnsProviders: dnsProviderFactories,
    }),
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
  });

  const reconciled = await reconcileRenewalSchedules(client, await listLiveCertificateIds(db), config.renewalSchedule);
  log.info({ ...reconciled, taskQueue: TASK_QUEUE }, 'worker started; renewal schedules reconciled');

  const stop = (signal: string): void => {
    log.info({ signal }, 'worker shutting down');
    worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  await worker.run();
  await nativeConnection.close();
  await connection.close();
  await db.close();
  log.info('worker stopped');
}

main().catch((error: unknown) => {
  console.error(`certfleet worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
