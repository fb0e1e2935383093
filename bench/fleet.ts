/**
 * bench/fleet.ts — a fleet of N certificates renewed at once on the real stack: PostgreSQL, the
 * Temporal dev server, worker and web console processes, Pebble with challtestsrv, the fake
 * Cloudflare, and one fake F5 BIG-IP with a client-ssl profile (and TLS listener) per certificate.
 * Each certificate is issued and deployed once to set the fleet up; then "Renew now" is pressed for
 * all of them through the JSON API, and every run goes DNS-01 → propagation → ACME → deploy → verify
 * by TLS handshake → email. For each N it prints:
 *
 * - the total time (first Renew now → last run complete) and certificates per second;
 * - p50 and p95 of one certificate's latency (its run's start to end, from lifecycle_runs);
 * - the peak RSS of the worker(s), the web console and the Temporal server, and the database size;
 * - where the time goes: each step's median share of a run (from the runs' progress), and the CPU
 *   seconds each process used during the renewals;
 * - the ceiling: raw acme-client against the same Pebble (this process, 25 orders at a time, no
 *   Temporal, no database, no deploy), and the pipeline's share of it (the goal is at least half).
 *
 *   npm run bench:fleet                       # N = 100 and 1,000
 *   npm run bench:fleet -- 50 200             # other sizes
 *   npm run bench:fleet -- --with-10k         # adds N = 10,000 (over an hour on 2 cores)
 *   npm run bench:fleet -- --workers 2 100    # two worker processes
 *
 * Tuning goes through the worker's environment, e.g.
 *   WORKER_MAX_CONCURRENT_ACTIVITIES=200 WORKER_MAX_CONCURRENT_WORKFLOW_TASKS=80 npm run bench:fleet -- 100
 */
import { Client, Connection } from '@temporalio/client';
import { measureAcmeCeiling, type CeilingResult } from './acme-ceiling';
import { clusterCpuSeconds, cpuSeconds, parentPid, peakRssMiB } from './process-stats';
import { median, runBenchmark } from './stats';
import { certificateWorkflowId, progressQuery, type LifecycleStep } from '../temporal/contract';
import { createFleet } from '../test/support/fleet';
import { startStack } from '../test/support/stack';

/** The knobs this benchmark passes to the worker unless the environment sets them. */
const TUNING: Record<string, string> = {
  WORKER_MAX_CONCURRENT_ACTIVITIES: '200',
  // More workflow tasks at once than two cores can finish within the 10 s task timeout only makes
  // them time out and run again (and Pebble 2.4 has deadlocked under the extra load).
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40',
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '100',
  WORKER_DATABASE_POOL_MAX: '20',
};

interface FleetFigures {
  n: number;
  workers: number;
  setupSeconds: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  rssMiB: { workers: number[]; web: number; temporal: number };
  databaseMiB: number;
  cpu: Record<string, number>;
  steps: { step: LifecycleStep; medianMs: number }[];
  ceiling: CeilingResult;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

async function runFleet(n: number, workerCount: number): Promise<FleetFigures> {
  const tuning = Object.fromEntries(Object.entries(TUNING).map(([k, v]) => [k, process.env[k] ?? v]));
  const stack = await startStack({
    webProcess: true,
    env: { ...tuning, DEPLOY_DEVICE_RETRY_INITIAL_MS: '200', LOG_LEVEL: 'warn' },
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    const workers = [];
    for (let i = 0; i < workerCount; i += 1) workers.push(await stack.startWorker());
    const setupStarted = performance.now();
    const fleet = await createFleet(stack, n);
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    process.stderr.write(
      `[fleet ${n}] set up (issued and deployed once) in ${setupSeconds.toFixed(1)} s; renewing all\n`,
    );

    const [backend] = await stack.db.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const postmaster = parentPid(backend?.pid ?? 0);
    const pids: Record<string, number> = {
      ...Object.fromEntries(workers.map((w, i) => [`worker ${i + 1}`, w.child.pid ?? 0])),
      web: stack.webChild?.child.pid ?? 0,
      temporal: stack.temporal.child.pid ?? 0,
      pebble: stack.pebble.pids().pebble,
      'fakes (this process)': process.pid,
    };
    const cpuNow = (): Record<string, number> => ({
      ...Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)])),
      postgres: clusterCpuSeconds(postmaster),
    });

    const [{ now: startedAt } = { now: new Date() }] = await stack.db.db.query<{ now: Date }>('SELECT now()');
    const cpuBefore = cpuNow();
    const started = performance.now();
    const results = await fleet.renewAll();
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpuNow();
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
    const rssMiB = {
      workers: workers.map((w) => peakRssMiB(w.child.pid ?? 0)),
      web: peakRssMiB(pids['web'] ?? 0),
      temporal: peakRssMiB(pids['temporal'] ?? 0),
    };
    await fleet.close();

    process.stderr.write(
      `[fleet ${n}] renewed in ${seconds.toFixed(1)} s; measuring raw acme-client on the same Pebble\n`,
    );
    const ceiling = await measureAcmeCeiling(stack.pebble, n, 25);
    return {
      n,
      workers: workerCount,
      setupSeconds,
      seconds,
      perSecond: n / seconds,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      rssMiB,
      databaseMiB: Number(size?.bytes ?? 0) / 2 ** 20,
      cpu: Object.fromEntries(Object.keys(cpuAfter).map((k) => [k, (cpuAfter[k] ?? 0) - (cpuBefore[k] ?? 0)])),
      steps: [...durations].map(([step, list]) => ({ step, medianMs: median(list) })),
      ceiling,
    };
  } finally {
    await connection.close();
    await stack.stop();
  }
}

function print(f: FleetFigures): void {
  const s = (x: number): string => `${x.toFixed(1)} s`;
  const share = f.perSecond / f.ceiling.perSecond;
  console.log(`\n## N = ${f.n.toLocaleString('en')} (${f.workers} worker process${f.workers > 1 ? 'es' : ''})\n`);
  console.log('| figure | value |');
  console.log('|---|---|');
  console.log(`| renew all: first Renew now → last run complete | ${s(f.seconds)} |`);
  console.log(`| certificates per second | ${f.perSecond.toFixed(2)} |`);
  console.log(`| one certificate's run, p50 / p95 | ${s(f.p50 / 1000)} / ${s(f.p95 / 1000)} |`);
  console.log(
    `| ceiling: raw acme-client, 25 at a time, same Pebble | ${f.ceiling.perSecond.toFixed(2)} per second (${s(f.ceiling.seconds)}) |`,
  );
  console.log(`| pipeline / ceiling (goal ≥ 0.5) | ${share.toFixed(2)} |`);
  console.log(
    `| peak RSS: worker${f.rssMiB.workers.length > 1 ? 's' : ''} / web / Temporal server | ${f.rssMiB.workers.map((m) => m.toFixed(0)).join(' + ')} / ${f.rssMiB.web.toFixed(0)} / ${f.rssMiB.temporal.toFixed(0)} MiB |`,
  );
  console.log(`| database size after setup and renewal | ${f.databaseMiB.toFixed(1)} MiB |`);
  console.log(`| setup (first issuance, link, first deploy) | ${s(f.setupSeconds)} |`);
  const cpuTotal = Object.values(f.cpu).reduce((a, b) => a + b, 0);
  console.log(
    `\nCPU during the renewals (${cpuTotal.toFixed(1)} CPU-s, ${((cpuTotal / f.n) * 1000).toFixed(0)} ms per certificate):\n`,
  );
  console.log('| process | CPU-s | per certificate | share |');
  console.log('|---|---|---|---|');
  for (const [name, secs] of Object.entries(f.cpu).sort((a, b) => b[1] - a[1])) {
    console.log(
      `| ${name} | ${secs.toFixed(1)} | ${((secs / f.n) * 1000).toFixed(0)} ms | ${((secs / cpuTotal) * 100).toFixed(0)} % |`,
    );
  }
  const stepTotal = f.steps.reduce((a, b) => a + b.medianMs, 0);
  console.log(`\nOne run's steps (median of up to 50 runs):\n`);
  console.log('| step | median | share |');
  console.log('|---|---|---|');
  for (const { step, medianMs } of f.steps)
    console.log(`| ${step} | ${medianMs.toFixed(0)} ms | ${((medianMs / stepTotal) * 100).toFixed(0)} % |`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const workersAt = args.indexOf('--workers');
  const workers = workersAt >= 0 ? Number(args[workersAt + 1]) : 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers takes a whole number ≥ 1');
  const numbers = args.filter((a, i) => /^\d+$/.test(a) && (workersAt < 0 || i !== workersAt + 1)).map(Number);
  const sizes = numbers.length ? numbers : [100, 1000];
  if (args.includes('--with-10k')) sizes.push(10_000);
  console.log(`# bench/fleet.ts — ${new Date().toISOString()}, ${(await import('node:os')).cpus().length} CPUs`);
  console.log(
    `worker tuning: ${Object.keys(TUNING)
      .map((k) => `${k}=${process.env[k] ?? TUNING[k]}`)
      .join(' ')}`,
  );
  for (const n of sizes) print(await runFleet(n, workers));
}

runBenchmark(main);
