/**
 * The production topology (test/support/production-stack.ts: the real Temporal server 1.29.1 on
 * PostgreSQL, schema and namespace set up as docker-compose.yml's one-shots do, migrations, two
 * worker processes and the web as a process), with the scenarios of the dev-server suites in
 * sequence on one stack: end to end, CertFleet's search attributes on the fresh namespace, and runs
 * that complete through a Temporal server restart, a killed worker and a PostgreSQL restart.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Connection } from '@temporalio/client';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { SEARCH_ATTRIBUTE_TYPES } from '../../temporal/contract';
import { INDEXED_VALUE_TYPE } from '../../temporal/search-attributes';
import { useFleetOnStack } from '../support/fleet-on-stack';
import { startProductionStack, type ProductionStack } from '../support/production-stack';
import { ALERT_RECIPIENT, eventually } from '../support/stack';

const CERTIFICATES = 4;
const fleetOnStack = useFleetOnStack({
  certificates: CERTIFICATES,
  env: { DEPLOY_DEVICE_RETRY_INITIAL_MS: '200' },
  workers: 2,
  startStack: startProductionStack,
});
let renewals = 0;

/** "Renew now" for the whole fleet; `fault` runs once the runs are in flight; every run must end issued. */
async function renewThrough(what: string, fault: (stack: ProductionStack) => Promise<void>): Promise<void> {
  const { stack, fleet } = fleetOnStack();
  const renewing = fleet.renewAll();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.ok(fleet.ended() < CERTIFICATES, `${what}: the fault hits runs in flight`);
  await fault(stack);
  const died = stack.workers.map((w) =>
    w.exited.then(({ code, signal }) => {
      if (signal === 'SIGKILL') return new Promise<never>(() => undefined); // the one this test killed
      throw new Error(`${w.name} exited (code ${code}, signal ${signal}) ${what}:\n${w.output()}`);
    }),
  );
  const results = await Promise.race([renewing, ...died]);
  renewals += 1;
  assert.deepEqual(
    results.map((r) => r.outcome),
    Array(CERTIFICATES).fill('issued'),
    `${what}: ${JSON.stringify(results.filter((r) => r.outcome !== 'issued'))}`,
  );
}

/** Every certificate: one version and one ACME order per run, each version deployed exactly once. */
async function assertNothingTwice(): Promise<void> {
  const { stack } = fleetOnStack();
  const [counts] = await stack.db.db.query<{ versions: string; orders: string; deployed: string; twice: string }>(
    `SELECT (SELECT count(*) FROM certificate_versions) AS versions, (SELECT count(*) FROM acme_orders) AS orders,
            (SELECT count(*) FROM deployment_runs WHERE outcome = 'deployed') AS deployed,
            (SELECT count(*) FROM (SELECT 1 FROM deployment_runs WHERE outcome = 'deployed'
                                   GROUP BY deployment_id, version_id HAVING count(*) > 1) d) AS twice`,
  );
  const expected = String(CERTIFICATES * (1 + renewals));
  assert.deepEqual(counts, { versions: expected, orders: expected, deployed: expected, twice: '0' });
}

it('starts as compose does: schema by temporal-sql-tool, a fresh namespace, migrations, two workers, the web', () => {
  const { stack } = fleetOnStack();
  assert.equal(stack.namespace, 'created', 'the namespace step created it (the server makes none)');
  assert.equal(stack.schemaCommands.length, 6, 'create, setup-schema, update-schema for both databases');
  assert.equal(stack.workers.length, 2);
  assert.ok(stack.webChild, 'the web runs as its own process');
  process.stderr.write(
    `production stack: phases ${JSON.stringify(stack.timings)} ms; Temporal server ready in ${stack.temporal.startTimesMs.join(', ')} ms\n`,
  );
});

it('issues, deploys, verifies and emails end to end', async () => {
  const { stack, fleet } = fleetOnStack();
  await renewThrough('end to end', async () => undefined);
  await assertNothingTwice();
  const first = fleet.certificates[0];
  assert.ok(first);
  const [current] = await stack.db.db.query<{ fingerprint_sha256: string }>(
    'SELECT v.fingerprint_sha256 FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = $1',
    [first.id],
  );
  await verifyServedFingerprint(
    'f5-bigip',
    [fleet.bigip.endpointFor(first.profile)],
    current?.fingerprint_sha256 ?? '',
  );
  const mail = await eventually('the "Issued" email of the renewal', async () => {
    const found = stack.smtp.messages.filter((m) => m.subject === `[CertFleet] Issued ${first.name}`);
    return found.length >= 2 ? found.at(-1) : undefined;
  });
  assert.ok(mail.to.includes(ALERT_RECIPIENT), `sent to ${ALERT_RECIPIENT}: ${mail.to.join(', ')}`);
  assert.match(mail.text, /Fleet LB/, 'it names the target the renewal was deployed to');
});

it("uses CertFleet's search attributes, registered by the worker on the fresh namespace, in the run history", async () => {
  const { stack, fleet } = fleetOnStack();
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const [name, kind] of Object.entries(SEARCH_ATTRIBUTE_TYPES))
      assert.equal(customAttributes?.[name], INDEXED_VALUE_TYPE[kind], `${name} is a ${kind}`);
  } finally {
    await connection.close();
  }
  const first = fleet.certificates[0];
  assert.ok(first);
  const admin = await stack.admin();
  await eventually('the run history to list the issuance and the renewal', async () => {
    const page = await admin.get(`/certificates/${first.id}`);
    const history = /<table id="run-history">([\s\S]*?)<\/table>/.exec(page.text)?.[1] ?? '';
    return (history.match(/run-COMPLETED/g) ?? []).length >= 2 && history.includes('>issued<') ? true : undefined;
  });
});

it('completes every run through a restart of the Temporal server', async () => {
  await renewThrough('through a Temporal restart', (stack) => stack.temporal.restart());
  await assertNothingTwice();
});

it('completes every run on the other worker when one is killed', async () => {
  await renewThrough('with a worker killed', async (stack) => {
    const victim = stack.workers[0];
    assert.ok(victim);
    victim.child.kill('SIGKILL');
    await victim.exited;
  });
  await assertNothingTwice();
});

it('completes every run through a restart of PostgreSQL', async () => {
  await renewThrough('through a PostgreSQL restart', async (stack) => {
    await stack.postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await stack.postgres.start();
  });
  await assertNothingTwice();
  assert.equal((await (await fleetOnStack().stack.admin()).get('/certificates')).status, 200, 'the console is back');
});
