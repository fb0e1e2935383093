/**
 * A deploy's opening (openDeploymentRun, one local activity) against a real PostgreSQL: its authority
 * (the deployment and the version's certificate in one statement), the run row opened and the
 * deployment marked deploying in one statement, and the target's maintenance windows read alone.
 * What each refuses, it refuses before anything is written.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { createCommandActivities } from '../../activities/commands';
import { createSecretBox, SecretPurpose } from '../../activities/crypto/secret-box';
import { createDeployActivities } from '../../activities/deploy';
import { createDeployOpening } from '../../activities/deploy-opening';
import { checkMaintenanceWindows } from '../../activities/domain/maintenance-window';
import { ClassifiedError } from '../../activities/errors';
import { certificateWorkflowId, FailureType, type DeployAuthorityRequest } from '../../temporal/contract';
import { activityDepsFrom } from '../../worker/activity-deps';
import { loadWorkerConfig } from '../../worker/config';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { seedFleet } from '../support/seed';

describe('openDeploymentRun: authority, run row and maintenance window', () => {
  let database: TestDatabase;
  let opening: ReturnType<typeof createDeployOpening>;
  let deploy: ReturnType<typeof createDeployActivities>;
  let deploymentId = '';
  let certificateId = '';
  let versionId = '';
  let targetId = '';
  /** A version of another certificate. */
  let foreignVersionId = '';
  const box = createSecretBox(randomBytes(32));
  let runs = 0;

  const request = (over: Partial<DeployAuthorityRequest> = {}): DeployAuthorityRequest => ({
    deploymentId,
    versionId,
    trigger: 'lifecycle',
    workflowId: `deploy:${certificateId}:${deploymentId}`,
    runId: `run-${++runs}`,
    parentWorkflowId: certificateWorkflowId(certificateId),
    ...over,
  });

  const written = async (): Promise<{ runs: number; steps: number; status: string }> => {
    const [row] = await database.db.query<{ runs: number; steps: number; status: string }>(
      `SELECT (SELECT count(*)::int FROM deployment_runs) AS runs, (SELECT count(*)::int FROM deployment_run_steps) AS steps,
              (SELECT status FROM deployments WHERE id = $1) AS status`,
      [deploymentId],
    );
    assert.ok(row);
    return row;
  };

  before(async () => {
    database = await createTestDatabase();
    await seedFleet(
      database.db,
      { customers: 1, certificates: 2, targetsPerCustomer: 1, deploymentRuns: 0, auditEntries: 0 },
      box.seal('placeholder', SecretPurpose.versionKey),
    );
    const rows = await database.db.query<{ id: string; certificate_id: string; version: string; target_id: string }>(
      'SELECT id, certificate_id, current_version_id AS version, target_id FROM deployments ORDER BY id',
    );
    const [first, second] = rows;
    assert.ok(first && second && first.certificate_id !== second.certificate_id);
    ({ id: deploymentId, certificate_id: certificateId, version: versionId, target_id: targetId } = first);
    foreignVersionId = second.version;
    const deps = activityDepsFrom(loadWorkerConfig({ DATABASE_URL: 'postgres://127.0.0.1/unused' }), {
      db: database.db,
      box,
      log: pino({ level: 'silent' }),
    });
    const commands = createCommandActivities(deps);
    deploy = createDeployActivities(deps);
    opening = createDeployOpening({ ...deploy, authorizeDeploy: (input) => commands.authorizeDeploy(input) });
  });
  after(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    await database.db.query('DELETE FROM deployment_run_steps');
    await database.db.query('DELETE FROM deployment_runs');
    await database.db.query("UPDATE deployments SET status = 'deployed', last_error = 'earlier', deleted_at = NULL");
    await database.db.query('UPDATE targets SET maintenance = NULL');
  });

  it("the certificate's own run: one row opened, the deployment deploying, in window; a retry returns the same row", async () => {
    const input = request();
    const opened = await opening.openDeploymentRun(input);
    assert.ok('start' in opened && 'runRowId' in opened.start, JSON.stringify(opened));
    assert.equal(opened.start.targetId, targetId);
    assert.match(opened.start.targetName, /\S/);
    assert.deepEqual(opened.maintenance, { inWindow: true });
    assert.deepEqual(await written(), { runs: 1, steps: 0, status: 'deploying' });
    const [row] = await database.db.query<{ last_error: string | null; trigger: string; version_id: string }>(
      'SELECT d.last_error, r.trigger, r.version_id FROM deployments d JOIN deployment_runs r ON r.deployment_id = d.id WHERE r.id = $1',
      [opened.start.runRowId],
    );
    assert.deepEqual(row, { last_error: null, trigger: 'lifecycle', version_id: versionId });

    const again = await opening.openDeploymentRun(input);
    assert.ok('start' in again);
    assert.deepEqual(again.start, opened.start, 'the retried opening returns the same row');
    assert.equal((await written()).runs, 1);
  });

  for (const [label, over, why] of [
    [
      'a version of another certificate',
      () => ({ versionId: foreignVersionId }),
      /is not a version of this deployment's certificate/,
    ],
    [
      'a version id that is no id',
      () => ({ versionId: '1; DROP TABLE x' }),
      /is not a version of this deployment's certificate/,
    ],
    [
      'a version that does not exist',
      () => ({ versionId: '987654321' }),
      /is not a version of this deployment's certificate/,
    ],
    ['a deployment that does not exist', () => ({ deploymentId: '987654321' }), /deployment 987654321 does not exist/],
    ['a deployment id that is no id', () => ({ deploymentId: 'x' }), /deployment x does not exist/],
    [
      "a lifecycle deploy not started by the certificate's run",
      () => ({ parentWorkflowId: 'cert:elsewhere' }),
      /certificate's own run/,
    ],
  ] as const)
    it(`refuses ${label}, writing nothing but the rejection`, async () => {
      const before = await written();
      const opened = await opening.openDeploymentRun(request(over()));
      assert.ok('refused' in opened, JSON.stringify(opened));
      assert.match(opened.refused, why);
      assert.deepEqual(await written(), before);
    });

  it('refuses a deleted deployment; one deleted after its authority was checked opens nothing', async () => {
    await database.db.query('UPDATE deployments SET deleted_at = now() WHERE id = $1', [deploymentId]);
    const refused = await opening.openDeploymentRun(request());
    assert.ok('refused' in refused && /does not exist/.test(refused.refused), JSON.stringify(refused));
    await assert.rejects(
      deploy.startDeploymentRun({ ...request(), trigger: 'lifecycle' }),
      (error: unknown) =>
        error instanceof ClassifiedError &&
        error.type === FailureType.notFound &&
        /no longer exists/.test(error.message),
    );
    assert.deepEqual(await written(), { runs: 0, steps: 0, status: 'deployed' });
  });

  it("outside the target's maintenance window: the run waits, its step and the deployment say until when", async () => {
    // A daily window of one minute, twelve hours from now: never open now (written as the console writes it).
    const now = new Date();
    const hhmm = (d: Date): string =>
      `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const opens = new Date(now.getTime() + 12 * 3600_000);
    const windows = checkMaintenanceWindows('UTC', `daily ${hhmm(opens)}-${hhmm(new Date(opens.getTime() + 60_000))}`);
    assert.ok(windows.ok && windows.value);
    await database.db.query('UPDATE targets SET maintenance = $2 WHERE id = $1', [
      targetId,
      JSON.stringify(windows.value),
    ]);
    const opened = await opening.openDeploymentRun(request());
    assert.ok('start' in opened && 'runRowId' in opened.start, JSON.stringify(opened));
    assert.equal(opened.maintenance?.inWindow, false);
    assert.ok(opened.maintenance?.opensAt && Date.parse(opened.maintenance.opensAt) > now.getTime());
    const [step] = await database.db.query<{ step: string; status: string; detail: string }>(
      'SELECT step, status, detail FROM deployment_run_steps WHERE run_id = $1',
      [opened.start.runRowId],
    );
    assert.equal(step?.step, 'maintenance window');
    assert.equal(step?.status, 'started');
    assert.match(step?.detail ?? '', /when the maintenance window opens/);
    assert.equal((await written()).status, 'waiting');
  });
});
