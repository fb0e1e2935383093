/**
 * The worker process of bench/orchestration-floor.ts, started by it as a child process so its CPU can be
 * read from /proc. Configured as CertFleet's worker (worker/main.ts): the settings come from its
 * environment through worker/config.ts (task queue, workflow and local activity slots, activity slots,
 * workflow cache, sticky queue timeout, deploy settings, metrics), Temporal's logs go through pino, and the
 * workflow bundle is pre-built (WORKFLOW_BUNDLE_PATH), as the image and the test stacks run it. The
 * workflows are bench/orchestration-floor-workflows.ts and the activities do nothing
 * (bench/orchestration-floor-activities.ts): no database, so DATABASE_URL, which worker/config.ts
 * requires, is never connected to. CertFleet's data converter is the SDK's default, as here.
 *
 * It prints "orchestration-floor worker ready" once polling, and stops on SIGTERM.
 */
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createLogger } from '../config/logger';
import { TASK_QUEUE } from '../temporal/contract';
import { loadWorkerConfig } from '../worker/config';
import { temporalLoggerFor } from '../worker/temporal-logger';
import { createFloorActivities } from './orchestration-floor-activities';
import { runBenchmark } from './stats';

async function main(): Promise<void> {
  const config = loadWorkerConfig(process.env);
  if (!config.workflowBundlePath) throw new Error('orchestration-floor worker: WORKFLOW_BUNDLE_PATH is not set');
  const log = createLogger('orchestration-floor-worker', config.logLevel);
  const logger = temporalLoggerFor(log.child({ component: 'temporal' }));
  Runtime.install({
    logger,
    shutdownSignals: [],
    ...(config.metricsAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: config.metricsAddress } } } }
      : {}),
  });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: config.workflowBundlePath },
    activities: createFloorActivities({ deploy: config.deploy }),
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTasks,
    maxConcurrentLocalActivityExecutions: config.maxConcurrentLocalActivities,
    maxCachedWorkflows: config.maxCachedWorkflows,
    stickyQueueScheduleToStartTimeout: config.stickyQueueScheduleToStartTimeoutMs,
  });
  const done = worker.run();
  process.once('SIGTERM', () => worker.shutdown());
  console.log('orchestration-floor worker ready');
  try {
    await done;
  } finally {
    await connection.close();
  }
}

runBenchmark(main);
