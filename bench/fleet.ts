/**
 * bench/fleet.ts — a fleet of N certificates renewed at once on the real stack: PostgreSQL, the
 * Temporal dev server, worker and web console processes, Pebble with challtestsrv, the fake
 * Cloudflare, and fake F5 BIG-IPs (each a target of its own with CERTIFICATES_PER_DEVICE client-ssl
 * profiles, each profile with a TLS listener), one profile per certificate.
 * Each certificate is issued and deployed once to set the fleet up; then "Renew now" is pressed for
 * all of them through the JSON API, and every run goes DNS-01 → propagation → ACME → deploy → verify
 * by TLS handshake → email. For each N it prints:
 *
 * - the total time (first Renew now → last run complete) and certificates per second;
 * - p50 and p95 of one certificate's latency (its run's start to end, from lifecycle_runs);
 * - peak RSS and CPU per certificate of each process (worker(s), web, Temporal server, PostgreSQL,
 *   Pebble, challtestsrv, the fakes in this process), the database size, the load average;
 * - PostgreSQL transactions per renewal and deploy (pg_stat_database: a statement outside a
 *   transaction is one);
 * - where the time goes: each step's median share of a run (from the runs' progress);
 * - the raw ACME cost: acme-client alone against the same Pebble (this process, 25 orders at a time,
 *   no Temporal, no database, no deploy), its CPU per certificate, and CertFleet's own CPU per
 *   renewal and deploy (worker, Temporal, PostgreSQL, web) as a multiple of it (goal 2×).
 * With more than one N, the fleet table across N and the ratio of the largest N to the one before it
 * for CertFleet's CPU per certificate and the worker's peak memory (goal ≤ 1.2 for both).
 *
 *   npm run bench:fleet                       # N = 100 and 1,000
 *   npm run bench:fleet -- 10000              # N = 100, 1,000 and 10,000 in one run (about 2.5 hours on 2 cores)
 *   npm run bench:fleet -- 50                 # N = 50 alone (one size below 100: for development)
 *   npm run bench:fleet -- 50 200             # these sizes
 *   npm run bench:fleet -- --workers 2 100    # two worker processes
 *
 * The worker and web get the production topology's settings (scripts/topology.ts CERTFLEET_PROCESS_ENV:
 * a V8 heap limit each, a workflow cache of 50), as docker compose runs them. Tuning goes through the
 * worker's environment, e.g.
 *   WORKER_MAX_CONCURRENT_ACTIVITIES=200 WORKER_MAX_CACHED_WORKFLOWS=250 npm run bench:fleet -- 100
 * and Node flags for the worker through WORKER_NODE_ARGS (after NODE_OPTIONS, so they win), e.g.
 *   WORKER_NODE_ARGS="--max-old-space-size=256" npm run bench:fleet -- 100
 *   WORKER_NODE_ARGS="--import ./bench/thread-memory-log.mjs" MEMORY_LOG_FILE=/tmp/worker-memory.jsonl …
 * and the worker's Temporal metrics (off otherwise) through WORKER_METRICS_ADDRESS, e.g.
 *   WORKER_METRICS_ADDRESS=127.0.0.1:9464 npm run bench:fleet -- 1000   # curl -s 127.0.0.1:9464/metrics
 */
import { Client, Connection } from '@temporalio/client';
import { loadavg } from 'node:os';
import { measureAcmeCeiling } from './acme-ceiling';
import { printOne, printSummary, type FleetFigures } from './fleet-report';
import { fleetWorkerTuning } from './fleet-worker-tuning';
import { startSampling } from './process-memory';
import {
  clusterPart,
  ownProcessPart,
  POSTGRES,
  postmasterOf,
  processPart,
  productionStackParts,
  TEMPORAL,
  type StackPart,
} from './stack-parts';
import { median, percentile, runBenchmark } from './stats';
import { temporalTableWrites, writesPerRenewal, type TableWrites } from './temporal-persistence';
import { certificateWorkflowId, progressQuery, type LifecycleStep } from '../temporal/contract';
import { CERTFLEET_PROCESS_ENV } from '../scripts/topology';
import { createFleet } from '../test/support/fleet';
import type { ManagedProcess } from '../test/support/process';
import { startProductionStack } from '../test/support/production-stack';
import { startStack, type AnyStack } from '../test/support/stack';

/**
 * Certificates per fake BIG-IP: the same per device at every N, so N changes the number of devices, not
 * what each device does (one device holding 10,000 profiles measured that device: test/support/fleet.ts).
 * At N = 100 one device, as before 2026-12-07.
 */
const CERTIFICATES_PER_DEVICE = 100;
/** The raw ACME cost is measured on at most this many orders (CPU per certificate does not need more). */
const CEILING_MAX = 1_000;
/** The renewal schedules' interval here: a week (hourly, N checks an hour would run inside the phases). */
const RENEWAL_CHECK_INTERVAL_SECONDS = 7 * 24 * 3600;
/** How often the processes' memory is sampled during the renewals (RSS and PSS of each part). */
const MEMORY_SAMPLE_MS = 1_000;
/** PostgreSQL publishes a backend's counters when it has been idle this long (PG 15: PGSTAT_IDLE_INTERVAL). */
const PG_STATS_SETTLE_MS = 11_000;

/** The stack of one size, started on the dev server or on the production topology, and its CertFleet processes. */
async function startMeasuredStack(
  production: boolean,
  env: Record<string, string>,
): Promise<{
  stack: AnyStack;
  partsOf: (workers: readonly ManagedProcess[]) => Promise<StackPart[]>;
  /** The production topology's Temporal database writes so far (the dev server keeps its state in SQLite). */
  temporalWrites?: () => Promise<TableWrites>;
}> {
  if (production) {
    // The production topology: the real Temporal server on a private PostgreSQL, separate processes.
    const stack = await startProductionStack({ env });
    return {
      stack,
      partsOf: (workers) => productionStackParts(stack, workers),
      temporalWrites: () => temporalTableWrites(stack.postgres.adminUrl),
    };
  }
  // The worker and web run with the production topology's memory settings (what docker compose gives
  // them: a V8 heap limit and a workflow cache of 50), not the dev defaults; the environment can override them.
  const stack = await startStack({ webProcess: true, processEnv: CERTFLEET_PROCESS_ENV, env });
  return {
    stack,
    partsOf: async (workers) => [
      ...workers.map((w, i) => processPart(`worker ${i + 1}`, () => w.child.pid ?? 0)),
      processPart('web', () => stack.webChild?.child.pid ?? 0),
      processPart(TEMPORAL, () => stack.temporal.child.pid ?? 0),
      // The machine's PostgreSQL server, every process of it, the backends that exited included (the
      // pool closes idle ones during the renewals, and reading this database's live backends at the start
      // and the end lost their CPU: 0.2 CPU-s for 1,000 renewals, 2026-12-07 13:33). It is shared: run the
      // benchmark with nothing else using it (the dev server keeps Temporal's state in SQLite, not here).
      clusterPart(POSTGRES, await postmasterOf(stack)),
    ],
  };
}

async function runFleet(n: number, workerCount: number, production: boolean): Promise<FleetFigures> {
  const tuning = fleetWorkerTuning();
  // The worker's own Temporal metrics (sticky cache hits and misses, task latencies) to watch a run with curl.
  const metrics = process.env['WORKER_METRICS_ADDRESS'];
  if (metrics) tuning['WORKER_METRICS_ADDRESS'] = metrics;
  const { stack, partsOf, temporalWrites } = await startMeasuredStack(production, {
    ...tuning,
    DEPLOY_DEVICE_RETRY_INITIAL_MS: '200',
    LOG_LEVEL: 'warn',
    // The fleet's renewal checks (N an hour, spread over it by each schedule's offset) are not the
    // renewals measured here: weekly, almost none fall inside a phase.
    RENEWAL_CHECK_INTERVAL_SECONDS: String(RENEWAL_CHECK_INTERVAL_SECONDS),
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    const workers = [];
    for (let i = 0; i < workerCount; i += 1) workers.push(await stack.startWorker());
    const pebblePids = stack.pebble.pids();
    const parts = [
      ...(await partsOf(workers)),
      processPart('Pebble', () => pebblePids.pebble),
      processPart('challtestsrv', () => pebblePids.challtestsrv),
      ownProcessPart('fakes (this process)'),
    ];
    const setupStarted = performance.now();
    // Four creations at a time: on a loaded machine more made the console's Temporal calls time out (503).
    const fleet = await createFleet(stack, n, {
      concurrency: 4,
      waitByCount: true,
      certificatesPerDevice: CERTIFICATES_PER_DEVICE,
    });
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    process.stderr.write(
      `[fleet ${n}] set up (issued and deployed once) in ${setupSeconds.toFixed(1)} s; renewing all\n`,
    );

    const cpuNow = (): Record<string, number> => Object.fromEntries(parts.map((p) => [p.name, p.cpu()]));

    const transactions = async (): Promise<number> => {
      await new Promise((resolve) => setTimeout(resolve, PG_STATS_SETTLE_MS));
      const [row] = await stack.db.db.query<{ n: string }>(
        'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
      );
      return Number(row?.n ?? 0);
    };
    const transactionsBefore = await transactions();
    const temporalWritesBefore = await temporalWrites?.();
    const [{ now: startedAt } = { now: new Date() }] = await stack.db.db.query<{ now: Date }>('SELECT now()');
    const loadBefore = loadavg()[0] ?? 0;
    const cpuBefore = cpuNow();
    const sampler = startSampling(parts, MEMORY_SAMPLE_MS);
    process.stderr.write(`[fleet ${n}] renewing from ${new Date().toISOString()}\n`);
    const started = performance.now();
    const results = await fleet.renewAll();
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`[fleet ${n}] renewed by ${new Date().toISOString()}\n`);
    const peaks = sampler.stop();
    const cpuAfter = cpuNow();
    const loadAfter = loadavg()[0] ?? 0;
    const failed = results.filter((r) => r.outcome !== 'issued');
    if (failed.length)
      throw new Error(`${failed.length} of ${n} renewals did not end issued, e.g. ${JSON.stringify(failed[0])}`);

    const latencies = (
      await stack.db.db.query<{ ms: number }>(
        "SELECT extract(epoch FROM ended_at - started_at) * 1000 AS ms FROM lifecycle_runs WHERE trigger = 'manual' AND started_at >= $1",
        [startedAt],
      )
    )
      .map((r) => Number(r.ms))
      .sort((a, b) => a - b);

    // Where a run's time goes: each step's duration, from the progress of up to 50 runs.
    const client = new Client({ connection });
    const sample = fleet.certificates.filter((_, i) => i % Math.max(1, Math.floor(n / 50)) === 0).slice(0, 50);
    const durations = new Map<LifecycleStep, number[]>();
    for (const c of sample) {
      const progress = await client.workflow.getHandle(certificateWorkflowId(c.id)).query(progressQuery);
      for (const s of progress.steps) {
        if (!s.startedAt || !s.endedAt) continue;
        const list = durations.get(s.step) ?? [];
        list.push(Date.parse(s.endedAt) - Date.parse(s.startedAt));
        durations.set(s.step, list);
      }
    }
    const [size] = await stack.db.db.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
    // One process: its VmHWM (its whole life, setup included); several (PostgreSQL): the highest sampled sum.
    const rssMiB = Object.fromEntries(
      parts.map((p) => [p.name, p.peakRssMiB?.() ?? peaks.parts.get(p.name)?.rssMiB ?? 0] as [string, number]),
    );
    const pssMiB = Object.fromEntries(
      parts.map((p) => [p.name, peaks.parts.get(p.name)?.pssMiB ?? 0] as [string, number]),
    );
    const transactionsDuring = (await transactions()) - transactionsBefore;
    const temporalWritesAfter = await temporalWrites?.();
    await fleet.close();

    process.stderr.write(
      `[fleet ${n}] renewed in ${seconds.toFixed(1)} s; measuring raw acme-client on the same Pebble\n`,
    );
    const ceiling = await measureAcmeCeiling(stack.pebble, Math.min(n, CEILING_MAX), 25);
    return {
      n,
      workers: workerCount,
      setupSeconds,
      seconds,
      perSecond: n / seconds,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      rssMiB,
      pssMiB,
      stack: production ? 'production topology' : 'dev server',
      databaseMiB: Number(size?.bytes ?? 0) / 2 ** 20,
      cpu: Object.fromEntries(Object.keys(cpuAfter).map((k) => [k, (cpuAfter[k] ?? 0) - (cpuBefore[k] ?? 0)])),
      transactions: transactionsDuring,
      ...(temporalWritesBefore && temporalWritesAfter
        ? { temporalWrites: writesPerRenewal(temporalWritesBefore, temporalWritesAfter, n) }
        : {}),
      load: [loadBefore, loadAfter],
      steps: [...durations].map(([step, list]) => ({ step, medianMs: median(list) })),
      ceiling,
    };
  } finally {
    await connection.close();
    await stack.stop();
  }
}

/** One size: that N alone; a single larger one: 100, 1,000, 10,000 up to it, and it (the fleet table across N). */
export function fleetSizes(numbers: number[]): number[] {
  if (!numbers.length) return [100, 1000];
  if (numbers.length > 1) return numbers;
  const [only] = numbers as [number];
  return [...[100, 1000, 10_000].filter((n) => n < only), only];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const workersAt = args.indexOf('--workers');
  const workers = workersAt >= 0 ? Number(args[workersAt + 1]) : 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers takes a whole number ≥ 1');
  const numbers = args.filter((a, i) => /^\d+$/.test(a) && (workersAt < 0 || i !== workersAt + 1)).map(Number);
  const sizes = fleetSizes(numbers);
  const production = args.includes('--production');
  console.log(`# bench/fleet.ts — ${new Date().toISOString()}, ${(await import('node:os')).cpus().length} CPUs`);
  console.log(
    `worker tuning: ${Object.entries(fleetWorkerTuning())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  for (const [processName, settings] of Object.entries(CERTFLEET_PROCESS_ENV))
    console.log(
      `${processName} settings (production topology): ${Object.entries(settings)
        .map(([k, v]) => `${k}=${k === 'WORKER_MAX_CACHED_WORKFLOWS' ? (process.env[k] ?? v) : v}`)
        .join(' ')}`,
    );
  if (process.env['WORKER_NODE_ARGS']) console.log(`worker node args: ${process.env['WORKER_NODE_ARGS']}`);
  if (production && process.env['TEMPORAL_GO_RUNTIME'])
    console.log(`Temporal server Go runtime, replaced for this run: ${process.env['TEMPORAL_GO_RUNTIME']}`);
  const all: FleetFigures[] = [];
  for (const n of sizes) {
    const figures = await runFleet(n, workers, production);
    printOne(figures);
    all.push(figures);
  }
  printSummary(all);
}

runBenchmark(main);
