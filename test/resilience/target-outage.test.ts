/**
 * A target goes down for a while during renewals: its deploys fail after their retries, one alert
 * goes out (not one per attempt), the renewal keeps retrying it by itself, and once the target is
 * back every run converges to issued and deployed, with one recovery notice.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { useFleetOnStack } from '../support/fleet-on-stack';
import { eventually } from '../support/stack';

const CERTIFICATES = 3;
const fleetOnStack = useFleetOnStack({
  certificates: CERTIFICATES,
  env: {
    DEPLOY_DEVICE_RETRY_INITIAL_MS: '100',
    DEPLOY_DEVICE_RETRY_ATTEMPTS: '2',
    DEPLOY_AUTO_RETRY_MS: '1500',
    DEPLOY_RETRY_WINDOW_MS: '120000',
    ALERT_RECOVERY_QUIET_MS: '2000',
    ALERT_SWEEP_INTERVAL_SECONDS: '1',
    // This file tests the deploy's own retry path (fail after the retries, alert per target, automatic
    // retry); with the device's circuit breaker open the runs would wait instead, which
    // test/resilience/device-hang.test.ts covers.
    BREAKER_FAILURE_THRESHOLD: '1000',
  },
});

it('retries, alerts once per target, and converges after the target recovers', async () => {
  const { stack, fleet } = fleetOnStack();
  fleet.bigip.failNext(/\/mgmt\//, { status: 503, times: 1_000_000 });
  const renewing = fleet.renewAll();
  // Every deploy fails at least twice (the first round and one automatic retry) while it is down.
  await eventually(
    'failed deploy runs',
    async () => {
      const [row] = await stack.db.db.query<{ n: string }>(
        "SELECT count(*) AS n FROM deployment_runs WHERE outcome = 'failed'",
      );
      return Number(row?.n) >= CERTIFICATES * 2 ? true : undefined;
    },
    60_000,
  );
  fleet.bigip.clearFailures();
  const results = await renewing;
  assert.deepEqual(
    results.map((r) => r.outcome),
    Array(CERTIFICATES).fill('issued'),
    JSON.stringify(results),
  );
  const alerts = await eventually(
    'one alert per target',
    async () => {
      const found = stack.smtp.messages.filter((m) => m.subject.includes('DEPLOY FAILED'));
      return found.length >= CERTIFICATES ? found : undefined;
    },
    30_000,
  );
  await eventually(
    'recovery notices',
    async () =>
      stack.smtp.messages.filter((m) => m.subject.includes('RESOLVED')).length >= CERTIFICATES ? true : undefined,
    30_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.equal(
    stack.smtp.messages.filter((m) => m.subject.includes('DEPLOY FAILED')).length,
    CERTIFICATES,
    `one alert per failing target, not per attempt: ${alerts.map((m) => m.subject).join(' | ')}`,
  );
  assert.equal(stack.smtp.messages.filter((m) => m.subject.includes('RESOLVED')).length, CERTIFICATES);
  const retries = await stack.db.db.query<{ n: string }>(
    "SELECT count(*) AS n FROM deployment_runs WHERE trigger = 'retry'",
  );
  assert.ok(Number(retries[0]?.n) >= CERTIFICATES, 'retried by itself, nobody clicked Retry');
  const current = await stack.db.db.query<{ n: string }>(
    "SELECT count(*) AS n FROM deployments d JOIN certificates c ON c.id = d.certificate_id WHERE d.current_version_id = c.current_version_id AND d.status = 'deployed'",
  );
  assert.equal(current[0]?.n, String(CERTIFICATES), 'every target serves the current version');
});
