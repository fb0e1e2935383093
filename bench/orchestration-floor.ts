/**
 * bench/orchestration-floor.ts — what Temporal's orchestration of one CertFleet renewal and deploy costs
 * by itself (issue 18 item 5: CertFleet's own CPU per renewal and deploy ≤ 2× the raw ACME cost).
 *
 * N workflows at once, each exactly the Temporal shape of one renewal with one target
 * (bench/orchestration-floor-workflows.ts: 2 local and 6 regular activities, one deploy child with 1
 * local and 1 regular, the 2 search attribute upserts, the real activity options and payload sizes)
 * whose activities do nothing (bench/orchestration-floor-activities.ts), on the Temporal CLI dev server
 * the other benchmarks start (test/support/temporal.ts, CertFleet's search attributes registered) and a
 * worker process configured as bench:fleet's CertFleet worker (bench/orchestration-floor-worker.ts:
 * worker/config.ts with bench/fleet-worker-tuning.ts and scripts/topology.ts CERTFLEET_PROCESS_ENV.worker;
 * run with `node --import tsx`, whose esbuild service is idle once the worker has loaded). Like bench:fleet
 * it starts every run, then waits for each run's result (handle.result()).
 *
 * It prints, per round: the wall time (first start → last result); the CPU per run of the worker process
 * and of the Temporal server process (with their children; /proc, from the first start until 2 s after
 * the last result, so the server's work after a run closed is in it), their idle rates before the round,
 * and what every other process on the machine used meanwhile (in cores: 0 on a quiet machine);
 * the workflow tasks, events and history bytes of one finished run (and the mean over all runs); and, for
 * comparison, the raw ACME cost measured in the same run (bench/acme-ceiling.ts measureAcmeCeiling against
 * a Pebble, same N, 25 at a time) and the floor's ratio to it. The dev server keeps its state in SQLite
 * inside its own process: Temporal's persistence is in the Temporal figure, and no PostgreSQL is in the
 * floor (on the production topology Temporal's share of PostgreSQL would come on top).
 *
 *   npx tsx bench/orchestration-floor.ts              # N = 50
 *   npx tsx bench/orchestration-floor.ts 200
 *   npx tsx bench/orchestration-floor.ts 50 --merged  # then the same run merged (1 local + 3 regular, no child)
 *   WORKER_MAX_CACHED_WORKFLOWS=250 npx tsx bench/orchestration-floor.ts 50   # worker/config.ts's default cache
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { measureAcmeCeiling, type CeilingResult } from './acme-ceiling';
import { fleetWorkerTuning } from './fleet-worker-tuning';
import { machineBusySeconds } from './process-stats';
import { processPart, TEMPORAL, type StackPart } from './stack-parts';
import { runBenchmark } from './stats';
import { CERTFLEET_PROCESS_ENV, GLIBC_MALLOC_ENV } from '../scripts/topology';
import { certificateWorkflowId, deploymentWorkflowId, TASK_QUEUE, type LifecycleResult } from '../temporal/contract';
import { startPebble, type PebbleStack } from '../test/support/pebble';
import { spawnManaged, type ManagedProcess } from '../test/support/process';
import { startTestTemporal, type TestTemporal } from '../test/support/temporal';
import type { floorLifecycleWorkflow } from './orchestration-floor-workflows';

const ROOT = path.join(__dirname, '..');
const RECORDED = path.join(ROOT, 'test', 'replay', 'histories', 'current');
const { EventType } = temporal.api.enums.v1;
type History = temporal.api.history.v1.IHistory;

/** Runs of each shape before the measured rounds (the bundle's first load, V8's compilation). */
const WARM_UP = 10;
/** The idle CPU of the worker and the server is read over this long before each round. */
const IDLE_MS = 5_000;
/** After the last result, the server still writes visibility records and runs the closed runs' tasks. */
const SETTLE_MS = 2_000;
/** Raw ACME: at most this many orders, this many at a time (bench/fleet.ts measures it so). */
const CEILING_MAX = 1_000;
const CEILING_CONCURRENCY = 25;

type Shape = 'floor' | 'merged';
const WORKFLOW: Record<Shape, string> = { floor: 'floorLifecycleWorkflow', merged: 'mergedLifecycleWorkflow' };
const DESCRIPTION: Record<Shape, string> = {
  floor: 'one renewal with one target (2 local + 6 regular activities, deploy child: 1 local + 1 regular)',
  merged: 'merged as far as isolation allows (1 local + 3 regular activities, no child)',
};

interface HistoryCounts {
  events: number;
  tasks: number;
  markers: number;
  activities: number;
  children: number;
  upserts: number;
  timedOut: number;
  bytes: number;
}

interface Round {
  shape: Shape;
  n: number;
  seconds: number;
  /** CPU ms per run of the worker and of the Temporal server, from the first start until SETTLE_MS after the last result. */
  worker: number;
  temporal: number;
  /** The same, read at the last result (without the settle). */
  workerAtEnd: number;
  temporalAtEnd: number;
  /** CPU ms per second before the round, idle. */
  idle: { worker: number; temporal: number };
  /** This process (the client: starts and result waits), CPU ms per run; not in the floor. */
  client: number;
  /** What every other process on the machine used meanwhile (first start → last result), in cores. */
  othersCores: number;
  /** One run: the lifecycle's history and its deploy child's (when it has one). */
  one: { lifecycle: HistoryCounts; child?: HistoryCounts };
  /** Workflow tasks per run (lifecycle and child) over all runs, and task timeouts in all of them. */
  meanTasks: number;
  meanEvents: number;
  timedOut: number;
}

function countHistory(history: History): HistoryCounts {
  const events = history.events ?? [];
  const count = (type: temporal.api.enums.v1.EventType): number => events.filter((e) => e.eventType === type).length;
  return {
    events: events.length,
    tasks: count(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
    markers: count(EventType.EVENT_TYPE_MARKER_RECORDED),
    activities: count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    children: count(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
    upserts: count(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
    timedOut: count(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) + count(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED),
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
  };
}

const describeCounts = (c: HistoryCounts): string =>
  `${c.events} events, ${c.tasks} workflow tasks, ${c.markers} markers, ${c.activities} activities, ${c.children} children, ${c.upserts} upserts, ${c.bytes} bytes`;

/** The recorded histories of the real workflows, for the shape and size comparison. */
async function recordedCounts(file: string): Promise<HistoryCounts> {
  const saved = JSON.parse(await readFile(path.join(RECORDED, file), 'utf8')) as { history: unknown };
  return countHistory(historyFromJSON(saved.history));
}

const ms = (seconds: number): number => seconds * 1000;

/** The workflow bundle of the floor's workflows, written where the worker process reads it. */
async function writeBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'orchestration-floor-workflows.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const file = path.join(tmpdir(), `certfleet-orchestration-floor-${process.pid}.js`);
  await writeFile(file, code);
  return file;
}

/** The worker's environment: bench:fleet's worker settings (the environment may override them, as there). */
function workerEnv(temporalAddress: string, bundlePath: string): Record<string, string> {
  return {
    ...CERTFLEET_PROCESS_ENV.worker,
    ...fleetWorkerTuning(),
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    // Required by worker/config.ts; the floor's activities never connect to a database.
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/orchestration-floor-unused',
    // As test/support/stack.ts runs CertFleet's workers (the image's glibc settings, metrics off, log level).
    ...GLIBC_MALLOC_ENV,
    WORKER_METRICS_ADDRESS: process.env['WORKER_METRICS_ADDRESS'] ?? '',
    LOG_LEVEL: 'info',
  };
}

async function startWorker(env: Record<string, string>): Promise<ManagedProcess> {
  // WORKER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", as bench:fleet takes it.
  const nodeArgs = (process.env['WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  return spawnManaged(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.join(__dirname, 'orchestration-floor-worker.ts')],
    {
      env,
      cwd: ROOT,
      name: 'orchestration-floor-worker',
      readyWhen: /orchestration-floor worker ready/,
      timeoutMs: 120_000,
    },
  );
}

/** Starts `ids.length` runs of the shape at once and waits for each one's result. */
async function runAll(client: Client, shape: Shape, ids: readonly string[]): Promise<LifecycleResult[]> {
  const handles: WorkflowHandle<typeof floorLifecycleWorkflow>[] = await Promise.all(
    ids.map((id) =>
      client.workflow.start<typeof floorLifecycleWorkflow>(WORKFLOW[shape], {
        workflowId: certificateWorkflowId(id),
        taskQueue: TASK_QUEUE,
        args: [{ certificateId: id, trigger: 'manual', auditId: id }],
      }),
    ),
  );
  const results = await Promise.all(handles.map((h) => h.result()));
  const bad = results.filter((r) => r.outcome !== 'issued');
  if (bad.length)
    throw new Error(`${bad.length} of ${ids.length} ${shape} runs did not end issued: ${JSON.stringify(bad[0])}`);
  return results;
}

async function measureRound(
  client: Client,
  parts: { worker: StackPart; temporal: StackPart },
  shape: Shape,
  ids: readonly string[],
): Promise<Round> {
  const n = ids.length;
  const idleBefore = { worker: parts.worker.cpu(), temporal: parts.temporal.cpu() };
  await sleep(IDLE_MS);
  const idle = {
    worker: ms(parts.worker.cpu() - idleBefore.worker) / (IDLE_MS / 1000),
    temporal: ms(parts.temporal.cpu() - idleBefore.temporal) / (IDLE_MS / 1000),
  };
  const before = {
    worker: parts.worker.cpu(),
    temporal: parts.temporal.cpu(),
    client: process.cpuUsage(),
    machine: machineBusySeconds(),
  };
  const started = performance.now();
  await runAll(client, shape, ids);
  const seconds = (performance.now() - started) / 1000;
  const atEnd = { worker: parts.worker.cpu(), temporal: parts.temporal.cpu(), machine: machineBusySeconds() };
  const clientUsed = process.cpuUsage(before.client);
  const clientSeconds = (clientUsed.user + clientUsed.system) / 1e6;
  const ours = atEnd.worker - before.worker + (atEnd.temporal - before.temporal) + clientSeconds;
  await sleep(SETTLE_MS);
  const after = { worker: parts.worker.cpu(), temporal: parts.temporal.cpu() };
  const perRun = (s: number): number => ms(s) / n;

  // The histories are read after the CPU figures: reading them costs the server too.
  const histories = await Promise.all(
    ids.map(async (id) => {
      const lifecycle = countHistory(await client.workflow.getHandle(certificateWorkflowId(id)).fetchHistory());
      const child =
        shape === 'floor'
          ? countHistory(await client.workflow.getHandle(deploymentWorkflowId(id, id)).fetchHistory())
          : undefined;
      return { lifecycle, ...(child ? { child } : {}) };
    }),
  );
  const sum = (f: (h: (typeof histories)[number]) => number): number => histories.reduce((a, h) => a + f(h), 0);
  return {
    shape,
    n,
    seconds,
    worker: perRun(after.worker - before.worker),
    temporal: perRun(after.temporal - before.temporal),
    workerAtEnd: perRun(atEnd.worker - before.worker),
    temporalAtEnd: perRun(atEnd.temporal - before.temporal),
    idle,
    client: perRun(clientSeconds),
    othersCores: Math.max(0, atEnd.machine - before.machine - ours) / seconds,
    one: histories[0] ?? { lifecycle: countHistory({}) },
    meanTasks: sum((h) => h.lifecycle.tasks + (h.child?.tasks ?? 0)) / n,
    meanEvents: sum((h) => h.lifecycle.events + (h.child?.events ?? 0)) / n,
    timedOut: sum((h) => h.lifecycle.timedOut + (h.child?.timedOut ?? 0)),
  };
}

function print(
  rounds: readonly Round[],
  ceiling: CeilingResult & { othersCores: number },
  load: [number, number],
  startedAt: Date,
): void {
  const raw = ceiling.cpuMsPerCert.total;
  console.log(
    `\n## Orchestration floor, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')}–${new Date().toISOString().slice(11, 16)} UTC, load ${load[0].toFixed(2)} → ${load[1].toFixed(2)}\n`,
  );
  console.log(
    '| shape | N | wall | worker CPU per run | Temporal server CPU per run | floor (worker + Temporal) | raw ACME CPU per cert | floor ÷ raw ACME | workflow tasks per run | events per run | other processes meanwhile |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rounds) {
    const floor = r.worker + r.temporal;
    console.log(
      `| ${r.shape} | ${r.n} | ${r.seconds.toFixed(1)} s | ${r.worker.toFixed(1)} ms | ${r.temporal.toFixed(1)} ms | **${floor.toFixed(1)} ms** | ${raw.toFixed(1)} ms | **${(floor / raw).toFixed(2)}×** | ${r.meanTasks.toFixed(2)} | ${r.meanEvents.toFixed(1)} | ${r.othersCores.toFixed(2)} cores |`,
    );
  }
  console.log('\nDetails:');
  for (const r of rounds) {
    console.log(`- ${r.shape}: ${DESCRIPTION[r.shape]}`);
    console.log(
      `  - at the last result (before the ${SETTLE_MS / 1000} s settle): worker ${r.workerAtEnd.toFixed(1)} ms, Temporal ${r.temporalAtEnd.toFixed(1)} ms per run; idle before the round: worker ${r.idle.worker.toFixed(1)} ms/s, Temporal ${r.idle.temporal.toFixed(1)} ms/s`,
    );
    console.log(
      `  - this process (client: ${r.n} starts and result waits; not in the floor): ${r.client.toFixed(1)} ms per run; ${(r.n / r.seconds).toFixed(1)} runs per second; every other process on the machine meanwhile: ${r.othersCores.toFixed(2)} cores`,
    );
    console.log(`  - one run's lifecycle: ${describeCounts(r.one.lifecycle)}`);
    if (r.one.child) console.log(`  - its deploy child: ${describeCounts(r.one.child)}`);
    console.log(`  - workflow task timeouts or failures in all ${r.n} runs: ${r.timedOut}`);
  }
  const c = ceiling.cpuMsPerCert;
  console.log(
    `- raw ACME (acme-client alone, ${ceiling.certificates} certificates ${ceiling.concurrency} at a time, same machine): ${raw.toFixed(1)} ms per certificate (client ${c.client.toFixed(1)}, Pebble ${c.pebble.toFixed(1)}, challtestsrv ${c.challtestsrv.toFixed(1)}), ${ceiling.perSecond.toFixed(1)} per second; every other process meanwhile: ${ceiling.othersCores.toFixed(2)} cores`,
  );
  console.log(
    '- Temporal: the CLI dev server, its persistence SQLite in its own process (counted above); no PostgreSQL in the floor',
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 50);
  if (!Number.isInteger(n) || n < 1) throw new Error('N must be a whole number ≥ 1');
  const shapes: Shape[] = args.includes('--merged') ? ['floor', 'merged'] : ['floor'];
  const startedAt = new Date();
  console.log(`# bench/orchestration-floor.ts — ${startedAt.toISOString()}, ${cpus().length} CPUs, N = ${n}`);
  for (const [name, file] of [
    ['lifecycle, two targets', 'certificateLifecycleWorkflow.json'],
    ['lifecycle, no target', 'certificateLifecycleWorkflow--2.json'],
    ['deploy child (SonicWall: + 2 lease activities and a signal)', 'deployToTargetWorkflow.json'],
  ] as const)
    console.log(`recorded ${name}: ${describeCounts(await recordedCounts(file))}`);

  let temporalServer: TestTemporal | undefined;
  let pebble: PebbleStack | undefined;
  let worker: ManagedProcess | undefined;
  let bundlePath: string | undefined;
  let connection: Connection | undefined;
  try {
    [temporalServer, pebble, bundlePath] = await Promise.all([
      startTestTemporal(),
      startPebble({ authzReusePercent: 0 }),
      writeBundle(),
    ]);
    const env = workerEnv(temporalServer.address, bundlePath);
    console.log(
      `worker settings: ${Object.entries(env)
        .filter(([k]) => k.startsWith('WORKER_') || k === 'NODE_OPTIONS')
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    worker = await startWorker(env);
    const workerPid = worker.child.pid ?? 0;
    const serverPid = temporalServer.child.pid ?? 0;
    const parts = { worker: processPart('worker', () => workerPid), temporal: processPart(TEMPORAL, () => serverPid) };
    connection = await Connection.connect({ address: temporalServer.address });
    const client = new Client({ connection });

    const ids = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => String(from + i));
    process.stderr.write(`[floor] warming up (${WARM_UP} runs of each shape)\n`);
    for (const [i, shape] of shapes.entries()) await runAll(client, shape, ids(900_000 + i * 1_000, WARM_UP));

    const loadBefore = loadavg()[0] ?? 0;
    const rounds: Round[] = [];
    for (const [i, shape] of shapes.entries()) {
      process.stderr.write(`[floor] ${n} ${shape} runs at once\n`);
      rounds.push(await measureRound(client, parts, shape, ids(1 + i * 100_000, n)));
    }
    process.stderr.write(`[floor] raw acme-client on Pebble: ${Math.min(n, CEILING_MAX)} certificates\n`);
    const aside = { machine: machineBusySeconds() };
    const ceilingStarted = performance.now();
    const ceiling = await measureAcmeCeiling(pebble, Math.min(n, CEILING_MAX), CEILING_CONCURRENCY);
    // Every process but the ceiling's own (this one, Pebble, challtestsrv), in cores: the idle worker and server too.
    const ceilingOthers =
      Math.max(0, machineBusySeconds() - aside.machine - (ceiling.cpuMsPerCert.total * ceiling.certificates) / 1000) /
      ((performance.now() - ceilingStarted) / 1000);
    const loadAfter = loadavg()[0] ?? 0;
    print(rounds, { ...ceiling, othersCores: ceilingOthers }, [loadBefore, loadAfter], startedAt);
  } finally {
    await connection?.close();
    await worker?.stop();
    await Promise.allSettled([temporalServer?.stop(), pebble?.stop()]);
    if (bundlePath) await rm(bundlePath, { force: true });
  }
}

runBenchmark(main);
