/**
 * The Temporal server restarts (on its persistent database file) in the middle of renewals that
 * deploy to a fake F5: workers and the console reconnect, and every run completes exactly once.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiCall } from '../support/console-actions';
import { useFleetOnStack } from '../support/fleet-on-stack';

const CERTIFICATES = 10;
const fleetOnStack = useFleetOnStack({ certificates: CERTIFICATES, env: { DEPLOY_DEVICE_RETRY_INITIAL_MS: '200' } });

it('every run completes after the Temporal server restarts mid-run', async () => {
  const { stack, fleet } = fleetOnStack();
  const renewing = fleet.renewAll();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.ok(fleet.ended() < CERTIFICATES, 'the fault hits runs in flight');
  const t0 = Date.now();
  await stack.temporal.restart();
  const downMs = Date.now() - t0;
  const results = await renewing;
  assert.deepEqual(
    results.map((r) => r.outcome),
    Array(CERTIFICATES).fill('issued'),
    `every run issued (server down for ${downMs} ms)`,
  );
  const [counts] = await stack.db.db.query<{ versions: string; deployed: string }>(
    "SELECT (SELECT count(*) FROM certificate_versions) AS versions, (SELECT count(*) FROM deployment_runs WHERE outcome = 'deployed') AS deployed",
  );
  assert.equal(counts?.versions, String(CERTIFICATES * 2));
  assert.equal(counts?.deployed, String(CERTIFICATES * 2));
  // The console works again too: its Temporal client reconnected.
  const { status } = await apiCall(
    stack.web.url,
    fleet.token,
    'POST',
    `/api/v1/certificates/${fleet.certificates[0]?.id}/renew`,
  );
  assert.equal(status, 202);
  const [again] = await fleet.results();
  assert.equal(again?.outcome, 'issued');
});
