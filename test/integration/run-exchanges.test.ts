/**
 * A deploy run's wire transcript on a real PostgreSQL (activities/db/repositories/deployment-transcripts.ts):
 * appending a step's exchanges keeps the run's last MAX_RUN_EXCHANGES, in one statement; a device step's
 * end is written with its exchanges in one statement, under the same limit.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { listRunSteps } from '../../activities/db/repositories/deployment-runs';
import {
  appendRunExchanges,
  endRunStepWithExchanges,
  listRunExchanges,
  MAX_RUN_EXCHANGES,
} from '../../activities/db/repositories/deployment-transcripts';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { seedFleet } from '../support/seed';

let test: TestDatabase;
let runId: string;

before(async () => {
  test = await createTestDatabase();
  await seedFleet(
    test.db,
    { customers: 1, certificates: 1, targetsPerCustomer: 1, deploymentRuns: 1, auditEntries: 0 },
    'v1.placeholder',
  );
  const [row] = await test.db.query<{ id: string }>('SELECT min(id)::text AS id FROM deployment_runs');
  runId = row?.id ?? '';
  assert.ok(runId, 'a seeded deployment run');
});
after(async () => {
  await test?.drop();
});

const exchanges = (step: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ at: new Date(), text: `${step} #${i + 1}` }));

it('keeps the run’s last exchanges, the oldest dropped, also when one step brings more than the limit', async () => {
  const half = MAX_RUN_EXCHANGES / 2;
  await appendRunExchanges(test.db, runId, 'stage', exchanges('stage', half + 100));
  assert.equal((await listRunExchanges(test.db, runId)).length, half + 100);
  await appendRunExchanges(test.db, runId, 'activate', exchanges('activate', half));
  const kept = await listRunExchanges(test.db, runId);
  assert.equal(kept.length, MAX_RUN_EXCHANGES);
  assert.equal(kept[0]?.exchange, 'stage #101', 'the 100 oldest are gone');
  assert.equal(kept.at(-1)?.exchange, `activate #${half}`);

  await appendRunExchanges(test.db, runId, 'verify', exchanges('verify', MAX_RUN_EXCHANGES + 5));
  const last = await listRunExchanges(test.db, runId);
  assert.equal(last.length, MAX_RUN_EXCHANGES);
  assert.equal(last[0]?.exchange, 'verify #6');
  assert.equal(last.at(-1)?.exchange, `verify #${MAX_RUN_EXCHANGES + 5}`);
});

it("a device step's end and its exchanges in one statement, the run's oldest exchanges dropped beyond the limit", async () => {
  const stepsBefore = (await listRunSteps(test.db, runId)).length;
  await endRunStepWithExchanges(
    test.db,
    runId,
    'activate',
    { status: 'failed', detail: 'the device refused the binding' },
    exchanges('ended', 3),
  );
  const steps = await listRunSteps(test.db, runId);
  assert.equal(steps.length, stepsBefore + 1);
  assert.deepEqual(
    { step: steps.at(-1)?.step, status: steps.at(-1)?.status, detail: steps.at(-1)?.detail },
    { step: 'activate', status: 'failed', detail: 'the device refused the binding' },
  );
  const kept = await listRunExchanges(test.db, runId);
  assert.equal(kept.length, MAX_RUN_EXCHANGES, 'still the limit');
  assert.deepEqual(
    kept.slice(-3).map((e) => [e.step, e.exchange]),
    [
      ['activate', 'ended #1'],
      ['activate', 'ended #2'],
      ['activate', 'ended #3'],
    ],
  );
});
