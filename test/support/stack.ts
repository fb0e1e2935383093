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
import { spawnManaged, type ManagedProcess } from './process';
import { startSmtpCatcher, type SmtpCatcher } from './smtp';
import { startTestTemporal, type TestTemporal } from './temporal';
import { testWorkflowBundle } from './workflow-bundle';

const ROOT = path.join(__dirname, '..', '..');
export const CLOUDFLARE_TOKEN = 'cf-test-token-' + randomBytes(8).toString('hex');
export const ADMIN_PASSWORD = 'admin-password-' + randomBytes(6).toString('hex');
export const ALERT_RECIPIENT = 'noc@msp.example';

export interface StackOptions {
  propagationTimeoutMs?: number;
  /** Pebble's reuse of valid authorizations (its default 50% skips the DNS challenge on half the orders). */
  authzReusePercent?: number;
  /** Profiles and External Account Binding of the Pebble (test/support/pebble.ts). */
  pebble?: Pick<PebbleOptions, 'profiles' | 'eabKeys' | 'dnsServer'>;
  /** Extra environment for the web and the workers. */
  env?: Record<string, string>;
  zones?: string[];
  /** Run the web console as its own process (benchmarks measure its memory) instead of in this one. */
  webProcess?: boolean;
  /**
   * Keep "require MFA for admins" on, as a new install has it (web/bootstrap-admin.ts): the first admin
   * must set up two-factor sign-in before anything else. Off by default, so admin() signs in with the password.
   */
  adminMfa?: boolean;
}

export interface Stack {
  db: TestDatabase;
  temporal: TestTemporal;
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

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const [db, temporal, pebble, smtp, bundlePath] = await Promise.all([
      createTestDatabase(),
      startTestTemporal(),
      startPebble({ authzReusePercent: options.authzReusePercent ?? 0, ...options.pebble }),
      startSmtpCatcher(),
      testWorkflowBundle(),
    ]);
    stops.push(db.drop, temporal.stop, pebble.stop, smtp.close);
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
      ...options.env,
    };
    let webChild: ManagedProcess | undefined;
    let web: RunningWeb;
    if (options.webProcess) {
      const port = await freePort();
      const child = await spawnManaged(process.execPath, ['--import', 'tsx', path.join(ROOT, 'web', 'server.ts')], {
        env: { ...env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
        cwd: ROOT,
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
      const worker = await spawnManaged(
        process.execPath,
        [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')],
        {
          env: { ...env, LOG_LEVEL: 'info' },
          cwd: ROOT,
          name: `worker-${workers.length + 1}`,
          readyWhen: /worker started/,
          timeoutMs: 60_000,
        },
      );
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
