/**
 * The real stack for integration tests: PostgreSQL (fresh database), the Temporal dev server,
 * Pebble + challtestsrv, the fake Cloudflare (mirroring TXT records into challtestsrv), a real SMTP
 * server, the web console in this process and workers as separate processes (so they can be killed).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import { startWeb, type RunningWeb } from '../../web/server';
import { startFakeCloudflare, type FakeCloudflare } from '../fakes/cloudflare/server';
import { ConsoleClient } from './console-client';
import { createTestDatabase, type TestDatabase } from './db';
import { startPebble, type PebbleOptions, type PebbleStack } from './pebble';
import { freePort } from './free-port';
import { PROCESS_COMMANDS } from '../../scripts/processes';
import { GLIBC_MALLOC_ENV } from '../../scripts/topology';
import { spawnManaged, type ManagedProcess } from './process';
import { startSmtpCatcher, type SmtpCatcher } from './smtp';
import { startTestTemporal, type TestTemporal } from './temporal';
import { testWorkflowBundle } from './workflow-bundle';
import { compiledBuild } from './compiled-build';

const ROOT = path.join(__dirname, '..', '..');
export const CLOUDFLARE_TOKEN = 'cf-test-token-' + randomBytes(8).toString('hex');
export const ADMIN_PASSWORD = 'admin-password-' + randomBytes(6).toString('hex');
export const ALERT_RECIPIENT = 'noc@msp.example';

export interface StackOptions {
  propagationTimeoutMs?: number;
  /** Pebble's reuse of valid authorizations (its default 50% skips the DNS challenge on half the orders). */
  authzReusePercent?: number;
  /** Profiles and External Account Binding of the Pebble (test/support/pebble.ts). */
  pebble?: Pick<PebbleOptions, 'profiles' | 'eabKeys' | 'dnsServer' | 'validationSleepSeconds'>;
  /** Extra environment for the web and the workers. */
  env?: Record<string, string>;
  /**
   * Environment of the web process or of each worker process only (the production topology's
   * scripts/topology.ts CERTFLEET_PROCESS_ENV); `env` wins over it, so a benchmark can try other values.
   */
  processEnv?: Partial<Record<'web' | 'worker', Readonly<Record<string, string>>>>;
  zones?: string[];
  /** Run the web console as its own process (benchmarks measure its memory) instead of in this one. */
  webProcess?: boolean;
  /**
   * Keep "require MFA for admins" on, as a new install has it (web/bootstrap-admin.ts): the first admin
   * must set up two-factor sign-in before anything else. Off by default, so admin() signs in with the password.
   */
  adminMfa?: boolean;
}

/** What the stack needs of a Temporal server: the dev server (test/support/temporal.ts) or the real one. */
export interface StackTemporal {
  readonly address: string;
  /** Stop the server and start it again on the same address and state. */
  restart: () => Promise<void>;
  stop: () => Promise<void>;
  output: () => string;
}

export interface Stack<T extends StackTemporal = TestTemporal> {
  db: TestDatabase;
  temporal: T;
  pebble: PebbleStack;
  cloudflare: FakeCloudflare;
  smtp: SmtpCatcher;
  web: RunningWeb;
  /** The console's process when started with webProcess. */
  webChild?: ManagedProcess;
  masterKey: string;
  env: NodeJS.ProcessEnv;
  startWorker(): Promise<ManagedProcess>;
  workers: ManagedProcess[];
  /** A signed-in admin client. */
  admin(): Promise<ConsoleClient>;
  stop: () => Promise<void>;
}

/** A stack on either Temporal server, for helpers that only need its address. */
export type AnyStack = Stack<StackTemporal>;

/** Where a stack's Temporal and CertFleet database come from, started beside the other peers. */
export interface StackBackend<T extends StackTemporal> {
  /** Starts them; pushes what stops them onto `stops` (run in reverse order) as soon as each runs. */
  start(stops: (() => Promise<void>)[]): Promise<{ db: TestDatabase; temporal: T }>;
  /** Runs before the web and the workers start (the production topology runs CertFleet's migrations here). */
  beforeProcesses?(env: NodeJS.ProcessEnv): Promise<void>;
}

/** The dev-server stack: the Temporal CLI dev server and a database cloned from the migrated template. */
const DEV_SERVER_BACKEND: StackBackend<TestTemporal> = {
  async start(stops) {
    const [db, temporal] = await Promise.all([createTestDatabase(), startTestTemporal()]);
    stops.push(db.drop, temporal.stop);
    return { db, temporal };
  },
};

export function startStack(options: StackOptions = {}): Promise<Stack> {
  return startStackOn(DEV_SERVER_BACKEND, options);
}

/** `command` of scripts/processes.ts with `node` as this Node (and extra Node flags before the rest). */
export function processCommand(command: readonly string[], nodeArgs: readonly string[] = []): [string, string[]] {
  const [program, ...args] = command;
  if (program !== 'node') throw new Error(`stack: ${command.join(' ')} is not a node command`);
  return [process.execPath, [...nodeArgs, ...args]];
}

/** Like Promise.all, but waits for every promise to settle before rethrowing the first failure. */
async function allStarted<P extends readonly unknown[]>(
  promises: P,
): Promise<{ -readonly [K in keyof P]: Awaited<P[K]> }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof P]: Awaited<P[K]>;
  };
}

/** Pebble, challtestsrv, the fake Cloudflare, the SMTP catcher, the web and workers on a given Temporal and database. */
export async function startStackOn<T extends StackTemporal>(
  backend: StackBackend<T>,
  options: StackOptions = {},
): Promise<Stack<T>> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    // Settled, not all: whatever started is in `stops` before a failure is rethrown.
    const [{ db, temporal }, pebble, smtp, bundlePath, buildDir] = await allStarted([
      backend.start(stops),
      startPebble({ authzReusePercent: options.authzReusePercent ?? 0, ...options.pebble }).then((p) => {
        stops.push(p.stop);
        return p;
      }),
      startSmtpCatcher().then((s) => {
        stops.push(s.close);
        return s;
      }),
      testWorkflowBundle(),
      // The processes run the compiled build (scripts/processes.ts), from its directory as the image does.
      compiledBuild(),
    ] as const);
    const cloudflare = await startFakeCloudflare({
      token: CLOUDFLARE_TOKEN,
      zones: (options.zones ?? ['example.test']).map((name) => ({ name })),
      challtestsrvManagementUrl: pebble.challtestsrvUrl,
    });
    stops.push(cloudflare.close);
    const masterKey = randomBytes(32).toString('base64');
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: db.url,
      CERTFLEET_MASTER_KEY: masterKey,
      CERTFLEET_DATA_DIR: path.join(ROOT, 'test-output', 'data'),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
      WORKFLOW_BUNDLE_PATH: bundlePath,
      DNS_PROPAGATION_RESOLVERS: pebble.dnsServer,
      DNS_PROPAGATION_INTERVAL_MS: '200',
      DNS_PROPAGATION_TIMEOUT_MS: String(options.propagationTimeoutMs ?? 20_000),
      ACME_BACKOFF_MIN_MS: '100',
      ACME_BACKOFF_MAX_MS: '500',
      ACME_BACKOFF_ATTEMPTS: '30',
      SMTP_URL: `smtp://${smtp.host}:${smtp.port}`,
      SMTP_FROM: 'CertFleet <certfleet@msp.example>',
      ALERT_RECIPIENTS: ALERT_RECIPIENT,
      RENEWAL_CHECK_INTERVAL_SECONDS: '3600',
      RENEWAL_CHECK_JITTER_SECONDS: '60',
      CERTFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      // Test workers run side by side: none takes the default metrics port unless a test asks for it.
      WORKER_METRICS_ADDRESS: '',
      // As the image runs its processes (Dockerfile): two glibc malloc arenas, fixed thresholds.
      ...GLIBC_MALLOC_ENV,
      ...options.env,
    };
    await backend.beforeProcesses?.(env);
    let webChild: ManagedProcess | undefined;
    let web: RunningWeb;
    if (options.webProcess) {
      const port = await freePort();
      const [node, args] = processCommand(PROCESS_COMMANDS.web);
      const child = await spawnManaged(node, args, {
        env: { ...options.processEnv?.web, ...env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
        cwd: buildDir,
        name: 'web',
        readyWhen: async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
        timeoutMs: 60_000,
      });
      webChild = child;
      web = { url: `http://127.0.0.1:${port}`, initialAdmin: undefined, notices: [], stop: () => child.stop() };
    } else {
      web = await startWeb({ ...process.env, ...env }, pino({ level: 'warn' }));
    }
    stops.push(web.stop);
    if (!options.adminMfa) await db.db.query("DELETE FROM settings WHERE key = 'security'");
    const workers: ManagedProcess[] = [];
    const startWorker = async (): Promise<ManagedProcess> => {
      // WORKER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the workers of a test or benchmark.
      const nodeArgs = (process.env['WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
      const [node, args] = processCommand(PROCESS_COMMANDS.worker, nodeArgs);
      const worker = await spawnManaged(node, args, {
        env: { ...options.processEnv?.worker, ...env, LOG_LEVEL: 'info' },
        cwd: buildDir,
        name: `worker-${workers.length + 1}`,
        readyWhen: /worker started/,
        // It bundles the workflows at start: over a minute on two loaded cores (a replacement worker in the
        // worker-kill test, load 24, was not ready after 60 s).
        timeoutMs: 150_000,
      });
      workers.push(worker);
      stops.push(() => worker.stop());
      return worker;
    };
    return {
      db,
      temporal,
      pebble,
      cloudflare,
      smtp,
      web,
      ...(webChild ? { webChild } : {}),
      masterKey,
      env,
      startWorker,
      workers,
      async admin() {
        const client = new ConsoleClient(web.url);
        await client.login('admin', ADMIN_PASSWORD);
        return client;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Polls until `check` returns a value (not undefined), or fails with the last state described. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
