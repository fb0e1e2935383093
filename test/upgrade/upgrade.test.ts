/**
 * Upgrade: a run started by the previous build finishes on this one (docs/versioning.md). A worker of
 * the build named in test/upgrade/previous-build starts a renewal whose deploy parks in the target's
 * maintenance window; that worker stops, a worker of this checkout takes over, "Deploy now" ends the
 * wait, and the run must finish (issued, deployed and verified on the device). A change that breaks
 * determinism for the parked run fails the test with the workflow task failure's message.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import {
  certificateWorkflowId,
  deploymentWorkflowId,
  type DeploymentOutcome,
  type LifecycleResult,
} from '../../temporal/contract';
import { startFakeFortiGate, type FakeFortiGate } from '../fakes/fortigate/server';
import { fortigateFormFields } from '../support/appliance-targets';
import { linkDeployment, renewNow } from '../support/console-actions';
import { signInWithIssuer, startStackWithClient } from '../support/issuing-stack';
import { spawnManaged, type ManagedProcess } from '../support/process';
import { eventually, type Stack } from '../support/stack';
import { materializePreviousBuild, type PreviousBuild } from './materialize-previous-build';

const TOKEN = 'fgt-token-upgrade';
const clock = (d: Date): string => d.toISOString().slice(11, 19);
/** A daily window (UTC) that opens in two hours: the deploy waits for it. */
const windowInTwoHours = (): string => {
  const opens = new Date(Date.now() + 2 * 3_600_000);
  return `daily ${clock(opens)}-${clock(new Date(opens.getTime() + 3_600_000))}`;
};

/** The identities of the workers that started the run's workflow tasks ("<pid>@<host>" by default). */
async function workflowTaskWorkers(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.workflowTaskStartedEventAttributes ? [e.workflowTaskStartedEventAttributes.identity ?? ''] : [],
  );
}

/**
 * Workflow task failure causes (temporal.api.enums.v1.WorkflowTaskFailedCause) that new code breaking
 * an in-flight run produces: NON_DETERMINISTIC_ERROR and WORKFLOW_WORKER_UNHANDLED_FAILURE. Others,
 * such as UNHANDLED_COMMAND (a signal arrived while a task completed), are routine.
 */
const BREAKING_CAUSES: ReadonlySet<number> = new Set([24, 14]);

/** Rejects with the first workflow task failure that breaking code causes in any of the runs. */
async function firstWorkflowTaskFailure(
  client: Client,
  workflowIds: readonly string[],
  done: () => boolean,
): Promise<never> {
  for (;;) {
    for (const workflowId of workflowIds) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const failed = (history.events ?? []).find((e) =>
        BREAKING_CAUSES.has(Number(e.workflowTaskFailedEventAttributes?.cause ?? -1)),
      );
      if (failed) {
        const attributes = failed.workflowTaskFailedEventAttributes;
        throw new Error(
          `${workflowId}: a workflow task failed on the new build (cause ${String(attributes?.cause)}): ${attributes?.failure?.message ?? ''}`,
        );
      }
    }
    if (done()) return new Promise<never>(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

describe('upgrade: a run started by the previous build finishes on this one', { timeout: 900_000 }, () => {
  let previous: PreviousBuild | undefined;
  let stack: Stack | undefined;
  let client: Client;
  let fortigate: FakeFortiGate | undefined;
  let oldWorker: ManagedProcess | undefined;

  before(
    async () => {
      previous = await materializePreviousBuild();
      ({ stack, client } = await startStackWithClient());
      fortigate = await startFakeFortiGate({ token: TOKEN });
    },
    { timeout: 300_000 },
  );
  after(
    async () => {
      await oldWorker?.stop();
      await fortigate?.close();
      await stack?.stop();
      await previous?.remove();
    },
    { timeout: 60_000 },
  );

  it('a renewal parked in a maintenance window by the previous build deploys and verifies on this build', async () => {
    assert.ok(stack && previous && fortigate, 'the stack did not start');
    oldWorker = await spawnManaged(
      process.execPath,
      ['--import', 'tsx', path.join(previous.dir, 'worker', 'main.ts')],
      {
        env: { ...stack.env, LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: previous.bundlePath },
        cwd: previous.dir,
        name: `worker of ${previous.commit.slice(0, 12)}`,
        readyWhen: /worker started/,
        timeoutMs: 120_000,
      },
    );
    const issuer = await signInWithIssuer(stack, 'Upgrade CF');
    const { admin } = issuer;
    const { id: certificateId } = await issuer.issue('upgrade.example.test');
    await admin.get('/targets/new?vendor=fortigate');
    const created = await admin.post('/targets', {
      ...fortigateFormFields('FW upgrade', fortigate, TOKEN),
      maintenanceTimeZone: 'UTC',
      maintenanceWindows: windowInTwoHours(),
    });
    assert.equal(created.status, 303, created.text.slice(0, 500));
    const targetId = /\/targets\/(\d+)$/.exec(created.location ?? '')?.[1];
    assert.ok(targetId, created.location);
    await linkDeployment(admin, certificateId, targetId, { adminGui: 'on' }, [fortigate.endpoints.admin]);
    const [deployment] = await stack.db.db.query<{ id: string }>(
      'SELECT id FROM deployments WHERE certificate_id = $1',
      [certificateId],
    );
    assert.ok(deployment);
    const lifecycleId = certificateWorkflowId(certificateId);
    const deployId = deploymentWorkflowId(certificateId, deployment.id);

    // The previous build renews and parks the deploy in the window.
    await renewNow(admin, certificateId);
    await eventually(
      'the deploy waits for the maintenance window',
      async () => {
        const [row] = await stack!.db.db.query<{ status: string }>('SELECT status FROM deployments WHERE id = $1', [
          deployment.id,
        ]);
        return row?.status === 'waiting' ? true : undefined;
      },
      180_000,
    );
    const oldIdentity = `${oldWorker.child.pid}@`;
    assert.ok(
      (await workflowTaskWorkers(client, deployId)).every((id) => id.startsWith(oldIdentity)),
      'the deploy so far ran on the previous build',
    );
    await oldWorker.stop();

    // This build takes over; "Deploy now" ends the wait, and the run must finish on it.
    const newWorker = await stack.startWorker();
    await admin.get(`/deployments/${deployment.id}`);
    assert.equal((await admin.post(`/deployments/${deployment.id}/deploy-now`, {})).status, 303);
    let finished = false;
    const lifecycleResult = client.workflow
      .getHandle(lifecycleId)
      .result()
      .finally(() => (finished = true));
    // When a workflow task failure wins the race, the run never ends: its pending result is dropped.
    lifecycleResult.catch(() => undefined);
    const result = (await Promise.race([
      lifecycleResult,
      firstWorkflowTaskFailure(client, [lifecycleId, deployId], () => finished),
    ])) as LifecycleResult;
    assert.equal(result.outcome, 'issued', JSON.stringify(result));
    assert.deepEqual(
      result.deployments?.map((d: DeploymentOutcome) => [d.targetName, d.outcome]),
      [['FW upgrade', 'deployed']],
    );
    const workers = await workflowTaskWorkers(client, deployId);
    assert.ok(
      workers.some((id) => id.startsWith(`${newWorker.child.pid}@`)),
      `the deploy finished on this build (workers: ${workers.join(', ')})`,
    );
    const verified = await stack.db.db.query<{ status: string }>(
      "SELECT s.status FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id WHERE r.deployment_id = $1 AND s.step = 'verify' ORDER BY s.id",
      [deployment.id],
    );
    assert.equal(verified.at(-1)?.status, 'succeeded', 'the device serves the new certificate (TLS handshake)');
  });
});
