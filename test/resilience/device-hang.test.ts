/**
 * Issue 18 item 2, device half: a device that accepts connections and never answers holds only its
 * own deploys. A fake BIG-IP sits behind the hang proxy (test/support/hang-proxy.ts) with STUCK
 * certificates linked to it; HEALTHY certificates deploy to another fake BIG-IP beside it and all
 * complete while the hang lasts. The stuck deploys wait on timers (workflows/dependency-wait.ts):
 * the dashboard names the device as not answering, one alert goes out for the outage (not one per
 * certificate); the worker is killed during the hang and another started; once the proxy forwards
 * again, the stuck deploys complete (deployed and verified) with one recovery notice, and every
 * version was installed once on each device.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { FakeBigip } from '../fakes/f5-bigip/server';
import { startDeviceHangStack, type DeviceHangStack, type LinkedDeployment } from '../support/device-hang-stack';
import { eventually } from '../support/stack';

const HEALTHY = Number(process.env['DEVICE_HANG_TEST_HEALTHY'] ?? 6);
const STUCK = 3;

let hang: DeviceHangStack;
before(async () => {
  hang = await startDeviceHangStack({ healthy: HEALTHY, hung: STUCK });
});
after(async () => {
  await hang?.stop();
});

/** Successful key/cert installs on a fake BIG-IP, by object name. */
function installs(lb: FakeBigip): string[] {
  return lb.calls
    .filter((c) => c.method === 'POST' && c.status < 400 && /\/mgmt\/tm\/sys\/crypto\/(key|cert|pkcs12)$/.test(c.path))
    .filter((c) => (c.body as { command?: string } | undefined)?.command === 'install')
    .map((c) => `${c.path.split('/').pop()}:${String((c.body as { name?: string }).name)}`);
}

it('healthy deploys complete while a device hangs; the stuck ones wait, alert once, survive a worker kill and complete after recovery', async () => {
  const { stack, proxy, admin } = hang;
  const outcome = (d: LinkedDeployment) => hang.outcome(d);
  const hungTarget = hang.devices.hung.targetId;
  const hungLb = hang.devices.hung.lb;
  const stuckCerts = await hang.issue('stuck', STUCK);
  const healthyCerts = await hang.issue('healthy', HEALTHY);

  proxy.hang();
  stack.smtp.clear();
  const stuck = await hang.deploy(stuckCerts, 'hung');
  const started = Date.now();
  const healthy = await hang.deploy(healthyCerts, 'healthy');
  const healthyOutcomes = await Promise.all(healthy.map(outcome));
  const healthyMs = Date.now() - started;
  assert.deepEqual(
    healthyOutcomes.map((o) => o.outcome),
    Array(HEALTHY).fill('deployed'),
    JSON.stringify(healthyOutcomes),
  );
  assert.ok(proxy.held >= 1, 'the deploys did reach the hanging device');

  // The hang lasts: the breaker opens, the stuck deploys wait and say why.
  const key = `device:${hungTarget}`;
  await eventually(
    "the hung device's breaker opened",
    async () => {
      const rows = await stack.db.db.query<{ state: string }>('SELECT state FROM dependency_health WHERE key = $1', [
        key,
      ]);
      return rows[0] && rows[0].state !== 'closed' ? true : undefined;
    },
    90_000,
  );
  const running = await stack.db.db.query<{ n: string }>(
    "SELECT count(*) AS n FROM deployments WHERE target_id = $1 AND status <> 'deployed'",
    [hungTarget],
  );
  assert.equal(running[0]?.n, String(STUCK), 'no stuck deploy finished');
  // Each stuck run's progress (its steps on the deployment page) shows the wait and why.
  for (const d of stuck)
    await eventually(
      `deployment ${d.deploymentId} shows the wait`,
      async () => {
        const page = await admin.get(`/deployments/${d.deploymentId}`);
        return /started<\/span> waiting for device[\s\S]*?Device not answering: Hung LB \(127\.0\.0\.1\)/i.test(
          page.text,
        )
          ? true
          : undefined;
      },
      60_000,
    );
  const dashboard = await admin.get('/');
  assert.match(dashboard.text, /id="not-answering"/);
  assert.match(dashboard.text, /device not answering<\/span> Hung LB \(127\.0\.0\.1\)/i);
  const alert = await stack.smtp.waitFor((m) => m.subject.includes('NOT ANSWERING'), 30_000);
  assert.match(alert.subject, /NOT ANSWERING: Device not answering: Hung LB \(127\.0\.0\.1\)/i);

  // The worker dies during the hang; another takes over.
  for (const worker of stack.workers) worker.child.kill('SIGKILL');
  await Promise.all(stack.workers.map((w) => w.exited));
  await stack.startWorker();

  // The device answers again: every stuck deploy completes, and one recovery notice goes out.
  proxy.forward();
  const stuckOutcomes = await Promise.all(stuck.map(outcome));
  assert.deepEqual(
    stuckOutcomes.map((o) => o.outcome),
    Array(STUCK).fill('deployed'),
    JSON.stringify(stuckOutcomes),
  );
  await stack.smtp.waitFor((m) => /RESOLVED: Device not answering/i.test(m.subject), 30_000);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const about = stack.smtp.messages.filter((m) => /Device not answering/i.test(m.subject)).map((m) => m.subject);
  assert.equal(about.length, 2, `one alert and one recovery notice for the outage: ${about.join(' | ')}`);
  assert.match(about[0] ?? '', /NOT ANSWERING/);
  assert.match(about[1] ?? '', /RESOLVED/);

  // Deployed and verified (the TLS handshake on each profile saw the new certificate), the wait
  // ended in each run's steps; each version installed once.
  const steps = await stack.db.db.query<{ step: string; status: string }>(
    `SELECT s.step, s.status FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id
     JOIN deployments d ON d.id = r.deployment_id WHERE d.target_id = $1 AND d.status = 'deployed'`,
    [hungTarget],
  );
  const count = (step: string, status: string) => steps.filter((s) => s.step === step && s.status === status).length;
  assert.equal(count('verify', 'succeeded'), STUCK, JSON.stringify(steps));
  assert.equal(count('waiting for device', 'started'), STUCK, 'the wait recorded once per run, not per round');
  assert.equal(count('waiting for device', 'succeeded'), STUCK);
  for (const lb of [hungLb, hang.devices.healthy.lb]) {
    const names = installs(lb);
    assert.equal(new Set(names).size, names.length, `nothing installed twice: ${names.join(', ')}`);
  }
  console.log(
    `# ${HEALTHY} healthy deploys beside ${STUCK} stuck ones: ${healthyMs} ms; installs ${installs(hungLb).length} on the hung LB`,
  );
});
