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
import { Client, Connection } from '@temporalio/client';
import { certificateWorkflowId, deploymentWorkflowId, type DeploymentOutcome } from '../../temporal/contract';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { bigipConnection } from '../support/bigip-target';
import { addCloudflareProvider, addPebbleDirectory, apiCall, createApiToken } from '../support/console-actions';
import { HANG_ENV } from '../support/hang-stack';
import { startHangProxy, type HangProxy } from '../support/hang-proxy';
import { eventually, startStack, type Stack } from '../support/stack';

const HEALTHY = Number(process.env['DEVICE_HANG_TEST_HEALTHY'] ?? 6);
const STUCK = 3;
const profileOf = (prefix: string, i: number): string => `clientssl-${prefix}-${i}`;

let stack: Stack;
let healthyLb: FakeBigip;
let hungLb: FakeBigip;
let proxy: HangProxy;
let connection: Connection;
before(async () => {
  stack = await startStack({
    env: { ...HANG_ENV, DEPLOY_DEVICE_RETRY_INITIAL_MS: '100', DEPLOY_DEVICE_RETRY_ATTEMPTS: '2' },
  });
  await stack.startWorker();
  healthyLb = await startFakeBigip({ profiles: Array.from({ length: HEALTHY }, (_, i) => profileOf('healthy', i)) });
  hungLb = await startFakeBigip({ profiles: Array.from({ length: STUCK }, (_, i) => profileOf('stuck', i)) });
  proxy = await startHangProxy({ host: hungLb.host, port: hungLb.port }, 'forward');
  connection = await Connection.connect({ address: stack.temporal.address });
});
after(async () => {
  await connection?.close();
  await Promise.all([proxy?.close(), healthyLb?.close(), hungLb?.close()]);
  await stack?.stop();
});

/** Successful key/cert installs on a fake BIG-IP, by object name. */
function installs(lb: FakeBigip): string[] {
  return lb.calls
    .filter((c) => c.method === 'POST' && c.status < 400 && /\/mgmt\/tm\/sys\/crypto\/(key|cert|pkcs12)$/.test(c.path))
    .filter((c) => (c.body as { command?: string } | undefined)?.command === 'install')
    .map((c) => `${c.path.split('/').pop()}:${String((c.body as { name?: string }).name)}`);
}

it('healthy deploys complete while a device hangs; the stuck ones wait, alert once, survive a worker kill and complete after recovery', async () => {
  const client = new Client({ connection });
  const admin = await stack.admin();
  const directoryId = await addPebbleDirectory(admin, stack);
  const providerId = await addCloudflareProvider(admin, stack, 'Device hang CF');
  const token = await createApiToken(admin, 'device-hang');
  const api = <T>(method: string, path: string, body?: unknown) => apiCall<T>(stack.web.url, token, method, path, body);
  const addTarget = async (name: string, lb: FakeBigip, port: number): Promise<string> => {
    const { json } = await api<{ id: string }>('POST', '/api/v1/targets', {
      vendor: 'f5-bigip',
      name,
      ...bigipConnection(lb),
      port,
    });
    return String(json.id);
  };
  const healthyTarget = await addTarget('Healthy LB', healthyLb, healthyLb.port);
  const hungTarget = await addTarget('Hung LB', hungLb, proxy.port);

  // Certificates issued first, each to be deployed to its own profile.
  const issue = async (prefix: string, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const { json } = await api<{ id: string }>('POST', '/api/v1/certificates', {
        commonName: `${prefix}-${i}.example.test`,
        dnsProviderId: providerId,
        acmeDirectoryId: directoryId,
      });
      ids.push(String(json.id));
    }
    for (const id of ids) await client.workflow.getHandle(certificateWorkflowId(id)).result();
    return ids;
  };
  const stuckCerts = await issue('stuck', STUCK);
  const healthyCerts = await issue('healthy', HEALTHY);

  const link = async (certificateId: string, targetId: string, lb: FakeBigip, profile: string) => {
    const endpoint = lb.endpointFor(profile);
    const { json } = await api<{ id: string }>('POST', `/api/v1/certificates/${certificateId}/deployments`, {
      targetId,
      binding: { profiles: [profile] },
      verifyEndpoints: [`${endpoint.host}:${endpoint.port}`],
      deployNow: true,
    });
    return { certificateId, deploymentId: String(json.id) };
  };
  const outcome = (d: { certificateId: string; deploymentId: string }) =>
    client.workflow
      .getHandle(deploymentWorkflowId(d.certificateId, d.deploymentId))
      .result() as Promise<DeploymentOutcome>;

  proxy.hang();
  stack.smtp.clear();
  const stuck = [];
  for (const [i, id] of stuckCerts.entries()) stuck.push(await link(id, hungTarget, hungLb, profileOf('stuck', i)));
  const started = Date.now();
  const healthy = [];
  for (const [i, id] of healthyCerts.entries())
    healthy.push(await link(id, healthyTarget, healthyLb, profileOf('healthy', i)));
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
  for (const lb of [hungLb, healthyLb]) {
    const names = installs(lb);
    assert.equal(new Set(names).size, names.length, `nothing installed twice: ${names.join(', ')}`);
  }
  console.log(
    `# ${HEALTHY} healthy deploys beside ${STUCK} stuck ones: ${healthyMs} ms; installs ${installs(hungLb).length} on the hung LB`,
  );
});
