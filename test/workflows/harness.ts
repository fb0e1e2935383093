/**
 * Shared harness for workflow tests: a Temporal CLI dev server, the workflow bundle (built once per
 * test file), one worker per test on its own task queue, and recording mock activities.
 *
 * Workflows are the real ones (`workflows/index.ts`); activities are plain async functions written
 * here, typed by `Activities` so a renamed activity or a changed input breaks the build.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before } from 'node:test';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { DeploySettings } from '../../temporal/contract';
import { createDeployOpening } from '../../activities/deploy-opening';
import { createLifecycleOpening } from '../../activities/lifecycle-opening';
import { asStep } from '../../activities/step-failure';
import type { CreatedOrder, StoredVersion } from '../../activities/acme';
import type { RenewalFacts } from '../../activities/certificates';
import { startTestTemporal, type TestTemporal } from '../support/temporal';

// ---------------------------------------------------------------------------------------------
// Runtime and bundle

const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * Activity failures are expected in these tests and the SDK logs each one at WARN; keep the output
 * readable unless CERTFLEET_TEST_TEMPORAL_LOG_LEVEL asks for more.
 */
function testLogLevel(): LogLevel {
  const wanted = process.env.CERTFLEET_TEST_TEMPORAL_LOG_LEVEL?.toUpperCase();
  return LOG_LEVELS.find((level) => level === wanted) ?? 'ERROR';
}

const logger = new DefaultLogger(testLogLevel());
let runtimeInstalled = false;

/** Runtime.install may run once per process, before any worker or native connection exists. */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = testLogLevel();
  Runtime.install({ logger, telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } } });
}

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export function bundleWorkflows(workflowsPath: string = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger });
}

// ---------------------------------------------------------------------------------------------
// Server, client, workers

export interface WorkflowTestEnv {
  temporal: TestTemporal;
  client: Client;
  bundle: WorkflowBundleWithSourceMap;
  /**
   * Runs a worker with these activities on a fresh task queue until `fn` settles; the worker is
   * shut down afterwards in every outcome (runUntil).
   */
  runWorker: <T>(activities: Activities, fn: (taskQueue: string) => Promise<T>) => Promise<T>;
  /** Stops any worker still running, closes connections, stops the server. Idempotent. */
  stop: () => Promise<void>;
}

export async function startWorkflowTestEnv(): Promise<WorkflowTestEnv> {
  installTestRuntime();
  const [temporalResult, bundleResult] = await Promise.allSettled([startTestTemporal(), bundleWorkflows()]);
  if (temporalResult.status === 'rejected' || bundleResult.status === 'rejected') {
    if (temporalResult.status === 'fulfilled') await temporalResult.value.stop();
    throw temporalResult.status === 'rejected' ? temporalResult.reason : (bundleResult as PromiseRejectedResult).reason;
  }
  const temporal = temporalResult.value;
  const bundle = bundleResult.value;

  let nativeConnection: NativeConnection | undefined;
  let clientConnection: Connection | undefined;
  try {
    nativeConnection = await NativeConnection.connect({ address: temporal.address });
    clientConnection = await Connection.connect({ address: temporal.address });
  } catch (error) {
    await nativeConnection?.close().catch(() => undefined);
    await temporal.stop();
    throw error;
  }
  const native = nativeConnection;
  const client = new Client({ connection: clientConnection });
  const running = new Map<Worker, Promise<unknown>>();

  const runWorker = async <T>(activities: Activities, fn: (taskQueue: string) => Promise<T>): Promise<T> => {
    const taskQueue = `test-${randomUUID()}`;
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: bundle,
      activities,
      // Blocked mock activities honour cancellation; do not wait long for them on shutdown.
      shutdownGraceTime: '1s',
      shutdownForceTime: '5s',
    });
    const run = worker.runUntil(() => fn(taskQueue));
    running.set(
      worker,
      run.catch(() => undefined),
    );
    try {
      return await run;
    } finally {
      running.delete(worker);
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      releaseAllGates();
      for (const [worker, run] of running) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await run;
      }
      running.clear();
      await native.close().catch(() => undefined);
      await client.connection.close().catch(() => undefined);
      await temporal.stop();
    })();
    return stopping;
  };

  return { temporal, client, bundle, runWorker, stop };
}

// ---------------------------------------------------------------------------------------------
// Gates: a mock activity that blocks until the test releases it

/**
 * Registers the file's hooks: one Temporal dev server and workflow bundle for the file, every gate
 * released after each test, everything stopped at the end. Returns the accessor for tests.
 */
export function useWorkflowTestEnv(): () => WorkflowTestEnv {
  let env: WorkflowTestEnv | undefined;
  before(
    async () => {
      env = await startWorkflowTestEnv();
    },
    { timeout: 180_000 },
  );
  afterEach(() => releaseAllGates());
  after(
    async () => {
      await env?.stop();
    },
    { timeout: 60_000 },
  );
  return () => {
    assert.ok(env, 'the Temporal test environment did not start');
    return env;
  };
}

export interface Gate {
  /** Resolves once the blocking activity has started. */
  readonly entered: Promise<void>;
  /** Lets the blocked activity continue. */
  release: () => void;
  /**
   * Called from inside a mock activity: marks the gate entered and waits for release() (or for the
   * activity's cancellation), heartbeating meanwhile.
   */
  pass(): Promise<void>;
}

const openGates = new Set<Gate>();

export function createGate(): Gate {
  let markEntered = (): void => undefined;
  let markReleased = (): void => undefined;
  const entered = new Promise<void>((resolve) => (markEntered = resolve));
  const released = new Promise<void>((resolve) => (markReleased = resolve));
  const gate: Gate = {
    entered,
    release: () => {
      openGates.delete(gate);
      markReleased();
    },
    pass: async () => {
      markEntered();
      const ctx = Context.current();
      const ticker = setInterval(() => ctx.heartbeat(), 500);
      try {
        await Promise.race([released, ctx.cancelled]);
      } finally {
        clearInterval(ticker);
      }
    },
  };
  openGates.add(gate);
  return gate;
}

/** Releases every gate still closed (after hooks, so nothing stays blocked after a failed test). */
export function releaseAllGates(): void {
  for (const gate of [...openGates]) gate.release();
}

// ---------------------------------------------------------------------------------------------
// Mock activities

export type ActivityName = keyof Activities;
export type ActivityInput<N extends ActivityName> = Parameters<Activities[N]>[0];

export interface ActivityCall {
  name: ActivityName;
  input: Record<string, unknown>;
  /** Set for a part called by a composite activity (openDeploymentRun → authorizeDeploy, …): not a call the workflow made. */
  within?: ActivityName;
}

export const MOCK_COMMON_NAME = 'www.example.test';
export const MOCK_ORDER_ID = 'order-mock-1';
export const MOCK_VERSION_ID = 'version-mock-1';

export interface MockOptions {
  deploySettings?: Partial<DeploySettings>;
  deployments?: { deploymentId: string; targetName: string }[];
  facts?: Partial<RenewalFacts>;
  /** Whether a scheduled check finds the CA's ARI due to be asked (then it starts the lifecycle). */
  ariPollDue?: boolean;
  order?: Partial<CreatedOrder>;
  version?: Partial<StoredVersion>;
  /** Replace single activities (the replacement is still recorded). */
  overrides?: Partial<Activities>;
}

export interface MockActivities {
  activities: Activities;
  /** Every call in the order the worker started them. */
  calls: ActivityCall[];
  /** Calls the workflow made (parts inside a composite activity not counted). */
  workflowCalls(): number;
  names(): ActivityName[];
  count(name: ActivityName): number;
  inputsOf<N extends ActivityName>(name: N): ActivityInput<N>[];
}

const DAY_MS = 86_400_000;

/** A validity that is fresh (not due under any default policy) or inside the renewal window. */
export function validity(kind: 'fresh' | 'due', now: Date = new Date()): { notBefore: string; notAfter: string } {
  const t = now.getTime();
  return kind === 'fresh'
    ? { notBefore: new Date(t - DAY_MS).toISOString(), notAfter: new Date(t + 89 * DAY_MS).toISOString() }
    : { notBefore: new Date(t - 80 * DAY_MS).toISOString(), notAfter: new Date(t + 10 * DAY_MS).toISOString() };
}

export function mockActivities(options: MockOptions = {}): MockActivities {
  const order: CreatedOrder = {
    orderId: MOCK_ORDER_ID,
    needsChallenge: true,
    recordName: `_acme-challenge.${MOCK_COMMON_NAME}`,
    values: ['mock-txt-value'],
    ...options.order,
  };
  // Composite activities call their parts as the real ones do (activities/deploy-opening.ts,
  // stageAndActivateDeployment, closeDeploymentRun), so a test overrides or inspects a part.
  let partsOf: (within: ActivityName) => Activities = () => {
    throw new Error('mock activities not ready');
  };
  const facts: RenewalFacts = {
    exists: true,
    enabled: true,
    commonName: MOCK_COMMON_NAME,
    policy: { mode: 'fraction' },
    ...options.facts,
  };
  const defaults: Activities = {
    // Authority: the certificate's run and console starts are accepted; a signal's audit entry holds
    // when it is a number (the real checks run against PostgreSQL in test/integration/maintenance.test.ts).
    authorizeLifecycle: async () => ({ accepted: true, actor: 'schedule' }),
    authorizeDeploy: async () => ({ accepted: true, actor: 'renewal' }),
    claimCommand: async (input) =>
      typeof input.auditId === 'string' && /^\d+$/.test(input.auditId)
        ? { accepted: true, actor: 'tina' }
        : { accepted: false, reason: 'mock: no audit entry' },
    loadRenewalFacts: async () => facts,
    // A scheduled check's first look reads the same facts; the CA's ARI is not due unless a test says so.
    loadScheduledCheckFacts: async () => ({ ...facts, ariPollDue: options.ariPollDue ?? false }),
    openLifecycleRun: (input) => createLifecycleOpening(partsOf('openLifecycleRun')).openLifecycleRun(input),
    beginIssuance: (input) => createLifecycleOpening(partsOf('beginIssuance')).beginIssuance(input),
    markCertificateStatus: async () => undefined,
    recordRenewalCheck: async () => undefined,
    planAcmeDirectories: async () => ({ directories: [{ id: '1', name: 'Mock CA' }], fallbackAfterMs: 60_000 }),
    reserveOrderSlot: async () => ({ granted: true }),
    checkDnsProvider: async () => ({ zone: 'example.test' }),
    checkDnsDelegation: async () => ({ ok: true, detail: 'mock: no CNAME' }),
    createAcmeOrder: async () => order,
    presentDnsChallenge: async () => ({ recordName: order.recordName, count: order.values.length }),
    // The first look finds the record missing unless a test says otherwise, so the patient wait runs.
    checkDnsPropagationOnce: async () => ({ propagated: false, detail: 'mock: not visible yet' }),
    waitForDnsPropagation: async () => ({ nameservers: ['192.0.2.53'], elapsedMs: 1 }),
    prepareDnsChallenge: async (input) => {
      const parts = partsOf('prepareDnsChallenge');
      const { recordName, count } = await parts.presentDnsChallenge(input);
      const publishedAt = new Date().toISOString();
      return {
        recordName,
        count,
        publishedAt,
        ...(await asStep('propagate', () => parts.checkDnsPropagationOnce(input))),
      };
    },
    validateAndFinalizeAcmeOrder: async (input) => {
      const parts = partsOf('validateAndFinalizeAcmeOrder');
      await asStep('validate', () => parts.validateAcmeChallenge(input));
      const validatedAt = new Date().toISOString();
      return { ...(await asStep('finalize', () => parts.finalizeAcmeOrder(input))), validatedAt };
    },
    validateAcmeChallenge: async () => undefined,
    removeDnsChallenge: async () => ({ removed: order.values.length }),
    finalizeAcmeOrder: async () => ({
      versionId: MOCK_VERSION_ID,
      notAfter: new Date(Date.now() + 90 * DAY_MS).toISOString(),
      fingerprintSha256: 'AA:BB:CC',
      // The certificate's deployments, read by the activity that stores the version.
      deployments: options.deployments ?? [],
      ...options.version,
    }),
    sendLifecycleEmail: async () => ({ sent: true, detail: 'mock mailer' }),
    // Deploying: no target linked unless a test says otherwise; the device steps succeed.
    loadDeploySettings: async () => ({
      retryWindowMs: 2_000,
      commitPollMs: 50,
      commitTimeoutMs: 5_000,
      deviceRetryInitialMs: 100,
      deviceRetryAttempts: 3,
      leaseTimeoutMs: 60_000,
      coordinatorIdleMs: 5_000,
      busyAlertMs: 60_000,
      busyRetryMs: 100,
      ...options.deploySettings,
    }),
    startDeploymentRun: async (input) => ({
      runRowId: `run-${input.deploymentId}`,
      targetName: options.deployments?.find((d) => d.deploymentId === input.deploymentId)?.targetName ?? 'target',
      targetId: 't1',
      exclusiveSession: false,
      manual: false,
    }),
    openDeploymentRun: (input) => createDeployOpening(partsOf('openDeploymentRun')).openDeploymentRun(input),
    deployFirstAttempt: (input) => createDeployOpening(partsOf('deployFirstAttempt')).deployFirstAttempt(input),
    stageAndActivateDeployment: async (input) => {
      const parts = partsOf('stageAndActivateDeployment');
      await parts.stageDeployment(input);
      const activation = await parts.activateDeployment(input);
      if (activation.jobId) return activation;
      // Bound at once: the first verify attempt in the device step, a failure left to verifyDeployment.
      return {
        verified: await parts.verifyDeployment(input).then(
          () => true,
          () => false,
        ),
      };
    },
    closeDeploymentRun: async (input) => {
      await partsOf('closeDeploymentRun').finishDeploymentRun(input);
      return { cleanUp: false };
    },
    cleanUpDeployment: async () => ({ removed: [] }),
    loadTargetFacts: async () => ({ exclusiveSession: false }),
    checkMaintenanceWindow: async () => ({ inWindow: true }),
    endMaintenanceWait: async () => undefined,
    recordDeviceWait: async () => undefined,
    requestDeviceLease: async () => undefined,
    releaseDeviceLease: async () => undefined,
    stageDeployment: async () => ({ staged: { cert: 'staged-cert' } }),
    activateDeployment: async () => ({}),
    checkDeploymentActivation: async () => ({ state: 'done' }),
    verifyDeployment: async () => ({ endpoints: ['192.0.2.1:443'] }),
    rollbackDeployment: async () => ({}),
    finishDeploymentRun: async () => ({ removed: [] }),
    runTargetPreflight: async () => ({ ok: true, firmware: 'mock 1.0', checks: [], changes: [] }),
    // Console checks.
    verifyDnsProvider: async () => ({ zone: 'example.test', detail: 'token active, zone example.test visible' }),
    readAcmeDirectoryMeta: async () => ({ profiles: ['classic'], eabRequired: false, detail: 'offers classic' }),
    sendTestEmail: async () => ({ sent: true, detail: 'mock mailer' }),
    sendEndpointChangeNotice: async () => ({ sent: true, detail: 'mock mailer' }),
    recordScheduleHealth: async () => ({ schedules: 0, paused: 0, skipped: 0 }),
    // Fleet watch.
    sweepAlerts: async () => ({ notDeployed: 0, resolved: 0, alerts: 0, recoveries: 0 }),
    sendDailyDigest: async () => ({ sent: 1, detail: 'mock digest' }),
    checkServedEndpoints: async () => ({ lastId: null, deployments: 0, endpoints: 0, problems: 0 }),
    fetchPresentedCertificate: async () => ({
      subject: 'CN=mock',
      issuer: 'CN=mock',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      fingerprintSha256: '0'.repeat(64),
      trusted: false,
    }),
    // Revocation and key rollover (the real ones run against Pebble in test/integration/revocation.test.ts).
    loadRevocationSettings: async () => ({ pollMs: 50, waitMs: 5_000 }),
    authorizeRevocation: async () => ({ accepted: true, certificateId: '1', versionId: '1', replace: false }),
    setRevocationState: async () => undefined,
    checkReplacement: async () => ({ verified: true, replacementVersionId: '2', detail: 'mock: every target' }),
    revokeVersion: async () => ({ revokedAt: '2026-01-01T00:00:00.000Z' }),
    rollOverAccountKey: async () => ({ accountUrl: 'https://ca.example/acct/1' }),
  };
  const implementations: Activities = { ...defaults, ...options.overrides };

  const calls: ActivityCall[] = [];
  const recorder = (within?: ActivityName): Activities => {
    const recorded: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {};
    for (const name of Object.keys(implementations) as ActivityName[]) {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- activity implementations are closures of createActivities(deps), never `this`-bound methods
      const impl = implementations[name] as unknown as (input: Record<string, unknown>) => Promise<unknown>;
      recorded[name] = async (input) => {
        calls.push({ name, input, ...(within ? { within } : {}) });
        return impl(input);
      };
    }
    return recorded as unknown as Activities;
  };
  partsOf = recorder;

  return {
    activities: recorder(),
    calls,
    workflowCalls: () => calls.filter((c) => !c.within).length,
    names: () => calls.map((c) => c.name),
    count: (name) => calls.filter((c) => c.name === name).length,
    inputsOf: <N extends ActivityName>(name: N) =>
      calls.filter((c) => c.name === name).map((c) => c.input as unknown as ActivityInput<N>),
  };
}

export const uniqueCertificateId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
