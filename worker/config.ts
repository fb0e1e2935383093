import { DEFAULT_ACME_REQUEST_TIMEOUT_MS } from '../activities/acme/problems';
import type { AlertSettings } from '../activities/alerts/alerter';
import { DEFAULT_ISOLATION_SETTINGS as ISO, type IsolationSettings } from '../activities/dependency-guard/settings';
import { isIP } from 'node:net';
import {
  bool,
  ConfigError,
  integer,
  integers,
  list,
  loadCommonConfig,
  optionalText,
  text,
  type CommonConfig,
  type Env,
} from '../config/env';
import { DEFAULT_ORDER_SLOT_GRACE_MS } from '../activities/domain/pacing-budget';
import type { DeploySettings } from '../temporal/contract';
import type { RevocationSettings } from '../temporal/revocation-contract';
import { DEFAULT_POLL_BOUNDS, type RenewalInfoPollBounds } from '../activities/domain/renewal-info';

export interface WorkerConfig extends CommonConfig {
  consoleUrl: string;
  propagation: { intervalMs: number; timeoutMs: number; resolvers: string[] };
  acme: {
    contactEmail?: string;
    backoffMinMs: number;
    backoffMaxMs: number;
    backoffAttempts: number;
    requestTimeoutMs: number;
    orderSlotGraceMs: number;
  };
  /** ARI polls: the CA's Retry-After clamped to [min, max] seconds; `default` when it sends none. */
  ari: RenewalInfoPollBounds;
  mail: { url: string | undefined; from: string; recipients: string[] };
  workflowBundlePath: string | undefined;
  maxConcurrentActivities: number;
  /**
   * Workflow tasks this worker holds at once. Few: they all run on one workflow thread (below), and a
   * task's 10 s start-to-close clock runs from the moment the worker takes it, queued or not.
   */
  maxConcurrentWorkflowTasks: number;
  /** Local activities (database bookkeeping) this worker runs at once. */
  maxConcurrentLocalActivities: number;
  /**
   * Workflows kept in memory between their tasks (the sticky cache). Bounded so the worker's memory
   * does not grow with the certificates in flight; an evicted run replays its history at its next task.
   */
  maxCachedWorkflows: number;
  /**
   * How long a workflow task waits on this worker's sticky queue before the server gives it to any
   * worker (which then replays the run's whole history): longer than the backlog few task slots leave.
   */
  stickyQueueScheduleToStartTimeoutMs: number;
  /** PostgreSQL connections of the worker. */
  databasePoolMax: number;
  /** How long a database call waits for an unreachable PostgreSQL (a restart) before it fails. */
  databaseConnectRetryMs: number;
  /** ip:port of the Temporal Core's Prometheus exporter (the worker's own metrics); undefined = off. */
  metricsAddress: string | undefined;
  deploy: DeploySettings;
  revocation: RevocationSettings;
  /** How often the dashboard's renewal schedule health is refreshed from Temporal. */
  scheduleHealthIntervalSeconds: number;
  alerts: AlertSettings;
  /** Shares and circuit breakers per dependency (CA directory, DNS account, device). */
  isolation: IsolationSettings;
  /** The fleet's own schedules: alert sweep, daily digest, drift watch. */
  fleetSchedules: FleetScheduleSettings;
}

export interface FleetScheduleSettings {
  alertSweepIntervalSeconds: number;
  /** Cron of the daily digest, in `digestTimeZone`. */
  digestCron: string;
  digestTimeZone: string;
  driftWatchIntervalSeconds: number;
}

export function loadWorkerConfig(env: Env): WorkerConfig {
  const contactEmail = optionalText(env, 'ACME_CONTACT_EMAIL');
  return {
    ...loadCommonConfig(env),
    consoleUrl: text(env, 'PUBLIC_URL', `http://127.0.0.1:${env['PORT'] ?? '3000'}`),
    propagation: {
      intervalMs: integer(env, 'DNS_PROPAGATION_INTERVAL_MS', 5_000, 50),
      timeoutMs: integer(env, 'DNS_PROPAGATION_TIMEOUT_MS', 300_000, 100),
      resolvers: list(env, 'DNS_PROPAGATION_RESOLVERS'),
    },
    acme: {
      ...(contactEmail ? { contactEmail } : {}),
      backoffMinMs: integer(env, 'ACME_BACKOFF_MIN_MS', 5_000, 10),
      backoffMaxMs: integer(env, 'ACME_BACKOFF_MAX_MS', 30_000, 10),
      backoffAttempts: integer(env, 'ACME_BACKOFF_ATTEMPTS', 10, 1),
      requestTimeoutMs: integer(env, 'ACME_REQUEST_TIMEOUT_MS', DEFAULT_ACME_REQUEST_TIMEOUT_MS, 100, 600_000),
      orderSlotGraceMs: integer(env, 'ACME_ORDER_SLOT_GRACE_MS', DEFAULT_ORDER_SLOT_GRACE_MS, 0, 3_600_000),
    },
    ari: ariPollBounds(env),
    mail: {
      url: optionalText(env, 'SMTP_URL'),
      from: text(env, 'SMTP_FROM', 'CertFleet <certfleet@localhost>'),
      recipients: list(env, 'ALERT_RECIPIENTS'),
    },
    workflowBundlePath: optionalText(env, 'WORKFLOW_BUNDLE_PATH'),
    maxConcurrentActivities: integer(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 50, 1),
    maxConcurrentWorkflowTasks: workflowTaskSlots(env),
    maxConcurrentLocalActivities: integer(env, 'WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES', 100, 1, 10_000),
    maxCachedWorkflows: cachedWorkflows(env),
    stickyQueueScheduleToStartTimeoutMs: integer(
      env,
      'WORKER_STICKY_QUEUE_TIMEOUT_MS',
      DEFAULT_STICKY_QUEUE_TIMEOUT_MS,
      1_000,
      3_600_000,
    ),
    databasePoolMax: integer(env, 'WORKER_DATABASE_POOL_MAX', 20, 1, 1_000),
    databaseConnectRetryMs: integer(env, 'WORKER_DATABASE_CONNECT_RETRY_MS', 60_000, 0, 3_600_000),
    metricsAddress: socketAddress(env, 'WORKER_METRICS_ADDRESS', '127.0.0.1:9464'),
    scheduleHealthIntervalSeconds: integer(env, 'SCHEDULE_HEALTH_INTERVAL_SECONDS', 900, 1),
    alerts: {
      recoveryQuietMs: integer(env, 'ALERT_RECOVERY_QUIET_MS', 30 * 60_000, 0),
      notDeployedAfterMs: integer(env, 'ALERT_NOT_DEPLOYED_AFTER_MS', 24 * 3600_000, 0),
      issuedNotices: bool(env, 'ALERT_ISSUED_NOTICES', true),
      servedExpiryDays: integer(env, 'DRIFT_EXPIRY_WARNING_DAYS', 14, 0, 3650),
      digestThresholdsDays: integers(env, 'DIGEST_THRESHOLDS_DAYS', [7, 14, 30], 1, 3650),
    },
    isolation: {
      shares: {
        'acme-directory': integer(env, 'ISOLATION_SHARE_PER_ACME_DIRECTORY', ISO.shares['acme-directory'], 1, 10_000),
        'dns-provider': integer(env, 'ISOLATION_SHARE_PER_DNS_PROVIDER', ISO.shares['dns-provider'], 1, 10_000),
        device: integer(env, 'ISOLATION_SHARE_PER_DEVICE', ISO.shares.device, 1, 10_000),
      },
      busyRetryMs: integer(env, 'ISOLATION_BUSY_RETRY_MS', ISO.busyRetryMs, 10, 600_000),
      breakerThreshold: integer(env, 'BREAKER_FAILURE_THRESHOLD', ISO.breakerThreshold, 1, 1_000),
      breakerOpenMs: integer(env, 'BREAKER_OPEN_MS', ISO.breakerOpenMs, 100, 86_400_000),
      breakerTrustMs: integer(env, 'BREAKER_TRUST_MS', ISO.breakerTrustMs, 0, 10_000),
    },
    fleetSchedules: {
      alertSweepIntervalSeconds: integer(env, 'ALERT_SWEEP_INTERVAL_SECONDS', 60, 1),
      digestCron: text(env, 'DIGEST_CRON', '0 7 * * *'),
      digestTimeZone: text(env, 'DIGEST_TIME_ZONE', 'UTC'),
      driftWatchIntervalSeconds: integer(env, 'DRIFT_WATCH_INTERVAL_SECONDS', 86_400, 1),
    },
    revocation: {
      pollMs: integer(env, 'REVOCATION_POLL_MS', 5 * 60_000, 50),
      waitMs: integer(env, 'REVOCATION_WAIT_MS', 7 * 86_400_000, 1_000),
    },
    deploy: {
      retryWindowMs: integer(env, 'DEPLOY_RETRY_WINDOW_MS', 3 * 86_400_000, 1_000),
      autoRetryMs: integer(env, 'DEPLOY_AUTO_RETRY_MS', 15 * 60_000, 0),
      commitPollMs: integer(env, 'DEPLOY_COMMIT_POLL_MS', 5_000, 50),
      commitTimeoutMs: integer(env, 'DEPLOY_COMMIT_TIMEOUT_MS', 30 * 60_000, 1_000),
      deviceRetryInitialMs: integer(env, 'DEPLOY_DEVICE_RETRY_INITIAL_MS', 2_000, 10),
      deviceRetryAttempts: integer(env, 'DEPLOY_DEVICE_RETRY_ATTEMPTS', 8, 1, 100),
      leaseTimeoutMs: integer(env, 'DEVICE_LEASE_TIMEOUT_MS', 60 * 60_000, 1_000),
      coordinatorIdleMs: integer(env, 'DEVICE_COORDINATOR_IDLE_MS', 15 * 60_000, 1_000),
      busyAlertMs: integer(env, 'DEVICE_BUSY_ALERT_MS', 30 * 60_000, 0),
      busyRetryMs: integer(env, 'DEVICE_BUSY_RETRY_MS', 60_000, 10),
    },
  };
}

/** `ip:port` or `[ipv6]:port` (Temporal Core binds it as is: no host names); unset = `fallback`, empty = off. */
function socketAddress(env: Env, name: string, fallback: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const value = raw.trim();
  if (!value) return undefined;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(value);
  const ip = match?.[1] ?? match?.[2];
  if (!match || !ip || !isIP(ip) || Number(match[3]) > 65535) {
    throw new ConfigError(
      `${name} must be ip:port (e.g. 127.0.0.1:9464 or [::]:9464), or empty to turn the worker's metrics off; got "${value}"`,
    );
  }
  return value;
}

/**
 * Workflow task slots. The SDK's default is 40 (@temporalio/worker WorkerOptions
 * `maxConcurrentWorkflowTaskExecutions`), and its documentation says: "setting this value too high might
 * cause Workflow Task timeouts due to the fact that the Worker is not able to complete processing accepted
 * Workflow Tasks fast enough"; "High number of Workflow Task timeouts => decrease this number"; "Very
 * long/heavy Workflow Histories => decrease this number". All the tasks run on ONE workflow thread
 * (`workflowThreadPoolSize` defaults to 1 with `reuseV8Context`, which this worker keeps), and with a
 * fleet larger than the cache (`maxCachedWorkflows`) most tasks replay their run's whole history first.
 * With 40 taken at once on two loaded cores the last of them waited past the 10 s task timeout, timed
 * out, and ran again from the start: N = 1,000 renewals never finished (issue 18). With 10 the rest
 * wait on the server, where no start-to-close clock runs (docs/scaling.md, "A fleet of 1,000").
 */
export const DEFAULT_WORKFLOW_TASK_SLOTS = 10;

/**
 * The SDK's default is 10 s (WorkerOptions `stickyQueueScheduleToStartTimeout`): a task not taken from
 * the worker's sticky queue within it times out (a WORKFLOW_TASK_TIMED_OUT of type schedule-to-start in
 * the run's history) and is scheduled again on the shared queue: one more task, with the whole history.
 * With few task slots a burst's backlog waits on the server, so 10 s would turn queued tasks into
 * timeouts; 60 s keeps them sticky. Only tasks already queued for a killed worker wait this long: the
 * server sends later ones to the shared queue once nobody polls the sticky queue (Temporal matching's
 * sticky poller unavailable window, 10 s).
 */
export const DEFAULT_STICKY_QUEUE_TIMEOUT_MS = 60_000;

function workflowTaskSlots(env: Env): number {
  return integer(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', DEFAULT_WORKFLOW_TASK_SLOTS, 2, 10_000);
}

/** The sticky cache holds at least every workflow task running at once (the SDK lowers the tasks otherwise). */
function cachedWorkflows(env: Env): number {
  const tasks = workflowTaskSlots(env);
  const cached = integer(env, 'WORKER_MAX_CACHED_WORKFLOWS', 250, 2, 100_000);
  if (cached < tasks) {
    throw new ConfigError(
      `WORKER_MAX_CACHED_WORKFLOWS (${cached}) must not be below WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (${tasks})`,
    );
  }
  return cached;
}

function ariPollBounds(env: Env): RenewalInfoPollBounds {
  const minSeconds = integer(env, 'ARI_POLL_MIN_SECONDS', DEFAULT_POLL_BOUNDS.minSeconds, 1, 7 * 86_400);
  const maxSeconds = integer(env, 'ARI_POLL_MAX_SECONDS', DEFAULT_POLL_BOUNDS.maxSeconds, 1, 7 * 86_400);
  if (maxSeconds < minSeconds) {
    throw new ConfigError(
      `ARI_POLL_MAX_SECONDS (${maxSeconds}) must not be below ARI_POLL_MIN_SECONDS (${minSeconds})`,
    );
  }
  const defaultSeconds = integer(env, 'ARI_POLL_DEFAULT_SECONDS', DEFAULT_POLL_BOUNDS.defaultSeconds, 1, 7 * 86_400);
  return { minSeconds, maxSeconds, defaultSeconds };
}
