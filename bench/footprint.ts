/**
 * bench/footprint.ts — the resident memory of every process of the production topology (issue 17
 * item 4): PostgreSQL (postmaster and all its backends), the Temporal server 1.29.1, the read-only
 * Temporal UI server, the worker(s) and the web, each started as test/support/production-stack.ts
 * starts them (the commands and settings of docker-compose.yml). Measured twice:
 *
 * - idle: a fleet of N certificates issued and deployed once, then nothing for --idle-seconds (the
 *   real run: 300 s), then the average of five samples;
 * - burst: "Renew now" for all N at once (DNS-01 on Pebble, deploy to a fake F5 BIG-IP, verify, email),
 *   sampled every --interval-ms; per process its highest RSS and PSS, and the highest total in one sample.
 *
 * PSS is what the goal is checked against: the sum of the processes' PSS is the RAM they use together
 * (RSS counts PostgreSQL's shared buffers once per backend). Goal: ≤ 500 MB idle, ≤ 1 GB at the burst.
 * On a machine shared with other stacks PSS also splits the Node, Temporal and PostgreSQL binaries'
 * pages with those, so the bench prints a second figure as well: the stack's distinct resident pages,
 * each counted once (bench/unique-pages.ts; needs root), what a VM running the stack alone would hold.
 * Pebble, challtestsrv and the fakes (in this process) are the outside world and are not counted.
 *
 *   npm run bench:footprint                               # N = 200, 5 minutes idle
 *   npm run bench:footprint -- --idle-seconds 30 --certificates 50
 *   npm run bench:footprint -- --workers 2
 *
 * Settings under test go through the environment of the worker and web (e.g. WORKER_MAX_CACHED_WORKFLOWS,
 * WORKER_DATABASE_POOL_MAX, NODE_OPTIONS=--max-old-space-size=…) and WORKER_NODE_ARGS for the worker only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { childPids, NO_MEMORY, startSampling } from './process-memory';
import type { Memory, MemoryPeaks } from './process-memory';
import { argumentPart, productionStackParts, type StackPart } from './stack-parts';
import { runBenchmark } from './stats';
import { uniqueResidentByWhat, uniqueResidentMiB } from './unique-pages';
import { GLIBC_MALLOC_ENV } from '../scripts/topology';
import { findGoTool } from '../scripts/temporal/dev-server';
import { startReadOnlyTemporalUi, TEMPORAL_UI_SERVER } from '../scripts/temporal/ui-server';
import { createFleet } from '../test/support/fleet';
import { freePort } from '../test/support/free-port';
import { startProductionStack } from '../test/support/production-stack';
import type { ManagedProcess } from '../test/support/process';

const GOAL_IDLE_MIB = 500e6 / 2 ** 20;
const GOAL_BURST_MIB = 1e9 / 2 ** 20;

/** The environment the worker and web get here besides the caller's: short device retries, quiet logs. */
const BENCH_ENV: Record<string, string> = { DEPLOY_DEVICE_RETRY_INITIAL_MS: '200', LOG_LEVEL: 'warn' };

/** Settings read from this process's environment and passed on, printed with the figures. */
const PASSED_ON = [
  'WORKER_MAX_CACHED_WORKFLOWS',
  'WORKER_MAX_CONCURRENT_ACTIVITIES',
  'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS',
  'WORKER_DATABASE_POOL_MAX',
  'NODE_OPTIONS',
  // glibc malloc's tunables (mallopt(3), "ENVIRONMENT"), for the worker and the web alike.
  ...Object.keys(GLIBC_MALLOC_ENV),
];

function averageOf(samples: Map<string, Memory>[]): Map<string, Memory> {
  const out = new Map<string, Memory>();
  for (const sample of samples)
    for (const [name, m] of sample) {
      const seen = out.get(name) ?? NO_MEMORY;
      out.set(name, {
        rssMiB: seen.rssMiB + m.rssMiB / samples.length,
        pssMiB: seen.pssMiB + m.pssMiB / samples.length,
        processes: Math.max(seen.processes, m.processes),
      });
    }
  return out;
}

function print(idle: Map<string, Memory>, burst: MemoryPeaks, n: number, burstSeconds: number): void {
  const f = (x: number): string => x.toFixed(0);
  const total = (key: 'rssMiB' | 'pssMiB'): number => [...idle.values()].reduce((a, m) => a + m[key], 0);
  console.log(`\n| process | idle RSS | idle PSS | burst peak RSS | burst peak PSS |`);
  console.log('|---|---|---|---|---|');
  for (const [name, m] of idle) {
    const b = burst.parts.get(name) ?? NO_MEMORY;
    const count = Math.max(m.processes, b.processes);
    const label = count > 1 ? `${name} (${count} processes)` : name;
    console.log(`| ${label} | ${f(m.rssMiB)} | ${f(m.pssMiB)} | ${f(b.rssMiB)} | ${f(b.pssMiB)} |`);
  }
  console.log(
    `| **whole stack** | ${f(total('rssMiB'))} | **${f(total('pssMiB'))}** | ${f(burst.totalRssMiB)} | **${f(burst.totalPssMiB)}** |`,
  );
  console.log('\nMiB; burst: per process its highest value, whole stack the highest sum within one sample');
  console.log(`(${burst.samples} samples over ${burstSeconds.toFixed(0)} s, ${n} certificates renewed and deployed).`);
  const verdict = (value: number, goal: number): string =>
    `${f(value)} MiB of ${f(goal)} MiB: ${value <= goal ? 'within the goal' : 'OVER the goal'}`;
  console.log(`\nGoal, whole stack PSS: idle ≤ 500 MB → ${verdict(total('pssMiB'), GOAL_IDLE_MIB)}`);
  console.log(`Goal, whole stack PSS: burst ≤ 1 GB → ${verdict(burst.totalPssMiB, GOAL_BURST_MIB)}`);
}

/**
 * PSS shares a page among every process on the machine that maps it, other test stacks' Node and
 * Temporal binaries included, so on a shared machine it counts less than a VM running the stack alone
 * would use. The union of the stack's resident page frames counts each page once, in full.
 */
function printUnique(idle: number, burst: number): void {
  if (Number.isNaN(idle)) {
    console.log('\nWhole stack, each resident page once: not measured (page frames need root)');
    return;
  }
  const verdict = (value: number, goal: number): string =>
    `${value.toFixed(0)} MiB of ${goal.toFixed(0)} MiB: ${value <= goal ? 'within the goal' : 'OVER the goal'}`;
  console.log('\nWhole stack, each resident page once (as on a VM running the stack alone; burst sampled every 5 s):');
  console.log(`  idle ≤ 500 MB → ${verdict(idle, GOAL_IDLE_MIB)}`);
  console.log(`  burst ≤ 1 GB → ${verdict(burst, GOAL_BURST_MIB)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'idle-seconds': { type: 'string', default: '300' },
      certificates: { type: 'string', default: '200' },
      workers: { type: 'string', default: '1' },
      'interval-ms': { type: 'string', default: '500' },
    },
  });
  const idleSeconds = Number(values['idle-seconds']);
  const n = Number(values.certificates);
  const workerCount = Number(values.workers);
  const intervalMs = Number(values['interval-ms']);
  const passed = Object.fromEntries(PASSED_ON.flatMap((k) => (process.env[k] ? [[k, process.env[k] ?? '']] : [])));
  console.log(`# bench/footprint.ts — ${new Date().toISOString()}, ${os.cpus().length} CPUs, ${n} certificates`);
  console.log(
    `settings: ${
      Object.entries(passed)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || 'defaults'
    }`,
  );
  if (process.env['WORKER_NODE_ARGS']) console.log(`worker node args: ${process.env['WORKER_NODE_ARGS']}`);

  const uiBinary = await findGoTool(TEMPORAL_UI_SERVER);
  if (!uiBinary) throw new Error('footprint: no temporal-ui-server (go install, see scripts/temporal/ui-server.ts)');
  const stack = await startProductionStack({ env: { ...BENCH_ENV, ...passed } });
  const uiDir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-footprint-ui-'));
  try {
    const ui = await startReadOnlyTemporalUi({
      binaryPath: uiBinary,
      temporalAddress: stack.temporal.address,
      port: await freePort(),
      configDir: uiDir,
    });
    const workers: ManagedProcess[] = [];
    for (let i = 0; i < workerCount; i += 1) workers.push(await stack.startWorker());
    const parts: StackPart[] = await productionStackParts(stack, workers);
    // After PostgreSQL and the Temporal server, as compose lists them.
    parts.splice(2, 0, argumentPart('Temporal UI server', uiDir));

    // Every process of the stack with its descendants, for the count of distinct resident pages.
    const tree = (pid: number): number[] => [pid, ...childPids(pid).flatMap(tree)];
    const stackPids = (): number[] => parts.flatMap((p) => p.pids?.() ?? []).flatMap(tree);
    const uniqueNow = (): number => uniqueResidentMiB(stackPids()) ?? Number.NaN;

    const setupStarted = performance.now();
    const fleet = await createFleet(stack, n);
    process.stderr.write(
      `[footprint] ${n} certificates issued and deployed in ${((performance.now() - setupStarted) / 1000).toFixed(0)} s; idle for ${idleSeconds} s\n`,
    );
    try {
      // The bench's own Temporal client and pg pool stay connected: one idle backend each, as a console tab would.
      await sleep(idleSeconds * 1000);
      const idleSamples = [];
      let idleUnique = 0;
      for (let i = 0; i < 5; i += 1) {
        idleSamples.push(new Map(parts.map((p) => [p.name, p.read()])));
        idleUnique += uniqueNow() / 5;
        await sleep(1000);
      }
      const idle = averageOf(idleSamples);
      const idleFigures = [...idle].map(([name, m]) => `${name} ${m.pssMiB.toFixed(0)}`).join(', ');
      const idleTotal = [...idle.values()].reduce((a, m) => a + m.pssMiB, 0);
      process.stderr.write(
        `[footprint] idle PSS (MiB): ${idleFigures}; whole stack ${idleTotal.toFixed(0)}; each page once ${idleUnique.toFixed(0)}\n`,
      );
      // Where the idle pages are, each once: the binaries shared by processes under their file's name.
      const byWhat = uniqueResidentByWhat(parts.map((p) => ({ name: p.name, pids: (p.pids?.() ?? []).flatMap(tree) })));
      if (byWhat)
        process.stderr.write(
          `[footprint] idle, each page once, by what holds it (MiB, ≥ 1): ${byWhat
            .filter(([, mib]) => mib >= 1)
            .map(([what, mib]) => `${what} ${mib.toFixed(1)}`)
            .join('; ')}\n`,
        );
      process.stderr.write(`[footprint] idle measured; renewing all ${n}\n`);
      // CPU seconds of CertFleet's processes, the Temporal server and PostgreSQL (the private cluster,
      // exited backends included) over the burst: the cost of a setting (e.g. V8's --optimize-for-size,
      // the Temporal server's SQL pools) less bent by the machine's load than the burst's duration.
      // PostgreSQL was left out until 2026-12-07, and with it the cost of issue 17's pools (docs/scaling.md).
      const cpuParts = parts.filter((p) => p.name !== 'Temporal UI server');
      const cpuNow = (): number[] => cpuParts.map((p) => p.cpu());
      const cpuBefore = cpuNow();
      const sampler = startSampling(parts, intervalMs);
      let burstUnique = uniqueNow();
      const uniqueTimer = setInterval(() => (burstUnique = Math.max(burstUnique, uniqueNow())), 5000);
      const started = performance.now();
      const results = await fleet
        .renewAll()
        .catch((error: unknown) => {
          // The console's own account of a failed "Renew now" (a 500 names no cause to the client).
          const webLog = stack.webChild?.output().split('\n').slice(-40).join('\n') ?? '';
          process.stderr.write(`[footprint] the burst failed; the web's last output:\n${webLog}\n`);
          throw error;
        })
        .finally(() => clearInterval(uniqueTimer));
      const burst = sampler.stop();
      const cpuAfter = cpuNow();
      const burstSeconds = (performance.now() - started) / 1000;
      const failed = results.filter((r) => r.outcome !== 'issued');
      if (failed.length)
        throw new Error(`${failed.length} of ${n} renewals did not end issued: ${JSON.stringify(failed[0])}`);
      print(idle, burst, n, burstSeconds);
      printUnique(idleUnique, burstUnique);
      const cpu = cpuParts.map(({ name }, i) => `${name} ${((cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0)).toFixed(1)}`);
      console.log(`CPU seconds during the burst: ${cpu.join(', ')}`);
    } finally {
      await fleet.close();
      await ui.stop();
    }
  } finally {
    await stack.stop();
    await rm(uiDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
