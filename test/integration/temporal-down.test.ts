/**
 * With the Temporal server down, the console still shows what the database knows, and every command
 * that needs Temporal answers 503 with a message, changing nothing (no certificate without its schedule).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startSeededConsole, type SeededConsole } from '../support/seeded-console';

/** The console on a seeded fleet, its Temporal dev server killed before the first test. */
let seeded: SeededConsole;

before(async () => {
  seeded = await startSeededConsole(
    { customers: 1, certificates: 3, targetsPerCustomer: 1, deploymentRuns: 3, auditEntries: 1 },
    { tokenRole: 'technician' },
  );
  const temporal = seeded.c.temporal.child;
  temporal.kill('SIGKILL');
  await new Promise((resolve) => temporal.once('exit', resolve));
});
after(async () => {
  await seeded?.c.stop().catch(() => undefined);
});

it('pages render from the database; commands answer 503 and change nothing', async () => {
  const [cert] = await seeded.c.db.db.query<{ id: string; common_name: string }>(
    'SELECT id, common_name FROM certificates ORDER BY id LIMIT 1',
  );
  const page = await seeded.admin.get(`/certificates/${cert?.id}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Temporal is unreachable/);
  assert.equal((await seeded.admin.get('/')).status, 200);
  assert.match(
    (await seeded.admin.get('/dashboard/running', { 'HX-Request': 'true' })).text,
    /Temporal is unreachable/,
  );

  const renew = await seeded.admin.post(`/certificates/${cert?.id}/renew`, {});
  assert.equal(renew.status, 503);
  assert.match(renew.text, /Temporal is unreachable right now/);
  const before = (await seeded.c.db.db.query('SELECT id FROM certificates')).length;
  const created = await seeded.c.api(seeded.token, 'POST', '/api/v1/certificates', {
    commonName: 'down.example.test',
    customerId: seeded.fleet.customerIds[0],
    dnsProviderId: seeded.fleet.dnsProviderId,
  });
  assert.equal(created.status, 503, created.text);
  assert.match((created.json as { error: string }).error, /could not be created. Nothing was saved/);
  assert.equal(
    (await seeded.c.db.db.query('SELECT id FROM certificates')).length,
    before,
    'no certificate without its schedule',
  );
  const deleted = await seeded.c.api(
    seeded.token,
    'DELETE',
    `/api/v1/certificates/${cert?.id}?confirm=${encodeURIComponent(cert?.common_name ?? '')}`,
  );
  assert.equal(deleted.status, 503);
  assert.equal(
    (await seeded.c.db.db.query('SELECT deleted_at FROM certificates WHERE id = $1', [cert?.id]))[0]?.[
      'deleted_at' as never
    ],
    null,
  );
  const [target] = await seeded.c.db.db.query<{ id: string }>('SELECT id FROM targets LIMIT 1');
  assert.equal((await seeded.c.api(seeded.token, 'POST', `/api/v1/targets/${target?.id}/test-connection`)).status, 503);
  assert.equal((await seeded.c.api(seeded.token, 'GET', `/api/v1/certificates/${cert?.id}/runs`)).status, 503);
  const audit = await seeded.c.db.db.query(
    "SELECT 1 FROM audit_log WHERE action IN ('certificate.renew-now', 'certificate.create', 'certificate.delete', 'target.test-connection')",
  );
  assert.equal(audit.length, 0, 'nothing is audited that did not happen');
});
