import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { setAcmeRequestTimeout } from '../activities/acme/problems';
import { loadMasterKey } from '../activities/crypto/master-key';
import { resealLegacySecrets } from '../activities/crypto/reseal-legacy';
import { createDatabase } from '../activities/db/pool';
import { liveCertificateIdsAmong, liveCertificatePages } from '../activities/db/repositories/certificates';
import { createLogger } from '../config/logger';
import { TASK_QUEUE } from '../temporal/contract';
import { connectTemporal } from '../temporal/connection';
import { reconcileRenewalSchedules } from '../temporal/schedules';
import { upsertFleetSchedules } from '../temporal/fleet-schedules';
import { describeRenewalSchedules } from '../temporal/schedule-health';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { whileTemporalUnavailable } from '../temporal/while-unavailable';
import { activityDepsFrom } from './activity-deps';
import { bundleWorkflows } from './build-workflow-bundle';
import { deviceCoordinatorSignals } from './device-coordinator';
import { loadWorkerConfig } from './config';
import { temporalLoggerFor } from './temporal-logger';

export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  stop: () => Promise<void>;
}

let runtimeInstalled = false;

/**
 * Once per process: Temporal's own logs go through pino (workflow and activity lines carry their ids
 * in the metadata); signals are handled by our callers, not by the SDK; Temporal Core serves the
 * worker's metrics (task slots, poll and execution latencies, …, prefixed temporal_) for Prometheus
 * at http://<metricsAddress>/metrics. An address already in use costs the metrics, not the worker.
 */
function installRuntime(log: Logger, metricsAddress: string | undefined): void {
  const logger = temporalLoggerFor(log.child({ component: 'temporal' }));
  if (metricsAddress) {
    try {
      Runtime.install({
        logger,
        shutdownSignals: [],
        telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } },
      });
      log.info({ metricsAddress }, 'worker metrics for Prometheus at /metrics');
      return;
    } catch (error) {
      log.warn(
        { err: error, metricsAddress },
        'worker metrics off: Temporal Core could not serve them (WORKER_METRICS_ADDRESS)',
      );
    }
  }
  Runtime.install({ logger, shutdownSignals: [] });
}

/** Composition root of the worker: builds deps, registers activities and workflows, reconciles schedules. */
export async function startWorker(env: NodeJS.ProcessEnv, log: Logger): Promise<RunningWorker> {
  const config = loadWorkerConfig(env);
  setAcmeRequestTimeout(config.acme.requestTimeoutMs);
  if (!runtimeInstalled) {
    installRuntime(log, config.metricsAddress);
    runtimeInstalled = true;
  }
  const db = createDatabase({
    connectionString: config.databaseUrl,
    applicationName: 'certfleet-worker',
    max: config.databasePoolMax,
    connectRetryMs: config.databaseConnectRetryMs,
  });
  const box = await loadMasterKey(config.masterKey, db);
  const resealed = await resealLegacySecrets(db, box);
  if (resealed > 0) log.info({ resealed }, 'secrets sealed again, bound to their endpoints');
  const { connection, client } = await connectTemporal(config.temporal);
  const searchAttributesSince = Date.now();
  const added = await ensureSearchAttributes(connection, config.temporal.namespace);
  if (added.length > 0)
    log.info({ added, readyAfterMs: Date.now() - searchAttributesSince }, 'search attributes added to the namespace');

  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: TASK_QUEUE,
    // Without a pre-built bundle, webpack runs here; its report goes to the log at debug, not info.
    workflowBundle: config.workflowBundlePath
      ? { codePath: config.workflowBundlePath }
      : { code: await bundleWorkflows(temporalLoggerFor(log.child({ component: 'workflow-bundle' }))) },
    activities: createActivities({
      ...activityDepsFrom(config, { db, box, log }),
      ...deviceCoordinatorSignals(client, config.deploy),
      describeRenewalSchedules: (progress) => describeRenewalSchedules(client, progress),
    }),
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTasks,
    maxConcurrentLocalActivityExecutions: config.maxConcurrentLocalActivities,
    maxCachedWorkflows: config.maxCachedWorkflows,
    stickyQueueScheduleToStartTimeout: config.stickyQueueScheduleToStartTimeoutMs,
  });

  // Both are idempotent, so a server that is not serving schedules yet is simply asked again.
  const reconciled = await whileTemporalUnavailable(
    async () => {
      const counts = await reconcileRenewalSchedules(
        client,
        { pages: () => liveCertificatePages(db), liveAmong: (ids) => liveCertificateIdsAmong(db, ids) },
        config.renewalSchedule,
      );
      await upsertFleetSchedules(client, {
        scheduleHealthIntervalSeconds: config.scheduleHealthIntervalSeconds,
        ...config.fleetSchedules,
      });
      return counts;
    },
    {
      timeoutMs: 300_000,
      intervalMs: 2_000,
      onRetry: (err, elapsedMs) =>
        log.warn({ err, elapsedMs }, 'Temporal is not serving schedules yet; reconciling them again'),
    },
  );
  log.info({ ...reconciled, taskQueue: TASK_QUEUE }, 'worker started; renewal schedules reconciled');

  const done = worker.run().finally(async () => {
    await nativeConnection.close();
    await connection.close();
    await db.close();
    log.info('worker stopped');
  });
  return {
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

if (require.main === module) {
  const log = createLogger('certfleet-worker', process.env['LOG_LEVEL'] ?? 'info');
  startWorker(process.env, log).then(
    (worker) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'worker shutting down');
        void worker.stop().then(() => process.exit(0));
      };
      let stopping = false;
      const once = (signal: string) => {
        if (!stopping) stop(signal);
        stopping = true;
      };
      process.on('SIGINT', () => once('SIGINT'));
      process.on('SIGTERM', () => once('SIGTERM'));
      worker.done.catch((error: unknown) => {
        log.error({ err: error }, 'worker failed');
        process.exit(1);
      });
    },
    (error: unknown) => {
      console.error(`certfleet worker: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
