/**
 * Alerts on the real stack with a real SMTP server: one alert per incident (a flapping target and a
 * renewal that keeps failing mail once), one recovery notice when it stays fixed, "renewed but not
 * deployed" as its own incident, a customer's own recipients, the drift watch finding an endpoint
 * changed by hand (fake FortiGate), and the daily digest's content.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { deploymentWorkflowId, TASK_QUEUE, WorkflowType, type DeploymentOutcome } from '../../temporal/contract';
import { startFakeFortiGate, type FakeFortiGate } from '../fakes/fortigate/server';
import type { ConsoleClient } from '../support/console-client';
import { fortigateFormFields } from '../support/appliance-targets';
import { linkDeployment, renewNow, waitForRunToEnd } from '../support/console-actions';
import { setCloudflareToken } from '../support/console-forms';
import { signInWithIssuer, startStackWithClient } from '../support/issuing-stack';
import type { CaughtMail } from '../support/smtp';
import { ALERT_RECIPIENT, CLOUDFLARE_TOKEN, type Stack } from '../support/stack';

const TOKEN = 'fgt-token-alerts-1';
const CUSTOMER_RECIPIENT = 'it@kunde-a.example';
const QUIET_MS = 6_000;

let stack: Stack;
let client: Client;
let admin: ConsoleClient;
let fortigate: FakeFortiGate;
let certificateId: string;
let providerId: string;
let fortigateDeployment: string;
let manualDeployment: string;

const mails = (subject: RegExp): CaughtMail[] => stack.smtp.messages.filter((m) => subject.test(m.subject));
const settle = (ms = 2 * QUIET_MS + 2_500) => new Promise((resolve) => setTimeout(resolve, ms));

/** Redeploy through the console, and wait for that deploy's outcome. */
async function redeploy(): Promise<DeploymentOutcome> {
  await admin.get(`/deployments/${fortigateDeployment}`);
  const started = await admin.post(`/deployments/${fortigateDeployment}/redeploy`, {});
  assert.equal(started.status, 303, started.text.slice(0, 300));
  return (await client.workflow
    .getHandle(deploymentWorkflowId(certificateId, fortigateDeployment))
    .result()) as DeploymentOutcome;
}

/** Binds a certificate on the FortiGate through its REST API, as an administrator would by hand. */
function bindByHand(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: fortigate.host,
        port: fortigate.port,
        path: '/api/v2/cmdb/system/global',
        method: 'PUT',
        rejectUnauthorized: false,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ 'admin-server-cert': name }));
  });
}

const runFleetWorkflow = (type: string, id: string) =>
  client.workflow.execute(type, { taskQueue: TASK_QUEUE, workflowId: `${id}-${Date.now()}`, args: [] });

before(async () => {
  ({ stack, client } = await startStackWithClient({
    env: {
      ALERT_RECOVERY_QUIET_MS: String(QUIET_MS),
      ALERT_SWEEP_INTERVAL_SECONDS: '1',
      ALERT_NOT_DEPLOYED_AFTER_MS: '2000',
      DEPLOY_DEVICE_RETRY_INITIAL_MS: '50',
      DEPLOY_DEVICE_RETRY_ATTEMPTS: '2',
      DEPLOY_RETRY_WINDOW_MS: '1000',
      DIGEST_THRESHOLDS_DAYS: '30,3650',
      DRIFT_WATCH_INTERVAL_SECONDS: '86400',
    },
  }));
  fortigate = await startFakeFortiGate({ token: TOKEN });
  await stack.startWorker();
  const issuer = await signInWithIssuer(stack, 'Alerts CF');
  admin = issuer.admin;
  providerId = issuer.providerId;
  await admin.get('/customers');
  const customer = await admin.post('/customers', { name: 'Kunde A', alertRecipients: CUSTOMER_RECIPIENT });
  const customerId = /\/customers\/(\d+)$/.exec(customer.location ?? '')?.[1] as string;
  await admin.get('/certificates/new');
  const created = await admin.post('/certificates', {
    customerId,
    commonName: 'vpn.example.test',
    dnsProviderId: providerId,
    acmeDirectoryId: issuer.directoryId,
    keyType: 'ecdsa-p256',
    renewalMode: 'fraction',
  });
  certificateId = /\/certificates\/(\d+)$/.exec(created.location ?? '')?.[1] as string;
  await waitForRunToEnd(admin, certificateId);
  await admin.get('/targets/new?vendor=fortigate');
  const target = await admin.post('/targets', { ...fortigateFormFields('FW Kunde A', fortigate, TOKEN), customerId });
  const targetId = /\/targets\/(\d+)$/.exec(target.location ?? '')?.[1] as string;
  await linkDeployment(admin, certificateId, targetId, { adminGui: 'on' }, [fortigate.endpoints.admin]);
  const manualTarget = await admin.post('/targets', { vendor: 'manual', customerId, name: 'Old box by hand' });
  assert.equal(manualTarget.status, 303, manualTarget.text.slice(0, 500));
  await linkDeployment(
    admin,
    certificateId,
    /\/targets\/(\d+)$/.exec(manualTarget.location ?? '')?.[1] as string,
    {},
    [],
  );
  const rows = await stack.db.db.query<{ id: string; name: string }>(
    'SELECT d.id, t.name FROM deployments d JOIN targets t ON t.id = d.target_id WHERE d.certificate_id = $1',
    [certificateId],
  );
  fortigateDeployment = rows.find((r) => r.name === 'FW Kunde A')?.id as string;
  manualDeployment = rows.find((r) => r.name === 'Old box by hand')?.id as string;
  await renewNow(admin, certificateId);
  await waitForRunToEnd(admin, certificateId);
});
after(async () => {
  await fortigate?.close();
  await stack?.stop();
});

describe('incidents', () => {
  it('a flapping target alerts once, to the global and the customer recipients, and recovers once when it stays fixed', async () => {
    fortigate.failNext(/\/api\/v2\//, { status: 500, times: 100_000 });
    assert.equal((await redeploy()).outcome, 'failed');
    const alert = await stack.smtp.waitFor(
      (m) => /DEPLOY FAILED: vpn\.example\.test not deployed to FW Kunde A/.test(m.subject),
      20_000,
    );
    assert.deepEqual([...alert.to].sort(), [ALERT_RECIPIENT, CUSTOMER_RECIPIENT].sort());
    assert.match(alert.text, /FW Kunde A: failed/);
    assert.match(alert.text, new RegExp(`/deployments/${fortigateDeployment}`));
    assert.match(alert.html ?? '', /<h2[^>]*>vpn\.example\.test not deployed to FW Kunde A<\/h2>/);
    assert.equal((await redeploy()).outcome, 'failed');
    // Fixed, then broken again before the quiet period ends: still one incident.
    fortigate.clearFailures();
    assert.equal((await redeploy()).outcome, 'deployed');
    fortigate.failNext(/\/api\/v2\//, { status: 500, times: 100_000 });
    assert.equal((await redeploy()).outcome, 'failed');
    fortigate.clearFailures();
    assert.equal((await redeploy()).outcome, 'deployed');
    await stack.smtp.waitFor((m) => /RESOLVED: vpn\.example\.test not deployed to FW Kunde A/.test(m.subject), 20_000);
    await settle();
    assert.equal(
      mails(/DEPLOY FAILED: vpn\.example\.test not deployed to FW Kunde A/).length,
      1,
      'one alert for the whole flapping spell',
    );
    assert.equal(mails(/RESOLVED: vpn\.example\.test not deployed to FW Kunde A/).length, 1, 'one recovery notice');
    const [incident] = await stack.db.db.query<{ occurrences: number; resolved_at: Date | null }>(
      'SELECT occurrences, resolved_at FROM incidents WHERE key = $1',
      [`deploy:${fortigateDeployment}`],
    );
    assert.equal(incident?.occurrences, 3);
    assert.ok(incident?.resolved_at);
  });

  it('a renewal that keeps failing alerts once; a successful renewal ends it', async () => {
    await setCloudflareToken(admin, stack, { id: providerId, name: 'Alerts CF' }, 'cf-revoked-token');
    for (let i = 0; i < 2; i += 1) {
      await renewNow(admin, certificateId);
      const fragment = await waitForRunToEnd(admin, certificateId);
      assert.match(fragment, /run-FAILED/);
    }
    await stack.smtp.waitFor((m) => /FAILED: certificate vpn\.example\.test: renewal failed/.test(m.subject), 20_000);
    await setCloudflareToken(admin, stack, { id: providerId, name: 'Alerts CF' }, CLOUDFLARE_TOKEN);
    await renewNow(admin, certificateId);
    await waitForRunToEnd(admin, certificateId);
    await stack.smtp.waitFor((m) => /RESOLVED: certificate vpn\.example\.test: renewal failed/.test(m.subject), 20_000);
    assert.equal(
      mails(/^\[CertFleet\] FAILED: certificate vpn\.example\.test/).length,
      1,
      `two failed runs, one alert: ${JSON.stringify(stack.smtp.messages.map((m) => [m.subject, m.headers['date']]))}`,
    );
    const failed = await stack.db.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM lifecycle_runs WHERE certificate_id = $1 AND outcome = 'failed'",
      [certificateId],
    );
    assert.equal(failed[0]?.n, '2', 'both failed runs are recorded');
  });

  it('a renewed version that does not reach a target in time is an incident; installing it ends it', async () => {
    const late = await stack.smtp.waitFor(
      (m) => /NOT DEPLOYED: vpn\.example\.test renewed but not on Old box by hand/.test(m.subject),
      20_000,
    );
    assert.match(late.text, /still does not have it \(deployment (pending|ready)\)/);
    await admin.get(`/deployments/${manualDeployment}`);
    assert.equal((await admin.post(`/deployments/${manualDeployment}/mark-done`, {})).status, 303);
    await stack.smtp.waitFor(
      (m) => /RESOLVED: vpn\.example\.test renewed but not on Old box by hand/.test(m.subject),
      20_000,
    );
    const page = await admin.get('/');
    assert.ok(
      !/<section class="card" id="incidents">[\s\S]*Old box by hand[\s\S]*?<\/section>/.test(
        page.text.split('id="drift"')[0] ?? '',
      ),
      'no longer an open incident on the dashboard',
    );
  });
});

describe('drift watch', () => {
  it('finds an endpoint that serves something else than what was deployed, alerts once, and recovers', async () => {
    const clean = (await runFleetWorkflow(WorkflowType.driftWatch, 'drift-test')) as {
      endpoints: number;
      problems: number;
    };
    assert.ok(clean.endpoints >= 1);
    const [match] = await stack.db.db.query<{ state: string; fingerprint_sha256: string }>(
      'SELECT state, fingerprint_sha256 FROM endpoint_checks WHERE deployment_id = $1',
      [fortigateDeployment],
    );
    assert.equal(match?.state, 'match');

    // An administrator puts the factory certificate back on the admin GUI.
    assert.equal(await bindByHand('Fortinet_Factory'), 200);
    await runFleetWorkflow(WorkflowType.driftWatch, 'drift-test');
    const [drift] = await stack.db.db.query<{ state: string; fingerprint_sha256: string; detail: string }>(
      'SELECT state, fingerprint_sha256, detail FROM endpoint_checks WHERE deployment_id = $1',
      [fortigateDeployment],
    );
    assert.equal(drift?.state, 'drift');
    assert.equal(drift?.fingerprint_sha256, fortigate.managementFingerprint().replace(/:/g, '').toLowerCase());
    const alert = await stack.smtp.waitFor(
      (m) => /DRIFT: .* does not serve vpn\.example\.test/.test(m.subject),
      20_000,
    );
    assert.match(alert.text, /not the deployed/);
    await runFleetWorkflow(WorkflowType.driftWatch, 'drift-test');
    const dashboard = await admin.get('/');
    assert.match(
      dashboard.text,
      /<section class="card" id="drift">[\s\S]*badge bad">drift[\s\S]*vpn\.example\.test → FW Kunde A/,
    );

    // The administrator puts ours back (the pinned management trust rightly refuses a device whose
    // admin certificate was swapped, so a redeploy would fail); the next check ends the incident.
    const [objects] = await stack.db.db.query<{ current_objects: Record<string, string> }>(
      'SELECT current_objects FROM deployments WHERE id = $1',
      [fortigateDeployment],
    );
    const ours = objects?.current_objects['cert'] as string;
    assert.equal(await bindByHand(ours), 200);
    await runFleetWorkflow(WorkflowType.driftWatch, 'drift-test');
    await stack.smtp.waitFor((m) => /RESOLVED: .* does not serve vpn\.example\.test/.test(m.subject), 20_000);
    assert.equal(
      mails(/DRIFT: .* does not serve vpn\.example\.test/).length,
      1,
      'three checks while drifted would be one alert',
    );
  });
});

describe('daily digest', () => {
  it('lists what expires by threshold, open incidents and served certificates, globally and per customer', async () => {
    stack.smtp.clear();
    const result = (await runFleetWorkflow(WorkflowType.dailyDigest, 'digest-test')) as { sent: number };
    assert.equal(result.sent, 2, "the global digest and Kunde A's own");
    const global = await stack.smtp.waitFor((m) => m.subject.startsWith('[CertFleet] Daily digest:'), 10_000);
    assert.deepEqual(global.to, [ALERT_RECIPIENT]);
    assert.match(global.text, /Expired or expiring within 30 days \(0\):\n {2}none/);
    assert.match(
      global.text,
      /Expiring in 30 to 3650 days \(1\):\n {2}- vpn\.example\.test \[Kunde A\]: expires \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+ d\)/,
    );
    const open = await stack.db.db.query('SELECT 1 FROM incidents WHERE resolved_at IS NULL');
    assert.match(global.text, open.length ? new RegExp(`Open incidents \\(${open.length}\\):`) : /No open incidents\./);
    assert.match(global.html ?? '', /<h3>Expiring in 30 to 3650 days \(1\)<\/h3>/);
    const own = await stack.smtp.waitFor((m) => m.subject.startsWith('[CertFleet] Daily digest for Kunde A:'), 10_000);
    assert.deepEqual(own.to, [CUSTOMER_RECIPIENT], 'the customer digest goes to the customer only');
    assert.match(own.text, /vpn\.example\.test/);
  });
});

describe('compliance report', () => {
  it('lists each certificate with customer, expiry, issuer, key type, targets, last deploy and last verification, as HTML and CSV', async () => {
    const page = await admin.get('/reports/compliance');
    assert.equal(page.status, 200);
    const row =
      /<tr>\s*<td><a href="\/certificates\/\d+">vpn\.example\.test<\/a>[\s\S]*?<\/tr>/.exec(page.text)?.[0] ?? '';
    assert.match(row, /<td>Kunde A<\/td>/);
    assert.match(row, /<td>Pebble Intermediate CA [0-9a-f]+<\/td>/);
    assert.match(row, /<td>ecdsa-p256<\/td>/);
    assert.match(row, /FW Kunde A, Old box by hand/);
    assert.match(row, /deploy-deployed/);
    assert.match(row, /drift watch: 1 match/);
    const csv = await admin.getBytes('/reports/compliance.csv');
    const lines = csv.body.toString('utf8').trim().split('\r\n');
    assert.equal(
      lines[0],
      'certificate,customer,status,expires,issuer,key_type,targets,last_deploy_outcome,last_deploy_target,last_deploy_at,last_verified_at,last_verification',
    );
    const line = lines.find((l) => l.startsWith('vpn.example.test,'));
    // The last deploy is the newest run; a renewal deploys to both targets at once, so which of the
    // two started last differs from run to run.
    const [latest] = await stack.db.db.query<{ name: string }>(
      `SELECT t.name FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id JOIN targets t ON t.id = d.target_id
        JOIN certificates c ON c.id = d.certificate_id WHERE c.common_name = 'vpn.example.test' ORDER BY r.id DESC LIMIT 1`,
    );
    assert.ok(latest?.name === 'FW Kunde A' || latest?.name === 'Old box by hand', latest?.name);
    assert.match(
      line ?? '',
      new RegExp(
        `^vpn\\.example\\.test,Kunde A,valid,\\d{4}-\\d\\d-\\d\\dT[^,]+,Pebble Intermediate CA [0-9a-f]+,ecdsa-p256,"FW Kunde A, Old box by hand",deployed,${latest.name},[^,]+,[^,]+,drift watch: 1 match$`,
      ),
    );
  });
});
