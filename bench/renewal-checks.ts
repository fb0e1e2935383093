/**
 * bench/renewal-checks.ts — what a fleet's scheduled renewal checks cost, and how they fall in time.
 *
 * Every certificate has a Temporal Schedule that starts a check each RENEWAL_CHECK_INTERVAL_SECONDS
 * (hourly in production): a schedule workflow that reads the renewal facts from PostgreSQL and, almost
 * always, ends "not due" there; a lifecycle run only when the certificate is due or the CA's ARI is due
 * to be asked (its Retry-After passed). At N = 10,000 that is 10,000 checks an hour. This benchmark
 * builds a fleet of N certificates (issued and deployed once, bench/fleet.ts's harness), lets the
 * schedules run for a few intervals with nothing else going on, and prints:
 *
 * - the checks that ran, how many of them started a lifecycle run, and CertFleet's CPU per check
 *   (worker, Temporal dev server, web, PostgreSQL);
 * - how they fell: the busiest second and the busiest 10 s of check starts, and each check run's
 *   latency (its schedule workflow's start to close, from Temporal's visibility) p50 / p95 / max: a burst
 *   that the worker cannot absorb shows as latency, and every renewal or deploy in it waits as long;
 * - what that means for 10,000 certificates checked hourly.
 *
 *   npm run bench:renewal-checks                 # N = 200, checks every 120 s, 1 interval to warm up, 3 measured
 *   npm run bench:renewal-checks -- 500          # another N
 *   RENEWAL_CHECK_INTERVAL_SECONDS=60 RENEWAL_CHECK_JITTER_SECONDS=5 npm run bench:renewal-checks
 */
import { Client, Connection } from '@temporalio/client';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterPart, POSTGRES, postmasterOf, processPart, TEMPORAL } from './stack-parts';
import { median, percentile, runBenchmark, sizesFromArgs } from './stats';
import { WorkflowType } from '../temporal/contract';
import { CERTFLEET_PROCESS_ENV } from '../scripts/topology';
import { createFleet, runningOf } from '../test/support/fleet';
import { startStack } from '../test/support/stack';

const setting = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const INTERVALS_MEASURED = setting('RENEWAL_CHECK_INTERVALS', 3);
/**
 * Whole intervals let pass before measuring: each certificate's first check asks the CA's ARI (a
 * lifecycle run), later ones only at its Retry-After (6 hours), so after one interval the fleet is
 * in its steady state (most checks end in the schedule's own workflow).
 */
const INTERVALS_WARMUP = setting('RENEWAL_CHECK_WARMUP_INTERVALS', 1);
/** A fleet of 10,000 checked hourly: the projection printed at the end. */
const FLEET = 10_000;
const HOUR_S = 3600;

/** The largest number of starts within any window of `windowMs` (starts sorted). */
function busiest(starts: number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < starts.length; last += 1) {
    while ((starts[last] ?? 0) - (starts[first] ?? 0) >= windowMs) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

runBenchmark(async () => {
  const [n = 200] = sizesFromArgs([200]);
  const intervalS = setting('RENEWAL_CHECK_INTERVAL_SECONDS', 120);
  const jitterS = setting('RENEWAL_CHECK_JITTER_SECONDS', 5);
  const stack = await startStack({
    webProcess: true,
    processEnv: CERTFLEET_PROCESS_ENV,
    env: {
      RENEWAL_CHECK_INTERVAL_SECONDS: String(intervalS),
      RENEWAL_CHECK_JITTER_SECONDS: String(jitterS),
      DEPLOY_DEVICE_RETRY_INITIAL_MS: '200',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '200',
      LOG_LEVEL: 'warn',
    },
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    const worker = await stack.startWorker();
    const client = new Client({ connection });
    const fleet = await createFleet(stack, n, { concurrency: 4, waitByCount: true, certificatesPerDevice: 100 });
    await fleet.close();
    // Let the checks that fell during the setup finish (a burst, when the checks are not spread).
    const running = runningOf(WorkflowType.scheduledRenewal);
    for (let i = 0; i < 60 && (await client.workflow.count(running)).count > 0; i += 1) await sleep(1_000);
    await sleep(INTERVALS_WARMUP * intervalS * 1000);
    const parts = [
      processPart('worker', () => worker.child.pid ?? 0),
      processPart(TEMPORAL, () => stack.temporal.child.pid ?? 0),
      processPart('web', () => stack.webChild?.child.pid ?? 0),
      // The machine's whole PostgreSQL server (shared: run this with nothing else using it).
      clusterPart(POSTGRES, await postmasterOf(stack)),
    ];
    const cpuBefore = parts.map((p) => p.cpu());
    const loadBefore = loadavg()[0] ?? 0;
    const from = new Date();
    process.stderr.write(
      `[renewal-checks ${n}] fleet set up; measuring ${INTERVALS_MEASURED} intervals of ${intervalS} s from ${from.toISOString()}\n`,
    );
    await sleep(INTERVALS_MEASURED * intervalS * 1000);
    const to = new Date();
    // CPU over whole intervals: the checks still running at either end are few against those inside.
    const cpu = parts.map((p, i) => p.cpu() - (cpuBefore[i] ?? 0));
    const loadAfter = loadavg()[0] ?? 0;
    const startedInWindow = (workflowType: string): string =>
      `WorkflowType = '${workflowType}' AND StartTime >= '${from.toISOString()}' AND StartTime < '${to.toISOString()}'`;
    const inWindow = startedInWindow(WorkflowType.scheduledRenewal);
    // Every check of the window closed, for its latency (checks go on starting after it: not waited for).
    while ((await client.workflow.count(`${inWindow} AND ExecutionStatus = 'Running'`)).count > 0) await sleep(1_000);

    const starts: number[] = [];
    const latencies: number[] = [];
    for await (const run of client.workflow.list({ query: inWindow })) {
      starts.push(run.startTime.getTime());
      if (run.closeTime) latencies.push(run.closeTime.getTime() - run.startTime.getTime());
    }
    // Nothing else starts lifecycle runs during the window: these are the checks that went on to one.
    const lifecycleRuns = (await client.workflow.count(startedInWindow(WorkflowType.lifecycle))).count;
    starts.sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    const checks = starts.length;
    const cpuTotal = cpu.reduce((a, b) => a + b, 0);
    const perCheckMs = checks ? (cpuTotal / checks) * 1000 : Number.NaN;

    console.log(`# bench/renewal-checks.ts — ${new Date().toISOString()}`);
    console.log(
      `\nN = ${n}, schedules every ${intervalS} s with ${jitterS} s of jitter, ${INTERVALS_WARMUP} interval(s) to warm up, ${INTERVALS_MEASURED} measured (${from.toISOString()} → ${to.toISOString()}), dev server, one worker\n`,
    );
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| checks run | ${checks} (${(checks / INTERVALS_MEASURED).toFixed(0)} per interval) |`);
    console.log(`| of which started a lifecycle run (due, or the CA's ARI to be asked) | ${lifecycleRuns} |`);
    console.log(
      `| CertFleet CPU per check: ${parts.map((p) => p.name).join(' + ')} | ${cpu.map((c) => ((c / Math.max(1, checks)) * 1000).toFixed(0)).join(' + ')} = **${perCheckMs.toFixed(0)} ms** |`,
    );
    console.log(
      `| busiest second / busiest 10 s of check starts | ${busiest(starts, 1_000)} / ${busiest(starts, 10_000)} |`,
    );
    console.log(
      `| check run latency p50 / p95 / max (schedule workflow start → close) | ${(median(latencies) / 1000).toFixed(1)} / ${(percentile(latencies, 95) / 1000).toFixed(1)} / ${((latencies.at(-1) ?? 0) / 1000).toFixed(1)} s |`,
    );
    console.log(`| load average (1 min) at start / end | ${loadBefore.toFixed(1)} / ${loadAfter.toFixed(1)} |`);
    const perHourCpuS = (FLEET * perCheckMs) / 1000;
    console.log(
      `| ${FLEET.toLocaleString('en')} certificates checked hourly: CPU per hour; its share of 2 cores | ${perHourCpuS.toFixed(0)} CPU-s; ${((perHourCpuS / (2 * HOUR_S)) * 100).toFixed(0)} % |`,
    );
    console.log(
      `| the same if they all fall in one 5-minute window (the whole hour plus the default jitter) | ${(perHourCpuS / 300).toFixed(1)} cores for 5 minutes, or both cores for ${(perHourCpuS / 2 / 60).toFixed(1)} minutes |`,
    );
    console.log("\nPostgreSQL is the machine's whole server: nothing else may use it during the run.");
  } finally {
    await connection.close();
    await stack.stop();
  }
});
