/**
 * A manual target: nothing is pushed; after a renewal the deployment is "ready for download" (not a
 * failure), a technician marks it done, and that is audited.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { certificateWorkflowId, type LifecycleResult } from '../../temporal/contract';
import { linkDeployment, renewNow } from '../support/console-actions';
import { signInNewUser, signInWithIssuer, startStackWithClient } from '../support/issuing-stack';
import type { Stack } from '../support/stack';

let stack: Stack;
let client: Client;

before(async () => {
  ({ stack, client } = await startStackWithClient());
  await stack.startWorker();
});
after(async () => {
  await stack?.stop();
});

it('a renewal leaves a manual target ready for download; a technician marks it done (audited)', async () => {
  const issuer = await signInWithIssuer(stack, 'Manual');
  const admin = issuer.admin;
  const { id: certificateId } = await issuer.issue('appliance.example.test');

  const form = await admin.get('/targets/new?vendor=manual');
  assert.ok(!form.text.includes('name="trustFingerprint"'), 'no TLS trust asked for a manual target');
  const saved = await admin.post('/targets', { vendor: 'manual', name: 'Old appliance (by hand)' });
  assert.equal(saved.status, 303, saved.text.slice(0, 1000));
  const targetId = /\/targets\/(\d+)/.exec(saved.location ?? '')?.[1];
  assert.ok(targetId);
  await linkDeployment(admin, certificateId, targetId, {}, []);

  await renewNow(admin, certificateId);
  const result = (await client.workflow.getHandle(certificateWorkflowId(certificateId)).result()) as LifecycleResult;
  assert.equal(result.outcome, 'issued', 'a manual target is not a failure');
  assert.deepEqual(
    result.deployments?.map((d) => d.outcome),
    ['ready'],
  );
  const [deployment] = await stack.db.db.query<{ id: string; status: string }>(
    'SELECT id, status FROM deployments WHERE certificate_id = $1',
    [certificateId],
  );
  assert.equal(deployment?.status, 'ready');
  const page = await admin.get(`/deployments/${deployment.id}`);
  assert.match(page.text, /Ready for download/);
  assert.match(page.text, /download\/fullchain\.pem/);

  const viewer = await signInNewUser(stack, { username: 'auditor', role: 'readonly', password: 'auditor-password' });
  await viewer.get(`/deployments/${deployment.id}`);
  assert.equal((await viewer.post(`/deployments/${deployment.id}/mark-done`, {})).status, 403);

  await admin.get(`/deployments/${deployment.id}`);
  const done = await admin.post(`/deployments/${deployment.id}/mark-done`, {});
  assert.equal(done.status, 303);
  const [after] = await stack.db.db.query<{ status: string; current_version_id: string }>(
    'SELECT status, current_version_id FROM deployments WHERE id = $1',
    [deployment.id],
  );
  assert.equal(after?.status, 'deployed');
  assert.ok(after?.current_version_id);
  const audit = await stack.db.db.query<{ actor: string }>(
    "SELECT actor FROM audit_log WHERE action = 'deployment.mark-done' AND entity_id = $1",
    [deployment.id],
  );
  assert.deepEqual(
    audit.map((a) => a.actor),
    ['admin'],
  );
  await admin.get(`/deployments/${deployment.id}`);
  assert.equal(
    (await admin.post(`/deployments/${deployment.id}/mark-done`, {})).status,
    409,
    'only a ready deployment can be marked done',
  );
});
