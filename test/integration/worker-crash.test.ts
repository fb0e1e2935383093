/**
 * A worker is killed (SIGKILL) in the middle of a run and another one started: the run completes
 * with exactly one new version, one ACME order, and the TXT record removed.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { certificateWorkflowId, progressQuery } from '../../temporal/contract';
import { addCloudflareProvider, addPebbleDirectory, requestCertificate, waitForRunToEnd } from '../support/console-actions';
import { eventually, startStack, type Stack } from '../support/stack';

let stack: Stack;
let connection: Connection;

before(async () => {
  stack = await startStack({ propagationTimeoutMs: 120_000 });
  connection = await Connection.connect({ address: stack.temporal.address });
});
after(async () => {
  await connection?.close();
  await stack?.stop();
});

it('completes with exactly one new version after the worker is killed mid-run', async () => {
  const client = new Client({ connection });
  const first = await stack.startWorker();
  const admin = await stack.admin();
  const directoryId = await addPebbleDirectory(admin, stack);
  const providerId = await addCloudflareProvider(admin, stack, 'Crash test');

  // Hold the run in the propagation step: records are created at Cloudflare but not yet in DNS.
  stack.cloudflare.setPushToDns(false);
  const id = await requestCertificate(admin, { commonName: 'crash.example.test', dnsProviderId: providerId, acmeDirectoryId: directoryId });
  const handle = client.workflow.getHandle(certificateWorkflowId(id));
  await eventually('the run to wait for propagation', async () => ((await handle.query(progressQuery).catch(() => undefined))?.current === 'propagate' ? true : undefined));

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
  assert.deepEqual(stack.cloudflare.records().filter((r) => r.name.startsWith('_acme-challenge.crash')), []);
  const [cert] = await stack.db.db.query<{ status: string; current_version_id: string }>('SELECT status, current_version_id FROM certificates WHERE id = $1', [id]);
  assert.equal(cert?.status, 'valid');
  assert.equal(cert?.current_version_id, (versions[0] as { id: string }).id);
});
