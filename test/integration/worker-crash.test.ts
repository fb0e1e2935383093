/**
 * A worker is killed (SIGKILL) in the middle of a run and another one started: the run completes
 * with exactly one new version, one ACME order, and the TXT record removed.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { certificateWorkflowId, progressQuery } from '../../temporal/contract';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { startFakePanos } from '../fakes/panos/server';
import { applianceTarget } from '../support/appliance-targets';
import { addTarget, linkDeployment, renewNow, waitForRunToEnd } from '../support/console-actions';
import { signInWithIssuer, startStackWithClient } from '../support/issuing-stack';
import { eventually, type Stack } from '../support/stack';

let stack: Stack;
let client: Client;

before(async () => {
  ({ stack, client } = await startStackWithClient({ propagationTimeoutMs: 120_000 }));
});
after(async () => {
  await stack?.stop();
});

it('completes with exactly one new version after the worker is killed mid-run', async () => {
  const first = await stack.startWorker();
  const issuer = await signInWithIssuer(stack, 'Crash test');
  const admin = issuer.admin;

  // Hold the run in the propagation step: records are created at Cloudflare but not yet in DNS.
  stack.cloudflare.setPushToDns(false);
  const id = await issuer.request('crash.example.test');
  const handle = client.workflow.getHandle(certificateWorkflowId(id));
  await eventually('the run to wait for propagation', async () =>
    (await handle.query(progressQuery).catch(() => undefined))?.current === 'propagate' ? true : undefined,
  );

  first.child.kill('SIGKILL');
  const exit = await first.exited;
  assert.equal(exit.signal, 'SIGKILL');

  // DNS catches up while no worker runs; a new worker picks the run up after the heartbeat timeout.
  const [order] = await stack.db.db.query<{ txt_record_name: string; txt_values: string[] }>(
    'SELECT txt_record_name, txt_values FROM acme_orders WHERE certificate_id = $1',
    [id],
  );
  assert.ok(order);
  stack.cloudflare.setPushToDns(true);
  for (const value of order.txt_values) await stack.pebble.setTxt(order.txt_record_name, value);
  await stack.startWorker();

  const fragment = await waitForRunToEnd(admin, id, 120_000);
  assert.match(fragment, /run-COMPLETED/);
  const versions = await stack.db.db.query('SELECT id FROM certificate_versions WHERE certificate_id = $1', [id]);
  assert.equal(versions.length, 1, 'exactly one version');
  const orders = await stack.db.db.query('SELECT id FROM acme_orders WHERE certificate_id = $1', [id]);
  assert.equal(orders.length, 1, 'exactly one ACME order');
  assert.deepEqual(
    stack.cloudflare.records().filter((r) => r.name.startsWith('_acme-challenge.crash')),
    [],
  );
  const [cert] = await stack.db.db.query<{ status: string; current_version_id: string }>(
    'SELECT status, current_version_id FROM certificates WHERE id = $1',
    [id],
  );
  assert.equal(cert?.status, 'valid');
  assert.equal(cert?.current_version_id, (versions[0] as { id: string }).id);
});

it('a worker killed while staging on a firewall leaves no duplicate objects: the retry reuses them', async () => {
  const panos = await startFakePanos({ profiles: [{ name: 'gp-portal' }] });
  try {
    if (stack.workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null)) await stack.startWorker();
    const admin = await stack.admin();
    const [cert] = await stack.db.db.query<{ id: string }>(
      "SELECT id FROM certificates WHERE common_name = 'crash.example.test'",
    );
    assert.ok(cert, 'the certificate of the first test exists');
    const targetId = await addTarget(admin, applianceTarget('panos', 'FW crash', panos));
    await linkDeployment(admin, cert.id, targetId, { profiles: 'gp-portal' }, panos.endpoints);

    // The key import is carried out on the device, but its reply is held: the worker dies right then.
    const hold = panos.holdReplyOfNext(/type=import&category=private-key/);
    await renewNow(admin, cert.id);
    await hold.reached;
    for (const worker of stack.workers) worker.child.kill('SIGKILL');
    await Promise.all(stack.workers.map((w) => w.exited));
    hold.release();
    const namesAfterCrash = panos.certificateNames('candidate');
    await stack.startWorker();

    const result = (await client.workflow.getHandle(certificateWorkflowId(cert.id)).result()) as { outcome: string };
    assert.equal(result.outcome, 'issued');
    const [current] = await stack.db.db.query<{ fingerprint_sha256: string; serial_hex: string }>(
      'SELECT v.fingerprint_sha256, v.serial_hex FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = $1',
      [cert.id],
    );
    assert.ok(current);
    await verifyServedFingerprint('panos', panos.endpoints, current.fingerprint_sha256);
    // Exactly the objects the first attempt created: the retry found and reused them.
    assert.deepEqual(panos.certificateNames('candidate').sort(), namesAfterCrash.sort());
    const imports = panos.calls.filter(
      (c) =>
        c.params['type'] === 'import' &&
        c.params['category'] === 'certificate' &&
        /crash/.test(c.params['certificate-name'] ?? ''),
    );
    assert.equal(new Set(imports.map((c) => c.params['certificate-name'])).size, 1, 'one name for the version');
    const [runs] = await stack.db.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id WHERE d.target_id = $1',
      [targetId],
    );
    assert.equal(runs?.n, '1', 'one deployment run, continued by the new worker');
  } finally {
    await panos.close();
  }
});
