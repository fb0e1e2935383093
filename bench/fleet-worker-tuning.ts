/**
 * The worker settings bench/fleet.ts passes to its worker unless the environment sets them (shared with
 * bench/orchestration-floor.ts, whose worker is configured as the fleet's). With scripts/topology.ts
 * CERTFLEET_PROCESS_ENV.worker (a V8 heap limit, a workflow cache of 50) they are what the fleet's
 * CPU-per-certificate figures were measured with.
 */
import { DEFAULT_STICKY_QUEUE_TIMEOUT_MS, DEFAULT_WORKFLOW_TASK_SLOTS } from '../worker/config';

export const FLEET_WORKER_TUNING: Readonly<Record<string, string>> = {
  WORKER_MAX_CONCURRENT_ACTIVITIES: '200',
  // The worker's defaults (worker/config.ts): more workflow tasks at once than its one workflow thread
  // finishes within the 10 s task timeout only makes them time out and replay again (N = 1,000 never
  // finished with 40), and with few slots the backlog waits on the sticky queue, so that waits longer.
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: String(DEFAULT_WORKFLOW_TASK_SLOTS),
  WORKER_STICKY_QUEUE_TIMEOUT_MS: String(DEFAULT_STICKY_QUEUE_TIMEOUT_MS),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '100',
  WORKER_DATABASE_POOL_MAX: '20',
};

/**
 * FLEET_WORKER_TUNING with the values the environment sets instead, and WORKER_MAX_CACHED_WORKFLOWS when
 * the environment sets it (otherwise the production topology's cache applies: CERTFLEET_PROCESS_ENV.worker).
 */
export function fleetWorkerTuning(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const tuning = Object.fromEntries(Object.entries(FLEET_WORKER_TUNING).map(([k, v]) => [k, env[k] ?? v]));
  const cache = env['WORKER_MAX_CACHED_WORKFLOWS'];
  return cache ? { ...tuning, WORKER_MAX_CACHED_WORKFLOWS: cache } : tuning;
}
