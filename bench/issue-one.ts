/**
 * bench/issue-one.ts — one certificate, issue → deploy → verify, N times (default 10) on the real
 * stack (PostgreSQL, the Temporal dev server, a worker process, Pebble, the fake Cloudflare mirrored
 * into challtestsrv, a fake F5 BIG-IP whose client-ssl profile serves TLS). Each run is "Renew now"
 * through the JSON API and ends when the deploy to the BIG-IP is verified by a TLS handshake.
 *
 * The split comes from what the run itself records, not from history event types (a local activity
 * is a marker, a regular one an activity event, and which one a step is may change):
 * - the lifecycle's progress (its `progress` query: each step's start and end);
 * - inside the deploy step, the deployment run's steps in PostgreSQL (deployment_run_steps: stage,
 *   activate, verify, each "started" and "succeeded" with the database's time).
 *
 * - the deploy step's own timeline: the deploy child's history, each event's time after the one before
 *   (what of the step is the device and what is Temporal's scheduling between the child's steps).
 *
 *   npm run bench:issue-one            # 10 runs
 *   npm run bench:issue-one -- 25      # 25 runs
 */
import { Connection, type WorkflowHandle } from '@temporalio/client';
import { eventTypeName } from '../test/support/history-events';
import { median, ms, runBenchmark } from './stats';
import { certificateWorkflowId, deploymentWorkflowId, progressQuery, type LifecycleStep } from '../temporal/contract';
import type { Queryable } from '../activities/db/pool';
import type { ConsoleClient } from '../test/support/console-client';
import { setDirectoryPacing } from '../test/support/console-actions';
import { createFleet } from '../test/support/fleet';
import { startStack } from '../test/support/stack';

/**
 * The parts of one run: ACME is order + validation + finalize (with the download), as the CA sees it.
 * The TXT record's removal runs beside the deploy (its own line in the step table), so it is no part.
 */
const PARTS = {
  acme: ['order', 'validate', 'finalize'],
  dns: ['present', 'propagate'],
  bookkeeping: ['check'],
  deploy: ['deploy'],
} satisfies Record<string, LifecycleStep[]>;
type Part = keyof typeof PARTS | 'between steps';

/**
 * Every run renews the same name: the directory's budgets (Settings → ACME directories) are set to
 * their maximum for this benchmark's own Pebble directory, or pacing would hold the fifth run for a
 * week (Let's Encrypt's 5 duplicate certificates per week, the default budget).
 */
function withoutPacing(admin: ConsoleClient, directoryId: string): Promise<void> {
  return setDirectoryPacing(admin, directoryId, {
    ordersPerAccount: '100000',
    accountWindowSeconds: '1',
    certificatesPerDomain: '100000',
    duplicatesPerIdentifiers: '100000',
    domainWindowSeconds: '1',
  });
}

/** PostgreSQL publishes a backend's counters when it has been idle this long (PG 15: PGSTAT_IDLE_INTERVAL). */
const PG_STATS_SETTLE_MS = 11_000;

/** Transactions committed or rolled back in the benchmark's database so far (a statement outside one is one). */
async function databaseTransactions(db: Queryable): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, PG_STATS_SETTLE_MS));
  const [row] = await db.query<{ n: string }>(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(row?.n ?? 0);
}

/**
 * The deploy child's history as steps: each event after the first, named by its type (and the activity's
 * for a scheduled activity), with the time since the event before it; the first is the time from the
 * lifecycle's deploy step starting to the child starting, the last from the child's end to the step's end.
 */
async function deployTimeline(
  handle: WorkflowHandle,
  deploy: { from: number; to: number },
): Promise<[label: string, ms: number][]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const name = (e: (typeof events)[number]): string => {
    const type = eventTypeName(e);
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return activity ? `${type} ${activity}` : type;
  };
  const times = events.map((e) => ms(e.eventTime));
  const out: [string, number][] = [['lifecycle deploy step → child started', (times[0] ?? 0) - deploy.from]];
  for (let i = 1; i < events.length; i++) out.push([name(events[i] ?? {}), (times[i] ?? 0) - (times[i - 1] ?? 0)]);
  out.push(['child completed → lifecycle deploy step ended (the first-round email)', deploy.to - (times.at(-1) ?? 0)]);
  return out;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  const stack = await startStack({ propagationTimeoutMs: 30_000, authzReusePercent: 0 });
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    await stack.startWorker();
    // One certificate, issued and deployed once (the warm-up: account registration, first issuance).
    const fleet = await createFleet(stack, 1);
    const [cert] = fleet.certificates;
    if (!cert) throw new Error('the fleet has no certificate');
    await withoutPacing(await stack.admin(), fleet.directoryId);
    const handle = fleet.client.workflow.getHandle(certificateWorkflowId(cert.id));

    const totals: number[] = [];
    /** The deploy child's verify succeeded → the child completed (run closed, superseded objects removed). */
    const afterVerify: number[] = [];
    const parts: Record<Part, number[]> = { acme: [], dns: [], bookkeeping: [], deploy: [], 'between steps': [] };
    const deviceSteps = new Map<string, number[]>();
    const stepMs = new Map<LifecycleStep, number[]>();
    const timelines: [string, number][][] = [];
    const deployHandle = fleet.client.workflow.getHandle(deploymentWorkflowId(cert.id, cert.deploymentId));
    const transactionsBefore = await databaseTransactions(stack.db.db);
    for (let i = 0; i < runs; i++) {
      const started = Date.now();
      const [result] = await fleet.renewAll();
      if (result?.outcome !== 'issued')
        throw new Error(`run ${i + 1} ended ${result?.outcome}: ${result?.reason ?? ''}`);
      const progress = await handle.query(progressQuery);
      const spans = new Map<LifecycleStep, { from: number; to: number }>();
      for (const s of progress.steps)
        if (s.startedAt && s.endedAt) spans.set(s.step, { from: Date.parse(s.startedAt), to: Date.parse(s.endedAt) });
      const deployStep = spans.get('deploy');
      if (!deployStep) throw new Error(`run ${i + 1} recorded no deploy step`);
      // The device steps of this run's deploy, from the deployment run's step rows (the database's time).
      const rows = await stack.db.db.query<{ step: string; ms: number | null; ended: number | null }>(
        `SELECT s.step,
                extract(epoch FROM max(s.at) FILTER (WHERE s.status = 'succeeded') - min(s.at) FILTER (WHERE s.status = 'started')) * 1000 AS ms,
                extract(epoch FROM max(s.at) FILTER (WHERE s.status = 'succeeded')) * 1000 AS ended
           FROM deployment_run_steps s
          WHERE s.run_id = (SELECT max(id) FROM deployment_runs WHERE deployment_id = $1)
          GROUP BY s.step`,
        [cert.deploymentId],
      );
      for (const r of rows)
        if (r.ms !== null) deviceSteps.set(r.step, [...(deviceSteps.get(r.step) ?? []), Number(r.ms)]);
      const verified = rows.find((r) => r.step === 'verify')?.ended;
      if (verified === null || verified === undefined) throw new Error(`run ${i + 1} recorded no verify step`);
      // Issue → deploy → verify ends when the deploy's verify step succeeded (the run's own record): the
      // certificate is then served and checked. The deploy child goes on to close its run and remove
      // superseded objects from the device, and the lifecycle's deploy step to the first-round email
      // (`notify`); those are printed apart ("after verify"), not part of getting the certificate out.
      const timeline = await deployTimeline(deployHandle, deployStep);
      timelines.push(timeline);
      const childEnded = deployStep.to - (timeline.at(-1)?.[1] ?? 0);
      const deploy = { from: deployStep.from, to: Math.round(Number(verified)) };
      spans.set('deploy', deploy);
      const total = deploy.to - started;
      totals.push(total);
      afterVerify.push(childEnded - deploy.to);
      let accounted = 0;
      const line: string[] = [];
      for (const [part, steps] of Object.entries(PARTS) as [keyof typeof PARTS, LifecycleStep[]][]) {
        const ms = steps.reduce((a, step) => a + ((spans.get(step)?.to ?? 0) - (spans.get(step)?.from ?? 0)), 0);
        parts[part].push(ms);
        accounted += ms;
        line.push(`${part} ${ms}`);
      }
      parts['between steps'].push(Math.max(0, total - accounted));
      for (const [step, span] of spans) stepMs.set(step, [...(stepMs.get(step) ?? []), span.to - span.from]);
      console.log(
        `run ${String(i + 1).padStart(2)}: ${total} ms (${line.join(', ')}; after verify ${afterVerify.at(-1)})`,
      );
    }
    const transactionsPerRun = ((await databaseTransactions(stack.db.db)) - transactionsBefore) / runs;
    await fleet.close();

    const m = median(totals);
    const show = (label: string, values: number[]): void => {
      const v = median(values);
      console.log(`| ${label} | ${Math.round(v)} ms | ${((100 * v) / m).toFixed(0)} % |`);
    };
    console.log(`\nissue-one: ${runs} runs of Renew now → issued → deployed to a BIG-IP profile → verified by TLS\n`);
    console.log(
      `median ${Math.round(m)} ms, min ${Math.min(...totals)} ms, max ${Math.max(...totals)} ms (Renew now → verified)`,
    );
    console.log(
      `after verify, until the deploy child completed (run closed, superseded objects removed): median ${Math.round(median(afterVerify))} ms; Renew now → child completed: median ${Math.round(median(totals.map((t, k) => t + (afterVerify[k] ?? 0))))} ms\n`,
    );
    console.log(
      `PostgreSQL transactions per run (pg_stat_database, all processes): ${transactionsPerRun.toFixed(1)}\n`,
    );
    console.log('| part (each its own median) | median | share |');
    console.log('|---|---|---|');
    show('ACME: order, validation, finalize and download', parts.acme);
    show('DNS: publish TXT, propagation', parts.dns);
    show('deploy: the deploy child until verified (opening, stage and activate, verify on the device)', parts.deploy);
    show('renewal check (bookkeeping)', parts.bookkeeping);
    show('between steps (API, Temporal scheduling, workflow tasks)', parts['between steps']);
    console.log('\n| step | median |');
    console.log('|---|---|');
    for (const [step, values] of stepMs) console.log(`| ${step} | ${Math.round(median(values))} ms |`);
    for (const [step, values] of deviceSteps)
      console.log(`| deploy: ${step} (deployment run steps) | ${Math.round(median(values))} ms |`);
    // The runs whose child took the most common path (a cleanup of superseded objects adds events):
    // each event's median gap.
    const path = (t: [string, number][]): string => t.map(([label]) => label).join('|');
    const paths = timelines.map(path);
    const common = paths.reduce(
      (best, p) => (paths.filter((q) => q === p).length > paths.filter((q) => q === best).length ? p : best),
      paths[0] ?? '',
    );
    const same = timelines.filter((t) => path(t) === common);
    console.log(
      `\nThe deploy step, event by event (the deploy child's history; ${same.length} of ${runs} runs took this path):\n`,
    );
    console.log('| event (time since the one before) | median |');
    console.log('|---|---|');
    (same[0] ?? []).forEach(([label], i) =>
      console.log(`| ${label} | ${Math.round(median(same.map((t) => t[i]?.[1] ?? 0)))} ms |`),
    );
  } finally {
    await connection.close();
    await stack.stop();
  }
}

runBenchmark(main);
