/**
 * Issue 17 item 5: a deploy started by the certificate's own run for a version the deployment already
 * has deployed (a lifecycle re-driven after a restore from an online backup, whose Temporal history
 * predates the deploy CertFleet recorded) opens no run and changes nothing; console commands (Retry,
 * Redeploy) always open one. startDeploymentRun against a real PostgreSQL (fresh database, seeded
 * fleet of one deployment), including a start retried after its first attempt (the same workflow run).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { createSecretBox, SecretPurpose } from '../../activities/crypto/secret-box';
import { finishRun, setRunStaged, startRunOnce } from '../../activities/db/repositories/deployment-runs';
import { recordDeployed, setDeploymentStatus } from '../../activities/db/repositories/deployments';
import { createDeployActivities } from '../../activities/deploy';
import type { DeployTrigger } from '../../temporal/contract';
import { activityDepsFrom } from '../../worker/activity-deps';
import { loadWorkerConfig } from '../../worker/config';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { ONE_CERTIFICATE, seedFleet } from '../support/seed';

describe('startDeploymentRun: a re-driven lifecycle deploy of a version already deployed', () => {
  let database: TestDatabase;
  let activities: ReturnType<typeof createDeployActivities>;
  let deploymentId = '';
  let certificateId = '';
  /** The seeded version (v1) and a newer one of the same certificate (v2). */
  let v1 = '';
  let v2 = '';
  let runs = 0;
  const box = createSecretBox(randomBytes(32));

  const workflowId = (): string => `deploy:${certificateId}:${deploymentId}`;
  const start = (versionId: string, trigger: DeployTrigger, runId: string) =>
    activities.startDeploymentRun({ deploymentId, versionId, workflowId: workflowId(), runId, trigger });

  /** A run of another workflow run that deployed `versionId` to the deployment (as finishDeploymentRun records it). */
  const deployedEarlier = async (versionId: string, trigger: DeployTrigger = 'lifecycle'): Promise<string> => {
    const run = await startRunOnce(database.db, {
      deploymentId,
      versionId,
      workflowId: workflowId(),
      runId: `earlier-${++runs}`,
      trigger,
    });
    const staged = { cert: `cert-${versionId}`, key: `key-${versionId}` };
    await setRunStaged(database.db, run.id, staged);
    await finishRun(database.db, run.id, 'deployed', null);
    await recordDeployed(database.db, deploymentId, versionId, staged);
    return run.id;
  };

  const state = async () => {
    const [row] = await database.db.query<{ status: string; current: string; runs: string; steps: string }>(
      `SELECT d.status, d.current_version_id AS current,
              (SELECT count(*) FROM deployment_runs WHERE deployment_id = d.id) AS runs,
              (SELECT count(*) FROM deployment_run_steps) AS steps
         FROM deployments d WHERE d.id = $1`,
      [deploymentId],
    );
    assert.ok(row);
    return { status: row.status, current: row.current, runs: Number(row.runs), steps: Number(row.steps) };
  };

  before(async () => {
    database = await createTestDatabase();
    await seedFleet(
      database.db,
      { ...ONE_CERTIFICATE, targetsPerCustomer: 1 },
      box.seal('placeholder', SecretPurpose.versionKey),
    );
    const [seeded] = await database.db.query<{ id: string; certificate_id: string; current_version_id: string }>(
      'SELECT id, certificate_id, current_version_id FROM deployments ORDER BY id LIMIT 1',
    );
    assert.ok(seeded);
    ({ id: deploymentId, certificate_id: certificateId, current_version_id: v1 } = seeded);
    const [newer] = await database.db.query<{ id: string }>(
      `WITH o AS (
         INSERT INTO acme_orders (certificate_id, workflow_id, run_id, order_url, status, key_encrypted)
         SELECT certificate_id, workflow_id, 'renewal-2', order_url || '/2', status, key_encrypted FROM acme_orders
          WHERE id = (SELECT order_id FROM certificate_versions WHERE id = $1)
         RETURNING id
       )
       INSERT INTO certificate_versions (certificate_id, order_id, serial_hex, fingerprint_sha256, not_before, not_after, key_type, cert_pem, chain_pem, key_encrypted)
       SELECT v.certificate_id, o.id, v.serial_hex || '02', md5('v2') || md5('v2'), v.not_before, v.not_after, v.key_type, v.cert_pem, v.chain_pem, v.key_encrypted
         FROM certificate_versions v, o WHERE v.id = $1
       RETURNING id`,
      [v1],
    );
    assert.ok(newer);
    v2 = newer.id;
    const config = loadWorkerConfig({ DATABASE_URL: 'postgres://127.0.0.1/unused' });
    activities = createDeployActivities(
      activityDepsFrom(config, { db: database.db, box, log: pino({ level: 'silent' }) }),
    );
  });
  after(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    // The seeded deployment as it was: v1 current and deployed, no history.
    await database.db.query('DELETE FROM deployment_run_steps');
    await database.db.query('DELETE FROM deployment_runs');
    await database.db.query(
      `UPDATE deployments SET status = 'deployed', current_version_id = $2, current_objects = NULL,
              previous_version_id = NULL, previous_objects = NULL WHERE id = $1`,
      [deploymentId, v1],
    );
  });

  it("the certificate's run finds the version deployed: no run opened, nothing changed; its retry finds the same", async () => {
    const earlier = await deployedEarlier(v1);
    const before = await state();
    for (const attempt of [1, 2]) {
      const started = await start(v1, 'lifecycle', 'redriven');
      assert.ok('alreadyDeployed' in started, `attempt ${attempt}: ${JSON.stringify(started)}`);
      assert.equal(started.alreadyDeployed.runRowId, earlier);
      assert.ok(Number.isFinite(Date.parse(started.alreadyDeployed.endedAt)));
      assert.equal(started.targetName, 'fw-1-1');
      assert.deepEqual(await state(), before, `attempt ${attempt}: no run row, status or step written`);
    }
    assert.deepEqual(before, { status: 'deployed', current: v1, runs: 1, steps: 0 });
  });

  for (const trigger of ['retry', 'redeploy'] as const)
    it(`a console ${trigger} of the same version opens a run and deploys it again`, async () => {
      await deployedEarlier(v1);
      const started = await start(v1, trigger, `console-${trigger}`);
      assert.ok('runRowId' in started, JSON.stringify(started));
      assert.deepEqual(await state(), { status: 'deploying', current: v1, runs: 2, steps: 0 });
    });

  it('a lifecycle start whose version was never recorded as deployed opens a run', async () => {
    // Seeded: v1 is current and the status says deployed, but no run deployed it.
    const started = await start(v1, 'lifecycle', 'first');
    assert.ok('runRowId' in started, JSON.stringify(started));
    assert.equal((await state()).runs, 1);
  });

  it('a retried start of a run that has its row returns that row, even once it ended deployed', async () => {
    const first = await start(v2, 'lifecycle', 'own');
    assert.ok('runRowId' in first);
    const again = await start(v2, 'lifecycle', 'own');
    assert.deepEqual(again, first, 'the running row is not "already deployed"');
    // Its own row ended deployed (after the Temporal dump of a restore, the run itself is re-driven).
    await setRunStaged(database.db, first.runRowId, { cert: 'c2' });
    await finishRun(database.db, first.runRowId, 'deployed', null);
    await recordDeployed(database.db, deploymentId, v2, { cert: 'c2' });
    const afterEnd = await start(v2, 'lifecycle', 'own');
    assert.ok('runRowId' in afterEnd, JSON.stringify(afterEnd));
    assert.equal(afterEnd.runRowId, first.runRowId);
    assert.equal((await state()).runs, 1, 'still one row');
  });

  it('a newer version deployed since: the older one is deployed again', async () => {
    await deployedEarlier(v1);
    await deployedEarlier(v2);
    const started = await start(v1, 'lifecycle', 'older');
    assert.ok('runRowId' in started, JSON.stringify(started));
    assert.equal((await state()).runs, 3);
  });

  it('a run of the deployment after the deployed one (a failed Retry): the version is deployed again', async () => {
    await deployedEarlier(v1);
    const retried = await startRunOnce(database.db, {
      deploymentId,
      versionId: v1,
      workflowId: workflowId(),
      runId: 'failed-retry',
      trigger: 'retry',
    });
    await finishRun(database.db, retried.id, 'failed', 'fortigate: the management API did not answer');
    await setDeploymentStatus(database.db, deploymentId, 'failed', 'fortigate: the management API did not answer');
    const started = await start(v1, 'lifecycle', 'after-failure');
    assert.ok('runRowId' in started, JSON.stringify(started));
  });
});
