/**
 * Issue 18 item 2: a CA that accepts connections and never answers holds only its own work. Its
 * certificates' runs wait ("CA not answering" on the dashboard, one alert) while renewals at a
 * healthy Pebble complete beside them; the worker is killed (SIGKILL) during the hang and another
 * started; once the CA answers again, the waiting runs complete and one recovery notice goes out.
 * Small N on this machine: HEALTHY renewals beside STUCK ones (set HANG_TEST_HEALTHY for more).
 * The hanging CA is a second Pebble (validating against the stack's DNS) behind a TCP proxy that
 * holds every request while hanging and forwards them afterwards (test/support/hang-proxy.ts).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startHangStack, type HangStack } from '../support/hang-stack';

const HEALTHY = Number(process.env['HANG_TEST_HEALTHY'] ?? 8);
const STUCK = 3;

let hang: HangStack;
before(async () => {
  hang = await startHangStack();
});
after(async () => {
  await hang?.stop();
});

const statusOf = async (id: string): Promise<string | undefined> =>
  (await hang.stack.db.db.query<{ status: string }>('SELECT status FROM certificates WHERE id = $1', [id]))[0]?.status;

it('healthy renewals complete while a CA hangs; the stuck ones wait, alert once, survive a worker kill and complete after recovery', async () => {
  const { stack, proxy, admin, silentUrl } = hang;
  proxy.hang();
  stack.smtp.clear();
  const stuck = await hang.request('stuck', STUCK, hang.silentDirectory);
  const started = Date.now();
  const healthy = await hang.request('healthy', HEALTHY, hang.healthyDirectory);
  for (const fragment of await hang.waitAll(healthy, 180_000)) assert.match(fragment, /run-COMPLETED/);
  const healthyMs = Date.now() - started;
  assert.ok(proxy.held >= 1, 'the runs did reach the hanging CA');

  // The hang lasts: the stuck runs wait, and say why.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await stack.db.db.query<{ state: string }>('SELECT state FROM dependency_health WHERE key = $1', [
      `acme-directory:${hang.silentDirectory}`,
    ]);
    if (rows[0] && rows[0].state !== 'closed') break;
    assert.ok(Date.now() < deadline, "the silent CA's breaker opened");
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  for (const id of stuck) assert.equal(await statusOf(id), 'issuing', `certificate ${id} waits`);
  const dashboard = await admin.get('/');
  assert.match(dashboard.text, /id="not-answering"/);
  assert.match(dashboard.text, new RegExp(`CA not answering</span> ${silentUrl.replace(/[/.]/g, '\\$&')}`));
  const alert = await stack.smtp.waitFor((m) => m.subject.includes('NOT ANSWERING'), 30_000);
  assert.equal(alert.subject, `[CertFleet] NOT ANSWERING: CA not answering: ${silentUrl}`);

  // The worker dies during the hang; another takes over.
  for (const worker of stack.workers) worker.child.kill('SIGKILL');
  await Promise.all(stack.workers.map((w) => w.exited));
  await stack.startWorker();

  // The CA answers again: every stuck run completes, and one recovery notice goes out.
  proxy.forward();
  for (const fragment of await hang.waitAll(stuck, 180_000)) assert.match(fragment, /run-COMPLETED/);
  await stack.smtp.waitFor((m) => m.subject.includes('RESOLVED: CA not answering'), 30_000);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const about = stack.smtp.messages.filter((m) => m.subject.includes('CA not answering'));
  assert.deepEqual(
    about.map((m) => m.subject),
    [
      `[CertFleet] NOT ANSWERING: CA not answering: ${silentUrl}`,
      `[CertFleet] RESOLVED: CA not answering: ${silentUrl}`,
    ],
    'one alert and one recovery notice for the outage, not one per certificate',
  );
  assert.equal(
    stack.smtp.messages.filter((m) => /FAILED/.test(m.subject)).length,
    0,
    'no certificate failed, so no per-certificate failure alert',
  );
  console.log(`# ${HEALTHY} healthy renewals beside ${STUCK} stuck ones: ${healthyMs} ms`);
});
