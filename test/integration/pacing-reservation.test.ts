/**
 * The pacing reservation on a real PostgreSQL: concurrent runs cannot both take the last slot, a
 * retried reservation takes no second slot, an exempt (ARI) renewal is never held back, and a refused
 * run's certificate shows until when it waits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createPacingActivities } from '../../activities/acme/pacing';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { ONE_CERTIFICATE, seedFleet } from '../support/seed';

const BUDGET = 5;
const WINDOW_SECONDS = 3600;
const GRACE_MS = 60_000;

describe('order slot reservation', () => {
  let test: TestDatabase;
  let directoryId: string;
  let certificateIds: string[];
  let pacing: ReturnType<typeof createPacingActivities>;

  before(async () => {
    test = await createTestDatabase();
    const fleet = await seedFleet(test.db, { ...ONE_CERTIFICATE, certificates: 12 }, 'v1.placeholder');
    directoryId = fleet.directoryId;
    certificateIds = (await test.db.query<{ id: string }>('SELECT id::text AS id FROM certificates ORDER BY id')).map(
      (r) => r.id,
    );
    await test.db.query(
      'UPDATE acme_directories SET orders_per_account = $2, account_window_seconds = $3 WHERE id = $1',
      [directoryId, BUDGET, WINDOW_SECONDS],
    );
    pacing = createPacingActivities({
      db: test.db,
      log: pino({ level: 'silent' }),
      acme: { backoffMinMs: 100, backoffMaxMs: 100, backoffAttempts: 1, orderSlotGraceMs: GRACE_MS },
    });
  });
  after(async () => {
    await test?.drop();
  });

  it('12 runs at once with 5 slots left: exactly 5 go, the others wait until the first slot frees', async () => {
    const decisions = await Promise.all(
      certificateIds.map((certificateId) =>
        pacing.reserveOrderSlot({ certificateId, directoryId, runId: `run-${certificateId}`, exempt: false }),
      ),
    );
    const granted = decisions.filter((d) => d.granted);
    assert.equal(granted.length, BUDGET);
    const slots = await test.db.query<{ run_id: string; spent_at: Date }>(
      'SELECT run_id, spent_at FROM acme_order_slots ORDER BY spent_at',
    );
    assert.equal(slots.length, BUDGET);
    const first = slots[0]?.spent_at.getTime() ?? 0;
    for (const d of decisions) {
      if (d.granted) continue;
      assert.equal(Date.parse(d.retryAt), first + WINDOW_SECONDS * 1000 + GRACE_MS);
      assert.match(d.reason, /^waiting for the CA's rate limit: 5 new orders per account per 1 h$/);
    }
    const waiting = await test.db.query<{ until: Date }>(
      'SELECT rate_limit_wait_until AS until FROM certificates WHERE rate_limit_wait_until IS NOT NULL',
    );
    assert.equal(waiting.length, certificateIds.length - BUDGET, 'each refused certificate shows its wait');
  });

  it('a retried reservation of a run that holds a slot takes no second one', async () => {
    const holder = (
      await test.db.query<{ run_id: string; certificate_id: string }>(
        'SELECT run_id, certificate_id::text AS certificate_id FROM acme_order_slots LIMIT 1',
      )
    )[0];
    assert.ok(holder);
    const again = await pacing.reserveOrderSlot({
      certificateId: holder.certificate_id,
      directoryId,
      runId: holder.run_id,
      exempt: false,
    });
    assert.deepEqual(again, { granted: true });
    assert.equal((await test.db.query('SELECT 1 FROM acme_order_slots')).length, BUDGET);
  });

  it('an exempt (ARI) renewal goes although the budget is full, and is recorded without counting', async () => {
    const certificateId = certificateIds.at(-1) as string;
    const exempt = await pacing.reserveOrderSlot({ certificateId, directoryId, runId: 'ari-run', exempt: true });
    assert.deepEqual(exempt, { granted: true });
    const rows = await test.db.query<{ exempt: boolean }>(
      "SELECT exempt FROM acme_order_slots WHERE run_id = 'ari-run'",
    );
    assert.deepEqual(rows, [{ exempt: true }]);
    const next = await pacing.reserveOrderSlot({ certificateId, directoryId, runId: 'counted-run', exempt: false });
    assert.equal(next.granted, false, 'the exempt slot did not free or take a counted one');
  });
});
