/**
 * Maintenance windows on the real stack: a deploy to a fake FortiGate outside its target's window
 * waits durably without touching the device and goes ahead when the window opens; "Deploy now" ends
 * the wait at once and is audited.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Client } from '@temporalio/client';
import {
  certificateWorkflowId,
  deploymentWorkflowId,
  TASK_QUEUE,
  WorkflowType,
  type DeploymentOutcome,
  type LifecycleResult,
} from '../../temporal/contract';
import { startFakeFortiGate, type FakeFortiGate } from '../fakes/fortigate/server';
import type { ConsoleClient } from '../support/console-client';
import { fortigateFormFields } from '../support/appliance-targets';
import { linkDeployment } from '../support/console-actions';
import { signInWithIssuer, startStackWithClient } from '../support/issuing-stack';
import { eventually, type Stack } from '../support/stack';

const TOKEN = 'fgt-token-maintenance';
let stack: Stack;
let client: Client;
let admin: ConsoleClient;
let fortigate: FakeFortiGate;
let certificateId: string;
let targetId: string;
let deploymentId: string;

const clock = (d: Date): string => d.toISOString().slice(11, 19);
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** How the pages name a window opening at `d` in UTC: "Sat 12 Dec 02:00 (UTC)". */
const inUtc = (d: Date): string =>
  `${DAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.toISOString().slice(11, 16)} (UTC)`;
/** A daily window (UTC) opening at `opens` (or `inMs` from now), one hour long. */
const windowAt = (opens: Date): string => `daily ${clock(opens)}-${clock(new Date(opens.getTime() + 3_600_000))}`;
const windowFrom = (inMs: number): string => windowAt(new Date(Date.now() + inMs));

/** The window opens `inMs` from now; returns what the pages say about a deploy waiting for it. */
async function setWindowIn(inMs: number): Promise<string> {
  const opens = new Date(Date.now() + inMs);
  await setWindow(windowAt(opens));
  return `waiting until ${inUtc(opens)}`;
}

async function setWindow(lines: string): Promise<void> {
  await admin.get(`/targets/${targetId}/edit`);
  // The pin as stored (the edit form shows it): a deploy that bound the admin GUI re-pinned the new certificate.
  const [pinned] = await stack.db.db.query<{ trust_fingerprint: string }>(
    'SELECT trust_fingerprint FROM targets WHERE id = $1',
    [targetId],
  );
  const saved = await admin.post(`/targets/${targetId}`, {
    ...fortigateFormFields('FW with windows', fortigate, ''),
    trustFingerprint: pinned?.trust_fingerprint ?? '',
    maintenanceTimeZone: 'UTC',
    maintenanceWindows: lines,
  });
  assert.equal(saved.status, 303, saved.text.slice(0, 500));
}

async function redeployAndWaitUntilWaiting(): Promise<void> {
  await admin.get(`/deployments/${deploymentId}`);
  assert.equal((await admin.post(`/deployments/${deploymentId}/redeploy`, {})).status, 303);
  await eventually(
    'the deploy waits for the window',
    async () => {
      const page = await admin.get(`/deployments/${deploymentId}`);
      return page.text.includes('Waiting for the maintenance window') ? true : undefined;
    },
    30_000,
  );
}

const mutatingCalls = () => fortigate.calls.filter((c) => c.method !== 'GET').length;
const result = () =>
  client.workflow.getHandle(deploymentWorkflowId(certificateId, deploymentId)).result() as Promise<DeploymentOutcome>;

before(async () => {
  ({ stack, client } = await startStackWithClient());
  fortigate = await startFakeFortiGate({ token: TOKEN });
  await stack.startWorker();
  const issuer = await signInWithIssuer(stack, 'Windows CF');
  admin = issuer.admin;
  certificateId = (await issuer.issue('window.example.test')).id;
  await admin.get('/targets/new?vendor=fortigate');
  const created = await admin.post('/targets', {
    ...fortigateFormFields('FW with windows', fortigate, TOKEN),
    maintenanceTimeZone: 'UTC',
    maintenanceWindows: windowFrom(3_600_000),
  });
  assert.equal(created.status, 303, created.text.slice(0, 500));
  targetId = /\/targets\/(\d+)$/.exec(created.location ?? '')?.[1] as string;
  assert.match((await admin.get(`/targets/${targetId}`)).text, /Next window opens/);
  await linkDeployment(admin, certificateId, targetId, { adminGui: 'on' }, [fortigate.endpoints.admin]);
  [{ id: deploymentId }] = (await stack.db.db.query<{ id: string }>(
    'SELECT id FROM deployments WHERE certificate_id = $1',
    [certificateId],
  )) as [{ id: string }];
});
after(async () => {
  await fortigate?.close();
  await stack?.stop();
});

it('waits for the window without touching the device, then deploys when it opens', async () => {
  await setWindow(windowFrom(6_000));
  const before = mutatingCalls();
  await redeployAndWaitUntilWaiting();
  const [row] = await stack.db.db.query<{ status: string }>('SELECT status FROM deployments WHERE id = $1', [
    deploymentId,
  ]);
  assert.equal(row?.status, 'waiting');
  assert.equal(mutatingCalls(), before, 'nothing is imported or bound while waiting');
  const outcome = await result();
  assert.equal(outcome.outcome, 'deployed');
  const steps = await stack.db.db.query<{ step: string; status: string; detail: string | null }>(
    'SELECT s.step, s.status, s.detail FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id WHERE r.deployment_id = $1 ORDER BY s.id',
    [deploymentId],
  );
  const window = steps.filter((s) => s.step === 'maintenance window');
  assert.deepEqual(
    window.map((s) => s.status),
    ['started', 'succeeded'],
  );
  assert.match(
    window[0]?.detail ?? '',
    /^waiting until \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\), when the maintenance window opens \(daily /,
  );
  assert.equal(window[1]?.detail, 'the window opened');
});

it('a waiting deploy says until when, in the target\'s time zone, on every page; "Deploy now" goes ahead, and the audit log says who asked', async () => {
  const waiting = await setWindowIn(2 * 3_600_000);
  await redeployAndWaitUntilWaiting();
  const page = await admin.get(`/deployments/${deploymentId}`);
  assert.match(page.text, /Deploy now, outside the window/);
  for (const url of [
    `/deployments/${deploymentId}`,
    '/deployments',
    `/certificates/${certificateId}`,
    `/targets/${targetId}`,
    '/reports/compliance',
  ]) {
    assert.ok((await admin.get(url)).text.includes(waiting), `${url} says "${waiting}"`);
  }
  const running = (await admin.get('/dashboard/running', { 'HX-Request': 'true' })).text;
  assert.ok(
    running.includes(`window.example.test → FW with windows</a> <span class="waiting">${waiting}</span>`),
    running,
  );
  assert.ok(
    !running.includes(deploymentWorkflowId(certificateId, deploymentId)),
    'the dashboard names the deploy, not its workflow id',
  );
  assert.equal((await admin.post(`/deployments/${deploymentId}/deploy-now`, {})).status, 303);
  assert.equal((await result()).outcome, 'deployed');
  const [audit] = await stack.db.db.query<{ actor: string }>(
    "SELECT actor FROM audit_log WHERE action = 'deployment.deploy-now' AND entity_id = $1",
    [deploymentId],
  );
  assert.equal(audit?.actor, 'admin');
  const [step] = await stack.db.db.query<{ detail: string }>(
    "SELECT s.detail FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id WHERE r.deployment_id = $1 AND s.step = 'maintenance window' AND s.status = 'succeeded' ORDER BY s.id DESC LIMIT 1",
    [deploymentId],
  );
  assert.equal(step?.detail, 'deploy now, requested by admin');
  // Not waiting any more: a second "Deploy now" is refused.
  assert.equal((await admin.post(`/deployments/${deploymentId}/deploy-now`, {})).status, 409);
});

it('a "Deploy now" signal without its audit entry changes nothing and is recorded; an entry works once', async () => {
  await setWindow(windowFrom(2 * 3_600_000));
  await redeployAndWaitUntilWaiting();
  const waiting = client.workflow.getHandle(deploymentWorkflowId(certificateId, deploymentId));
  const before = mutatingCalls();
  const rejections = async (count: number) =>
    eventually(
      `${count} signal(s) rejected and recorded`,
      async () => {
        const rows = await stack.db.db.query<{ actor: string; after: { reason: string; command: string } }>(
          "SELECT actor, after FROM audit_log WHERE action = 'signal-rejected' AND entity_type = 'deployment' AND entity_id = $1 ORDER BY id",
          [deploymentId],
        );
        return rows.length >= count ? rows : undefined;
      },
      30_000,
    );
  const stillWaiting = async () => {
    const [row] = await stack.db.db.query<{ status: string }>('SELECT status FROM deployments WHERE id = $1', [
      deploymentId,
    ]);
    assert.equal(row?.status, 'waiting', 'the deploy still waits for its window');
    assert.equal((await waiting.describe()).status.name, 'RUNNING');
    assert.equal(mutatingCalls(), before, 'nothing is imported or bound');
  };

  // As sent from the Temporal UI without a CertFleet login: a name in the payload, no audit entry;
  // then the entry of another command (the Redeploy that started this run).
  const [redeploy] = await stack.db.db.query<{ id: string }>(
    "SELECT max(id) AS id FROM audit_log WHERE action = 'deployment.redeploy' AND entity_id = $1",
    [deploymentId],
  );
  await waiting.signal('deployNow', { requestedBy: 'demo' });
  await waiting.signal('deployNow', { auditId: redeploy?.id });
  const [forged, otherCommand] = await rejections(2);
  assert.equal(forged?.actor, 'certfleet-worker');
  assert.equal(forged?.after.command, 'deployNow');
  assert.match(forged?.after.reason ?? '', /names no audit entry/);
  assert.match(otherCommand?.after.reason ?? '', /records deployment\.redeploy, not deployment\.deploy-now/);
  await stillWaiting();

  // The console's "Deploy now" names its own entry: it deploys, once.
  await admin.get(`/deployments/${deploymentId}`);
  assert.equal((await admin.post(`/deployments/${deploymentId}/deploy-now`, {})).status, 303);
  assert.equal((await result()).outcome, 'deployed');
  const [used] = await stack.db.db.query<{ id: string }>(
    "SELECT max(id) AS id FROM audit_log WHERE action = 'deployment.deploy-now' AND entity_id = $1",
    [deploymentId],
  );

  // The next deploy waits again: the used entry does not open it.
  await redeployAndWaitUntilWaiting();
  const next = mutatingCalls();
  await waiting.signal('deployNow', { auditId: used?.id });
  const replayed = (await rejections(3))[2];
  assert.match(replayed?.after.reason ?? '', /was used already/);
  const [row] = await stack.db.db.query<{ status: string }>('SELECT status FROM deployments WHERE id = $1', [
    deploymentId,
  ]);
  assert.equal(row?.status, 'waiting');
  assert.equal(mutatingCalls(), next, 'a used entry changes nothing');
  await admin.get(`/deployments/${deploymentId}`);
  assert.equal((await admin.post(`/deployments/${deploymentId}/deploy-now`, {})).status, 303);
  assert.equal((await result()).outcome, 'deployed');
});

it('starts through the Temporal API without an audit entry change nothing and are recorded', async () => {
  const [cert] = await stack.db.db.query<{ current_version_id: string }>(
    'SELECT current_version_id FROM certificates WHERE id = $1',
    [certificateId],
  );
  const versionId = cert?.current_version_id as string;
  const before = mutatingCalls();
  const [runsBefore] = await stack.db.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM deployment_runs WHERE deployment_id = $1',
    [deploymentId],
  );
  // A deploy posing as the renewal's child, and a Redeploy naming no entry.
  for (const [trigger, why] of [
    ['lifecycle', /certificate's own run/],
    ['redeploy', /names no audit entry/],
  ] as const) {
    const outcome = (await client.workflow.execute(WorkflowType.deploy, {
      workflowId: deploymentWorkflowId(certificateId, deploymentId),
      taskQueue: TASK_QUEUE,
      args: [{ deploymentId, versionId, trigger }],
    })) as DeploymentOutcome;
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.reason ?? '', why);
  }
  // "Renew now" posing as the console.
  const renewal = (await client.workflow.execute(WorkflowType.lifecycle, {
    workflowId: certificateWorkflowId(certificateId),
    taskQueue: TASK_QUEUE,
    args: [{ certificateId, trigger: 'manual' }],
  })) as LifecycleResult;
  assert.equal(renewal.outcome, 'skipped');
  assert.match(renewal.reason ?? '', /not started by CertFleet: it names no audit entry/);

  assert.equal(mutatingCalls(), before, 'the device was not touched');
  const [runsAfter] = await stack.db.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM deployment_runs WHERE deployment_id = $1',
    [deploymentId],
  );
  assert.equal(runsAfter?.n, runsBefore?.n, 'no deploy run was opened');
  const [versions] = await stack.db.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM certificate_versions WHERE certificate_id = $1',
    [certificateId],
  );
  assert.equal(versions?.n, 1, 'no certificate was issued');
  const recorded = await stack.db.db.query<{ entity_type: string }>(
    "SELECT entity_type FROM audit_log WHERE action = 'start-rejected' AND entity_id IN ($1, $2) ORDER BY id",
    [deploymentId, certificateId],
  );
  assert.deepEqual(
    recorded.map((r) => r.entity_type),
    ['deployment', 'deployment', 'certificate'],
  );
});
