/** How bench/fleet.ts prints its figures: one table per N, then the fleet table and the ratios across N. */
import type { CeilingResult } from './acme-ceiling';
import { POSTGRES, TEMPORAL } from './stack-parts';
import type { LifecycleStep } from '../temporal/contract';

export interface FleetFigures {
  n: number;
  workers: number;
  setupSeconds: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  /** Which stack: the dev server or the production topology. */
  stack: string;
  /** Peak resident memory per process, MiB: VmHWM of one process; the highest sampled sum of several (PostgreSQL). */
  rssMiB: Record<string, number>;
  /** Highest PSS per process (and its descendants) sampled during the renewals, MiB. */
  pssMiB: Record<string, number>;
  databaseMiB: number;
  /** CPU seconds per process during the renewals. */
  cpu: Record<string, number>;
  /** PostgreSQL transactions (committed + rolled back) during the renewals; a statement outside a transaction is one. */
  transactions: number;
  /** The production topology: rows written per renewal to the Temporal server's busiest tables (inserted + deleted). */
  temporalWrites?: [string, number][];
  steps: { step: LifecycleStep; medianMs: number }[];
  ceiling: CeilingResult;
  /** Load average (1 min) when the renewals started and when they ended. */
  load: [number, number];
}

/** The processes that are CertFleet's own cost (not the CA, not the fake devices and DNS API). */
export const isCertFleetProcess = (name: string): boolean =>
  name.startsWith('worker') || ['web', TEMPORAL, POSTGRES].includes(name);

const perCert = (seconds: number, n: number): number => (seconds / n) * 1000;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export function certFleetCpuMsPerCert(f: FleetFigures): number {
  return perCert(
    sum(
      Object.entries(f.cpu)
        .filter(([k]) => isCertFleetProcess(k))
        .map(([, v]) => v),
    ),
    f.n,
  );
}

export const workerPeakMiB = (f: FleetFigures): number =>
  Math.max(
    0,
    ...Object.entries(f.rssMiB)
      .filter(([k]) => k.startsWith('worker'))
      .map(([, v]) => v),
  );

export function printOne(f: FleetFigures): void {
  const s = (x: number): string => `${x.toFixed(1)} s`;
  const raw = f.ceiling.cpuMsPerCert;
  console.log(
    `\n## N = ${f.n.toLocaleString('en')}, ${f.stack} (${f.workers} worker process${f.workers > 1 ? 'es' : ''})\n`,
  );
  console.log('| figure | value |');
  console.log('|---|---|');
  console.log(`| renew all: first Renew now → last run complete | ${s(f.seconds)} |`);
  console.log(`| certificates per second | ${f.perSecond.toFixed(2)} |`);
  console.log(`| one certificate's run, p50 / p95 | ${s(f.p50 / 1000)} / ${s(f.p95 / 1000)} |`);
  console.log(
    `| load average (1 min) at start / end of the renewals | ${f.load[0].toFixed(1)} / ${f.load[1].toFixed(1)} |`,
  );
  console.log(
    `| raw acme-client, ${f.ceiling.concurrency} at a time, same Pebble (${f.ceiling.certificates} certificates) | ${f.ceiling.perSecond.toFixed(2)} per second |`,
  );
  console.log(
    `| raw ACME CPU per certificate: acme-client + Pebble + challtestsrv | ${raw.client.toFixed(0)} + ${raw.pebble.toFixed(0)} + ${raw.challtestsrv.toFixed(0)} = ${raw.total.toFixed(0)} ms |`,
  );
  if (f.ceiling.failed)
    console.log(
      `| raw acme-client orders that failed or were not started (Pebble not answering) | ${f.ceiling.failed}: ${f.ceiling.firstFailure ?? ''} |`,
    );
  const own = certFleetCpuMsPerCert(f);
  console.log(
    `| CertFleet's own CPU per renewal and deploy (worker, Temporal, PostgreSQL, web) | ${own.toFixed(0)} ms = **${(own / raw.total).toFixed(1)}×** raw ACME (goal 2×) |`,
  );
  console.log(`| PostgreSQL transactions per renewal and deploy | ${(f.transactions / f.n).toFixed(1)} |`);
  if (f.temporalWrites)
    console.log(
      `| Temporal's database: rows inserted + deleted per renewal and deploy, busiest tables | ${f.temporalWrites.map(([t, w]) => `${t} ${w.toFixed(1)}`).join(', ')} |`,
    );
  console.log(`| database size after setup and renewal | ${f.databaseMiB.toFixed(1)} MiB |`);
  console.log(`| setup (first issuance, link, first deploy) | ${s(f.setupSeconds)} |`);
  const cpuTotal = sum(Object.values(f.cpu));
  console.log(`\nPer process during the renewals (${cpuTotal.toFixed(1)} CPU-s in all):\n`);
  console.log('| process | peak RSS | peak PSS (renewals) | CPU-s | CPU per certificate | share |');
  console.log('|---|---|---|---|---|---|');
  const mib = (m: number | undefined): string => (m === undefined ? '—' : `${m.toFixed(0)} MiB`);
  for (const [name, secs] of Object.entries(f.cpu).sort((a, b) => b[1] - a[1])) {
    console.log(
      `| ${name} | ${mib(f.rssMiB[name])} | ${mib(f.pssMiB[name])} | ${secs.toFixed(1)} | ${perCert(secs, f.n).toFixed(0)} ms | ${((secs / cpuTotal) * 100).toFixed(0)} % |`,
    );
  }
  console.log(
    '\nPeak RSS: of one process its VmHWM (whole life, setup included); of PostgreSQL the highest sampled sum.',
  );
  const stepTotal = sum(f.steps.map((x) => x.medianMs));
  console.log(`\nOne run's steps (median of up to 50 runs, from the runs' progress):\n`);
  console.log('| step | median | share |');
  console.log('|---|---|---|');
  for (const { step, medianMs } of f.steps)
    console.log(`| ${step} | ${medianMs.toFixed(0)} ms | ${((medianMs / stepTotal) * 100).toFixed(0)} % |`);
}

/** The fleet table across N, and the ratios of the largest N to the one before it (goal ≤ 1.2). */
export function printSummary(all: FleetFigures[]): void {
  if (all.length < 2) return;
  const cols = all.map((f) => `N = ${f.n.toLocaleString('en')}`);
  console.log(`\n## The fleet across N (${all[0]?.stack ?? ''})\n`);
  console.log(`| | ${cols.join(' | ')} |`);
  console.log(`|---|${cols.map(() => '---').join('|')}|`);
  const row = (label: string, value: (f: FleetFigures) => string): void =>
    console.log(`| ${label} | ${all.map(value).join(' | ')} |`);
  row('renew all', (f) => `${f.seconds.toFixed(1)} s`);
  row('certificates per second', (f) => f.perSecond.toFixed(2));
  row('p50 / p95', (f) => `${(f.p50 / 1000).toFixed(1)} / ${(f.p95 / 1000).toFixed(1)} s`);
  row(
    'peak RSS worker / web / Temporal',
    (f) =>
      [workerPeakMiB(f), f.rssMiB['web'] ?? 0, f.rssMiB[TEMPORAL] ?? 0].map((m) => m.toFixed(0)).join(' / ') + ' MiB',
  );
  row('CertFleet CPU per certificate', (f) => `${certFleetCpuMsPerCert(f).toFixed(0)} ms`);
  row('raw ACME CPU per certificate', (f) => `${f.ceiling.cpuMsPerCert.total.toFixed(0)} ms`);
  row('CertFleet / raw ACME', (f) => `${(certFleetCpuMsPerCert(f) / f.ceiling.cpuMsPerCert.total).toFixed(1)}×`);
  row('PostgreSQL transactions per certificate', (f) => (f.transactions / f.n).toFixed(1));
  row('load average start / end', (f) => `${f.load[0].toFixed(1)} / ${f.load[1].toFixed(1)}`);
  const [big, small] = [all[all.length - 1], all[all.length - 2]] as [FleetFigures, FleetFigures];
  const label = `N = ${big.n.toLocaleString('en')} / N = ${small.n.toLocaleString('en')}`;
  console.log(`\n| ratio ${label} (goal ≤ 1.2) | value |`);
  console.log('|---|---|');
  console.log(
    `| CertFleet CPU per certificate | ${(certFleetCpuMsPerCert(big) / certFleetCpuMsPerCert(small)).toFixed(2)} |`,
  );
  console.log(`| worker peak memory | ${(workerPeakMiB(big) / workerPeakMiB(small)).toFixed(2)} |`);
}
