/**
 * The Temporal UI that `npm start` and the demo run beside the headless dev server is read-only: its
 * settings say every write action is off, and its API refuses a signal and a terminate (which would
 * bypass CertFleet's roles and audit log), while reading a run still works.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { TASK_QUEUE, WorkflowType } from '../../temporal/contract';
import {
  READ_ONLY_UI_SWITCHES,
  startReadOnlyTemporalUi,
  TEMPORAL_UI_SERVER,
  type ReadOnlyUi,
} from '../../scripts/temporal/ui-server';
import { startUiWithFallback, uiFailureLine, uiLostItsPort } from '../../scripts/temporal/local-temporal';
import * as net from 'node:net';
import { freePort } from '../support/free-port';
import { requireGoTool, startTestTemporal, type TestTemporal } from '../support/temporal';

let temporal: TestTemporal;
let connection: Connection;
let client: Client;
let ui: ReadOnlyUi;
let configDir: string;
const workflowId = `certificate:ui-${Date.now()}`;

before(async () => {
  const [server, binaryPath] = await Promise.all([startTestTemporal(), requireGoTool(TEMPORAL_UI_SERVER)]);
  temporal = server;
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection });
  // No worker: the run stays open, as a deploy waiting for its maintenance window does.
  await client.workflow.start(WorkflowType.lifecycle, {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ certificateId: '1', trigger: 'schedule' }],
  });
  configDir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-ui-'));
  ui = await startReadOnlyTemporalUi({
    binaryPath,
    temporalAddress: temporal.address,
    port: await freePort(),
    configDir,
  });
});
after(async () => {
  await ui?.stop();
  await connection?.close();
  await temporal?.stop();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

/** A write through the UI's HTTP API. The Authorization header is how API clients skip its CSRF cookie check. */
const write = (apiPath: string, body: unknown) =>
  fetch(`${ui.url}/api/v1/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${apiPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer anything' },
    body: JSON.stringify(body),
  });

it('reports every write action, start and batch action disabled', async () => {
  const settings = (await (await fetch(`${ui.url}/api/v1/settings`)).json()) as Record<string, unknown>;
  for (const key of Object.keys(READ_ONLY_UI_SWITCHES)) {
    const field = key.charAt(0).toUpperCase() + key.slice(1);
    assert.equal(settings[field], true, field);
  }
});

it('refuses a signal and a terminate through its API, and still shows the run', async () => {
  const signal = await write('signal/deployNow', { input: { payloads: [] } });
  assert.equal(signal.status, 405, await signal.text());
  const terminate = await write('terminate', { reason: 'from the UI' });
  assert.equal(terminate.status, 405, await terminate.text());

  const handle = client.workflow.getHandle(workflowId);
  assert.equal((await handle.describe()).status.name, 'RUNNING');
  const history = await handle.fetchHistory();
  assert.ok(
    !(history.events ?? []).some((e) => e.workflowExecutionSignaledEventAttributes),
    'no signal reached the run',
  );

  const read = await fetch(`${ui.url}/api/v1/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  assert.equal(read.status, 200, 'reading a run still works');
});

/**
 * A port free when chosen and bound by another process before the UI server binds it (CI, 2026-12-08:
 * the demo test's UI "exited with code 1 before it was ready"): the server's own reason reaches the
 * one-line problem the demo prints, and with a fallback (the demo's free ports) it starts on another.
 */
it('a UI port taken meanwhile: the reason is named, and the demo starts the UI on another port', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const port = (taken.address() as net.AddressInfo).port;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-ui-taken-'));
  const binaryPath = await requireGoTool(TEMPORAL_UI_SERVER);
  const startUi = (p: number): Promise<ReadOnlyUi> =>
    startReadOnlyTemporalUi({ binaryPath, temporalAddress: temporal.address, port: p, configDir: dir });
  try {
    const refused = await startUiWithFallback(startUi, port).then(
      () => assert.fail('the UI started on a taken port'),
      (error: unknown) => error,
    );
    assert.ok(uiLostItsPort(refused));
    assert.match(
      uiFailureLine(refused),
      /exited with code 1 before it was ready: listen tcp 127\.0\.0\.1:\d+: bind: address already in use$/,
    );

    const moved = await startUiWithFallback(startUi, port, freePort);
    try {
      assert.notEqual(new URL(moved.url).port, String(port));
      assert.equal((await fetch(`${moved.url}/api/v1/settings`)).status, 200);
    } finally {
      await moved.stop();
    }
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
});
