/**
 * The rollback target survives a worker that dies between the device bind and its answer (issue 18
 * item 5: stage and activate became one activity, and the previous binding is recorded BEFORE the
 * bind). Real PostgreSQL, the real deploy activities, the fake F5 BIG-IP; the "death" is the
 * deployer's activate throwing after the real bind went through, as a killed worker's attempt ends
 * for Temporal. The retry then finds the new certificate bound: before this change it recorded that
 * as the previous binding, and a failed verify "rolled back" to the new certificate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { sealTargetCredentials } from '../../activities/crypto/bound-secrets';
import { getRun } from '../../activities/db/repositories/deployment-runs';
import { getTarget } from '../../activities/db/repositories/targets';
import { createDeployActivities } from '../../activities/deploy';
import type { BindingState, DeployerFactory } from '../../activities/deployers/types';
import { activityDepsFrom } from '../../worker/activity-deps';
import { loadWorkerConfig } from '../../worker/config';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { createTestCa } from '../support/certificates';
import { startConsoleApp, type ConsoleApp } from '../support/console-app';
import { ONE_DEPLOYMENT } from '../support/seed';
import { seedFleetDeployment, startNumberedRun, storeVersionMaterial } from '../support/seeded-deployment';

const F5_PASSWORD = `f5-rollback-pw-${Date.now()}`;

describe('stage and activate in one activity: the rollback target', () => {
  let c: ConsoleApp;
  let bigip: FakeBigip;
  let deploymentId: string;
  let versionId: string;
  const ca = createTestCa();
  const version = ca.issue('rollback.example.test');
  /** What the first attempt's activate read from the device before it bound anything. */
  let readBeforeBind: BindingState | undefined;
  let dieAfterBind = true;

  before(async () => {
    c = await startConsoleApp();
    bigip = await startFakeBigip({ profiles: ['clientssl-web'], password: F5_PASSWORD });
    let targetId: string;
    ({ id: deploymentId, targetId, versionId } = await seedFleetDeployment(c, ONE_DEPLOYMENT));
    await storeVersionMaterial(c, versionId, version);
    await c.db.db.query(
      "UPDATE targets SET vendor = 'f5-bigip', host = $2, port = $3, trust_fingerprint = $4, options = '{}' WHERE id = $1",
      [targetId, bigip.host, bigip.port, bigip.managementFingerprint],
    );
    const target = (await getTarget(c.db.db, targetId)) ?? assert.fail('seeded target');
    await c.db.db.query('UPDATE targets SET credentials_encrypted = $2 WHERE id = $1', [
      targetId,
      sealTargetCredentials(c.box, target, { username: bigip.username, password: F5_PASSWORD }),
    ]);
    await c.db.db.query('UPDATE deployments SET binding = $2 WHERE id = $1', [
      deploymentId,
      JSON.stringify({ profiles: 'clientssl-web' }),
    ]);
  });
  after(async () => {
    await bigip?.close();
    ca.dispose();
    await c?.stop();
  });

  it('a worker dying between the bind and its answer: the retry keeps the binding read before the bind', async () => {
    const config = loadWorkerConfig({ DATABASE_URL: 'postgres://127.0.0.1/unused' });
    const deps = activityDepsFrom(config, { db: c.db.db, box: c.box, log: pino({ level: 'silent' }) });
    const f5 = deps.deployers['f5-bigip'] ?? assert.fail('f5-bigip registered');
    const dying: DeployerFactory = (ctx) => {
      const deployer = f5(ctx);
      return {
        ...deployer,
        async activate(staged, hooks) {
          const activation = await deployer.activate(staged, {
            beforeChange: async (previous) => {
              readBeforeBind ??= previous;
              await hooks?.beforeChange?.(previous);
            },
          });
          if (dieAfterBind) {
            dieAfterBind = false;
            throw new Error('test: the worker died after the bind');
          }
          return activation;
        },
      };
    };
    const activities = createDeployActivities({ ...deps, deployers: { ...deps.deployers, 'f5-bigip': dying } });
    const runId = await startNumberedRun(c.db.db, { deploymentId, versionId }, 'rollback-target', 1);

    await assert.rejects(activities.stageAndActivateDeployment({ runRowId: runId }), /the worker died after the bind/);
    const boundBefore = readBeforeBind ?? assert.fail('activate read the binding');
    assert.deepEqual((await getRun(c.db.db, runId))?.previousBinding, boundBefore, 'recorded before the bind');

    // The retry (Temporal's next attempt) finds the new certificate bound already and changes nothing.
    await activities.stageAndActivateDeployment({ runRowId: runId });
    const run = (await getRun(c.db.db, runId)) ?? assert.fail('the run');
    assert.deepEqual(run.previousBinding, boundBefore, 'the retry did not replace the rollback target');
    const staged = Object.values(run.stagedObjects ?? {});
    assert.ok(staged.length > 0, 'staged');
    for (const name of Object.values(run.previousBinding ?? {}))
      for (const object of staged) assert.ok(!name.includes(object), `${name} is not this run's ${object}`);

    // A rollback now has something to put back.
    assert.deepEqual(await activities.rollbackDeployment({ runRowId: runId }), {});
  });
});
