/**
 * PostgreSQL restarts in the middle of renewals that deploy to a fake F5: activities that hit the
 * closed database retry, and every run completes exactly once. The test runs its own PostgreSQL
 * server (Debian's binaries, data in a temporary directory, a free port), so the shared one is never
 * touched.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { useFleetOnStack, workerExit } from '../support/fleet-on-stack';
import { freePort } from '../support/free-port';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';

const CERTIFICATES = 10;
let dir: string;
let postgres: PrivatePostgres;
const fleetOnStack = useFleetOnStack({
  certificates: CERTIFICATES,
  env: { DEPLOY_DEVICE_RETRY_INITIAL_MS: '200' },
  beforeStack: async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-pg-restart-'));
    postgres = await startPrivatePostgres(dir, await freePort());
    // Every database of this file lives in the private server.
    process.env['TEST_DATABASE_ADMIN_URL'] = postgres.adminUrl;
  },
  afterStack: async () => {
    await postgres?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  },
});

it('every run completes after PostgreSQL restarts mid-run', async () => {
  const { stack, fleet } = fleetOnStack();
  const renewing = fleet.renewAll();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.ok(fleet.ended() < CERTIFICATES, 'the fault hits runs in flight');
  await postgres.stop();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await postgres.start();
  // A worker that died of the restart (it once did: an unhandled 'error' event of a pg client in a
  // transaction) would leave the runs waiting for good; fail with its output instead.
  const results = await Promise.race([renewing, workerExit(stack.workers, 'during the restart')]);
  assert.deepEqual(
    results.map((r) => r.outcome),
    Array(CERTIFICATES).fill('issued'),
    JSON.stringify(results.filter((r) => r.outcome !== 'issued')),
  );
  const [counts] = await stack.db.db.query<{ versions: string; deployed: string; orders: string }>(
    `SELECT (SELECT count(*) FROM certificate_versions) AS versions, (SELECT count(*) FROM acme_orders) AS orders,
            (SELECT count(*) FROM deployment_runs WHERE outcome = 'deployed') AS deployed`,
  );
  assert.deepEqual(
    counts,
    { versions: String(CERTIFICATES * 2), orders: String(CERTIFICATES * 2), deployed: String(CERTIFICATES * 2) },
    'nothing twice, nothing lost',
  );
  // The console's pool reconnected too.
  assert.equal((await (await stack.admin()).get('/certificates')).status, 200);
});
