/**
 * bench/issue-one.ts — issue one certificate end to end on Pebble (trigger → version stored) N times
 * (default 10) on the real stack (PostgreSQL, Temporal dev server, worker process, Pebble, fake
 * Cloudflare mirrored into challtestsrv), and print the median with its split, read from each run's
 * history: ACME calls, DNS provider calls, propagation polling, database bookkeeping, and the rest
 * (Temporal scheduling, workflow tasks, network between them).
 *
 *   npm run bench:issue-one            # 10 runs
 *   npm run bench:issue-one -- 25      # 25 runs
 */
import { Connection } from '@temporalio/client';
import { benchConsole } from './console-setup';
import { median, ms, runBenchmark } from './stats';
import { certificateWorkflowId, type LifecycleResult } from '../temporal/contract';
import { renewNow, requestCertificate, waitForRunToEnd } from '../test/support/console-actions';
import { startStack } from '../test/support/stack';

type Bucket = 'acme' | 'dnsApi' | 'propagation' | 'database' | 'email';
const BUCKET_OF: Record<string, Bucket> = {
  createAcmeOrder: 'acme',
  validateAcmeChallenge: 'acme',
  finalizeAcmeOrder: 'acme',
  checkDnsProvider: 'dnsApi',
  presentDnsChallenge: 'dnsApi',
  removeDnsChallenge: 'dnsApi',
  waitForDnsPropagation: 'propagation',
  loadRenewalFacts: 'database',
  markCertificateStatus: 'database',
  recordRenewalCheck: 'database',
  sendLifecycleEmail: 'email',
};

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  const stack = await startStack({ propagationTimeoutMs: 30_000, authzReusePercent: 0 });
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    const { client, admin, directoryId, providerId } = await benchConsole(stack, connection);
    const id = await requestCertificate(admin, {
      commonName: '*.example.test',
      dnsProviderId: providerId,
      acmeDirectoryId: directoryId,
    });
    await waitForRunToEnd(admin, id); // warm-up: account registration, first issuance

    const totals: number[] = [];
    const split: Record<Bucket | 'other', number[]> = {
      acme: [],
      dnsApi: [],
      propagation: [],
      database: [],
      email: [],
      other: [],
    };
    for (let i = 0; i < runs; i++) {
      // "Renew now" through the console: a lifecycle started without its audit entry does nothing.
      const started = Date.now();
      await renewNow(admin, id);
      const handle = client.workflow.getHandle(certificateWorkflowId(id));
      const result = (await handle.result()) as LifecycleResult;
      if (result.outcome !== 'issued') throw new Error(`run ${i + 1} ended ${result.outcome}: ${result.reason ?? ''}`);
      const history = await handle.fetchHistory();
      const startedAt = new Map<number, number>();
      const typeOf = new Map<number, string>();
      const spent: Record<Bucket, number> = { acme: 0, dnsApi: 0, propagation: 0, database: 0, email: 0 };
      let storedAt = 0;
      for (const event of history.events ?? []) {
        const eventId = Number(event.eventId);
        if (event.activityTaskScheduledEventAttributes)
          typeOf.set(eventId, event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
        if (event.activityTaskStartedEventAttributes)
          startedAt.set(Number(event.activityTaskStartedEventAttributes.scheduledEventId), ms(event.eventTime));
        const done = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes;
        if (done) {
          const scheduled = Number(done.scheduledEventId);
          const type = typeOf.get(scheduled) ?? '';
          const bucket = BUCKET_OF[type];
          if (bucket) spent[bucket] += ms(event.eventTime) - (startedAt.get(scheduled) ?? ms(event.eventTime));
          if (type === 'finalizeAcmeOrder' && event.activityTaskCompletedEventAttributes)
            storedAt = ms(event.eventTime);
        }
      }
      // Trigger → version stored: up to the completion of finalizeAcmeOrder (the email comes after).
      const total = storedAt - started;
      const accounted = spent.acme + spent.dnsApi + spent.propagation + spent.database;
      totals.push(total);
      for (const bucket of Object.keys(spent) as Bucket[]) split[bucket].push(spent[bucket]);
      split.other.push(Math.max(0, total - accounted));
      console.log(
        `run ${String(i + 1).padStart(2)}: ${total} ms (acme ${spent.acme}, dns api ${spent.dnsApi}, propagation ${spent.propagation}, db ${spent.database}, email ${spent.email})`,
      );
    }
    const versions = await stack.db.db.query('SELECT id FROM certificate_versions WHERE certificate_id = $1', [id]);
    const m = median(totals);
    const line = (label: string, values: number[]) => {
      const v = median(values);
      console.log(
        `  ${label.padEnd(44)} ${String(Math.round(v)).padStart(6)} ms  ${((100 * v) / m).toFixed(0).padStart(3)}%`,
      );
    };
    console.log(
      `\nissue-one: ${runs} issuances of *.example.test on Pebble, trigger → version stored (${versions.length} versions stored)`,
    );
    console.log(`  median ${Math.round(m)} ms, min ${Math.min(...totals)} ms, max ${Math.max(...totals)} ms`);
    console.log('  median split (each part is its own median, so they need not add up exactly):');
    line('ACME (order, validation, finalize+download)', split.acme);
    line('propagation polling (authoritative DNS)', split.propagation);
    line('DNS provider API (check, create, delete TXT)', split.dnsApi);
    line('database bookkeeping activities', split.database);
    line('Temporal (scheduling, workflow tasks) + rest', split.other);
    console.log(`  (after the version is stored, the email takes a median ${Math.round(median(split.email))} ms more)`);
  } finally {
    await connection.close();
    await stack.stop();
  }
}

runBenchmark(main);
