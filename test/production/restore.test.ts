/**
 * Issue 17 item 5: a backup taken MID-RUN, restored onto a fresh PostgreSQL and a fresh Temporal
 * server (docs/backup-restore.md). A production stack (test/support/production-stack.ts) with a small
 * fleet on a fake BIG-IP starts "renew now" for every certificate; while the runs are in flight the
 * three databases are dumped with the backup script's code in its `--online` order (Temporal's two
 * first, CertFleet's last); the old installation is then lost (workers killed, web, Temporal server
 * and PostgreSQL stopped). A second production stack starts on the restored databases with the same
 * master key and the same peers (Pebble, fake Cloudflare, BIG-IP: their addresses are in the restored
 * rows). Checked: CertFleet's rows equal the backup's, the renewal schedules are reconciled, every run
 * in flight ends with its certificate valid and its latest version deployed and served, no
 * certificate or key object was imported twice on the device, and each version has exactly one
 * deployed run (a re-driven deploy of a version already deployed ends at once without one).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { dumpDatabases, otherClients, type DatabaseNames } from '../../scripts/backup/databases';
import { MANIFEST_FORMAT, MASTER_KEY_NOTE, writeManifest } from '../../scripts/backup/manifest';
import { databaseUrl } from '../../scripts/backup/pg-tools';
import { certificateWorkflowId, renewalScheduleId, type LifecycleResult } from '../../temporal/contract';
import { createFleet, type Fleet } from '../support/fleet';
import { startProductionStack, type ProductionStack } from '../support/production-stack';
import { eventually } from '../support/stack';

const CERTIFICATES = 3;
const ENV = { DEPLOY_DEVICE_RETRY_INITIAL_MS: '200' };
/** The rows the issue names: certificates, versions, deployment history, audit log. */
const COMPARED_TABLES = ['certificates', 'certificate_versions', 'deployment_runs', 'audit_log'] as const;

let source: ProductionStack | undefined;
let restored: ProductionStack | undefined;
let fleet: Fleet | undefined;
let backupDir = '';

before(async () => {
  backupDir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-restore-backup-'));
  source = await startProductionStack({ env: ENV });
  await source.startWorker();
  fleet = await createFleet(source, CERTIFICATES);
});

after(async () => {
  await restored?.stop();
  await fleet?.close();
  await source?.stop();
  if (backupDir) await rm(backupDir, { recursive: true, force: true });
});

const databaseName = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1));

/** The data rows of `table` in COPY text form, sorted, from a pg_dump/pg_restore plain-text data-only run. */
function copyRows(program: 'pg_dump' | 'pg_restore', args: string[], table: string): string[] {
  const run = spawnSync(program, ['--data-only', `--table=${table}`, '-f', '-', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(run.status, 0, `${program} ${table}: ${run.stderr}`);
  const lines = run.stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`COPY public.${table} `));
  assert.ok(start >= 0, `${program} printed the data of ${table}`);
  const end = lines.indexOf('\\.', start);
  return lines.slice(start + 1, end).sort();
}

/** Each certificate and key object installed on the BIG-IP, with how many times it was installed. */
function installsPerObject(bigip: Fleet['bigip']): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of bigip.calls) {
    const kind = /sys\/crypto\/(cert|key)$/.exec(call.path)?.[1];
    if (call.method !== 'POST' || call.status >= 400 || !kind) continue;
    const name = (call.body as { name?: string } | undefined)?.name ?? '?';
    counts.set(`${kind} ${name}`, (counts.get(`${kind} ${name}`) ?? 0) + 1);
  }
  return counts;
}

it('restores a backup taken mid-run onto a new PostgreSQL and Temporal server; every version ends deployed exactly once', async () => {
  assert.ok(source && fleet);
  const started = Date.now();
  const renewing = fleet.renewAll();
  // The old installation is lost below: its runs' results never come from it.
  renewing.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  // The backup, online: the stack runs and is connected while the three databases are dumped.
  const names: DatabaseNames = {
    certfleet: databaseName(source.db.url),
    temporal: 'temporal',
    temporal_visibility: 'temporal_visibility',
  };
  const serverUrl = source.postgres.adminUrl;
  assert.ok((await otherClients(serverUrl, names)).length > 0, 'the backup is taken while the stack runs');
  const files = await dumpDatabases({ kind: 'local', serverUrl }, names, backupDir);
  await writeManifest(backupDir, {
    format: MANIFEST_FORMAT,
    createdAt: new Date().toISOString(),
    quiesced: false,
    files,
    masterKey: MASTER_KEY_NOTE,
  });
  assert.deepEqual(
    files.map((f) => f.part),
    ['temporal', 'temporal_visibility', 'certfleet'],
    "the --online order: CertFleet's database last",
  );
  const backupTaken = Date.now();

  // The installation is lost: no worker, web, Temporal server or PostgreSQL of it runs on.
  for (const worker of source.workers) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  await source.webChild?.stop();
  await source.temporal.stop();
  await source.postgres.stop();

  const certfleetDump = path.join(backupDir, 'certfleet.dump');
  const backupRows = Object.fromEntries(
    COMPARED_TABLES.map((t) => [t, copyRows('pg_restore', [certfleetDump], t)] as const),
  );
  const renewedInBackup = (backupRows['certificate_versions']?.length ?? 0) - CERTIFICATES;

  restored = await startProductionStack({
    restoreFrom: backupDir,
    env: {
      ...ENV,
      CERTFLEET_MASTER_KEY: source.masterKey,
      // The restored DNS provider is the old fake Cloudflare, which publishes into the old challtestsrv.
      DNS_PROPAGATION_RESOLVERS: source.env['DNS_PROPAGATION_RESOLVERS'] ?? '',
    },
  });
  assert.equal(restored.namespace, 'existed', 'the namespace came back with the Temporal database');
  assert.deepEqual(restored.schemaCommands, [], "no schema step: Temporal's databases are the restored ones");

  // Before any worker runs: CertFleet's rows are the backup's, row for row.
  const restoredUrl = databaseUrl(restored.postgres.adminUrl, databaseName(restored.db.url));
  for (const table of COMPARED_TABLES)
    assert.deepEqual(copyRows('pg_dump', [restoredUrl], table), backupRows[table], `${table} equals the backup's`);

  const connection = await Connection.connect({ address: restored.temporal.address });
  let results: LifecycleResult[] = [];
  try {
    const client = new Client({ connection });
    const statuses = await Promise.all(
      fleet.certificates.map(
        async (c) => (await client.workflow.getHandle(certificateWorkflowId(c.id)).describe()).status.name,
      ),
    );
    process.stderr.write(
      `restore: runs at the backup ${JSON.stringify(statuses)}; renewed versions in the backup ${renewedInBackup}/${CERTIFICATES}\n`,
    );
    assert.ok(statuses.includes('RUNNING'), `the backup caught runs in flight: ${statuses.join(', ')}`);

    await restored.startWorker();
    const expectedSchedules = fleet.certificates.map((c) => renewalScheduleId(c.id)).sort();
    await eventually('the renewal schedules to be reconciled', async () => {
      const ids: string[] = [];
      for await (const schedule of client.schedule.list()) ids.push(schedule.scheduleId);
      const mine = ids.filter((id) => id.startsWith('renewal:certificate:')).sort();
      return JSON.stringify(mine) === JSON.stringify(expectedSchedules) ? mine : undefined;
    });

    results = await Promise.all(
      fleet.certificates.map(
        (c) => client.workflow.getHandle(certificateWorkflowId(c.id)).result() as Promise<LifecycleResult>,
      ),
    );
    assert.deepEqual(
      results.map((r) => r.outcome),
      Array(CERTIFICATES).fill('issued'),
      JSON.stringify(results),
    );

    // Every certificate valid, its latest version current, deployed and served.
    for (const c of fleet.certificates) {
      const current = await eventually(`${c.name}: its latest version deployed`, async () => {
        const [row] = await restored!.db.db.query<{ status: string; fingerprint: string; deployed: string }>(
          `SELECT c.status, v.fingerprint_sha256 AS fingerprint,
                  (SELECT count(*) FROM deployment_runs r WHERE r.version_id = v.id AND r.outcome = 'deployed') AS deployed
             FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id
            WHERE c.id = $1 AND v.id = (SELECT max(id) FROM certificate_versions WHERE certificate_id = c.id)`,
          [c.id],
        );
        return row?.status === 'valid' && Number(row.deployed) >= 1 ? row : undefined;
      }).catch(async (error: unknown) => {
        const runs = await restored!.db.db.query(
          `SELECT c.status, c.current_version_id, r.version_id, r.outcome, r.trigger, r.workflow_id, r.started_at
             FROM certificates c LEFT JOIN deployment_runs r ON r.version_id IN
                  (SELECT id FROM certificate_versions WHERE certificate_id = c.id)
            WHERE c.id = $1 ORDER BY r.id`,
          [c.id],
        );
        throw new Error(`${String(error)}; its rows: ${JSON.stringify(runs)}`);
      });
      await verifyServedFingerprint('f5-bigip', [fleet.bigip.endpointFor(c.profile)], current.fingerprint);
    }
  } finally {
    await connection.close();
  }

  // Re-driven, not doubled: one renewal each, each object installed once, each version deployed exactly
  // once across both installations. A deploy that ended between the Temporal dumps and CertFleet's
  // (online backup) is started again by the restored lifecycle, whose history predates it: that deploy
  // finds the version deployed and ends at once, opening no run (docs/backup-restore.md).
  const installs = installsPerObject(fleet.bigip);
  const [counts] = await restored.db.db.query<{ versions: string; deployed: string; twice: string }>(
    `SELECT (SELECT count(*) FROM certificate_versions) AS versions,
            (SELECT count(*) FROM deployment_runs WHERE outcome = 'deployed') AS deployed,
            (SELECT count(*) FROM (SELECT 1 FROM deployment_runs WHERE outcome = 'deployed'
                                   GROUP BY deployment_id, version_id HAVING count(*) > 1) d) AS twice`,
  );
  const alreadyDeployed = results
    .flatMap((r) => r.deployments ?? [])
    .filter((d) => d.reason?.startsWith('already deployed')).length;
  process.stderr.write(
    `restore: installs per object ${JSON.stringify([...installs])}; ${JSON.stringify(counts)}; ` +
      `re-driven deploys that found their version deployed: ${alreadyDeployed}\n`,
  );
  assert.deepEqual(
    [...installs].filter(([, n]) => n > 1),
    [],
    'no certificate or key object installed twice on the BIG-IP',
  );
  assert.deepEqual(
    counts,
    { versions: String(2 * CERTIFICATES), deployed: String(2 * CERTIFICATES), twice: '0' },
    'each version deployed exactly once (one deployed run per deployment and version, both installations together)',
  );
  process.stderr.write(
    `restore: backup ${backupTaken - started} ms after "renew now"; restored stack phases ${JSON.stringify(restored.timings)} ms; ` +
      `all runs ended ${Date.now() - started} ms after "renew now"; ${installs.size} objects installed once each; ` +
      `worker retries of the schedule reconciliation: ${(restored.workers[0]?.output() ?? '').split('not serving schedules yet').length - 1}\n`,
  );
});
