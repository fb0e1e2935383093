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
import type { ConsoleClient } from '../support/console-client';
import {
  addCloudflareProvider,
  addPebbleDirectory,
  requestCertificate,
  waitForRunToEnd,
} from '../support/console-actions';
import { startHangProxy, type HangProxy } from '../support/hang-proxy';
import { startPebble, type PebbleStack } from '../support/pebble';
import { startStack, type Stack } from '../support/stack';

const HEALTHY = Number(process.env['HANG_TEST_HEALTHY'] ?? 8);
const STUCK = 3;

let stack: Stack;
let silentPebble: PebbleStack;
let proxy: HangProxy;
let admin: ConsoleClient;
let healthyDirectory: string;
let silentDirectory: string;
let providerId: string;
let silentUrl: string;

before(async () => {
  stack = await startStack({
    env: {
      ACME_REQUEST_TIMEOUT_MS: '1000',
      ACME_BACKOFF_ATTEMPTS: '1',
      BREAKER_FAILURE_THRESHOLD: '2',
      BREAKER_OPEN_MS: '2000',
      ALERT_RECOVERY_QUIET_MS: '0',
      ALERT_SWEEP_INTERVAL_SECONDS: '1',
    },
  });
  silentPebble = await startPebble({ authzReusePercent: 0, dnsServer: stack.pebble.dnsServer });
  const upstream = new URL(silentPebble.directoryUrl);
  proxy = await startHangProxy({ host: upstream.hostname, port: Number(upstream.port) }, 'forward');
  silentUrl = `https://127.0.0.1:${proxy.port}/dir`;
  await stack.startWorker();
  admin = await stack.admin();
  healthyDirectory = await addPebbleDirectory(admin, stack);
  providerId = await addCloudflareProvider(admin, stack, 'Hang Cloudflare');
  await admin.get('/settings');
  const saved = await admin.post('/settings/acme-directories', {
    name: 'Silent CA',
    url: silentUrl,
    caBundlePem: silentPebble.caBundlePem,
  });
  assert.equal(saved.status, 303, saved.text);
  silentDirectory =
    (await stack.db.db.query<{ id: string }>("SELECT id::text AS id FROM acme_directories WHERE name = 'Silent CA'"))[0]
      ?.id ?? '';
  assert.ok(silentDirectory);
});
after(async () => {
  await Promise.all([proxy?.close(), silentPebble?.stop()]);
  await stack?.stop();
});

const statusOf = async (id: string): Promise<string | undefined> =>
  (await stack.db.db.query<{ status: string }>('SELECT status FROM certificates WHERE id = $1', [id]))[0]?.status;

it('healthy renewals complete while a CA hangs; the stuck ones wait, alert once, survive a worker kill and complete after recovery', async () => {
  proxy.hang();
  stack.smtp.clear();
  const stuck: string[] = [];
  for (let i = 0; i < STUCK; i++)
    stuck.push(
      await requestCertificate(admin, {
        commonName: `stuck-${i}.example.test`,
        dnsProviderId: providerId,
        acmeDirectoryId: silentDirectory,
      }),
    );
  const started = Date.now();
  const healthy: string[] = [];
  for (let i = 0; i < HEALTHY; i++)
    healthy.push(
      await requestCertificate(admin, {
        commonName: `healthy-${i}.example.test`,
        dnsProviderId: providerId,
        acmeDirectoryId: healthyDirectory,
      }),
    );
  for (const id of healthy) assert.match(await waitForRunToEnd(admin, id, 180_000), /run-COMPLETED/);
  const healthyMs = Date.now() - started;
  assert.ok(proxy.held >= 1, 'the runs did reach the hanging CA');

  // The hang lasts: the stuck runs wait, and say why.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await stack.db.db.query<{ state: string }>('SELECT state FROM dependency_health WHERE key = $1', [
      `acme-directory:${silentDirectory}`,
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
  for (const id of stuck) assert.match(await waitForRunToEnd(admin, id, 180_000), /run-COMPLETED/);
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
