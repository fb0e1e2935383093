/**
 * The redacted wire transcript of a failed deploy run (issue 12 item 5). The deploy activities run
 * against real peers (the F5 fake answering an error on key install; nginx behind a real sshd with a
 * config broken by a key that does not match), the run fails, and the console offers the download:
 * it shows what the device said and none of the secrets of the run (the device password or SSH key,
 * the version's private key, a foreign key) in any form the secrets audit searches for
 * (test/support/secret-forms.ts). Technicians download it (audited), read-only users cannot; a run
 * that deployed keeps no transcript.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { sealTargetCredentials } from '../../activities/crypto/bound-secrets';
import { getRun } from '../../activities/db/repositories/deployment-runs';
import { getTarget } from '../../activities/db/repositories/targets';
import { createDeployActivities } from '../../activities/deploy';
import type { CertificateMaterial } from '../../activities/deployers/types';
import { activityDepsFrom } from '../../worker/activity-deps';
import { loadWorkerConfig } from '../../worker/config';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { createTestCa } from '../support/certificates';
import { startConsoleApp, type ConsoleApp } from '../support/console-app';
import type { ConsoleClient } from '../support/console-client';
import { Finder, keyNeedles, needlesOf, opensshKeyNeedles, type Needle } from '../support/secret-forms';
import { ONE_DEPLOYMENT } from '../support/seed';
import { seedFleetDeployment, startNumberedRun, storeVersionMaterial } from '../support/seeded-deployment';
import { sshdAvailable, startSshd, type TestSshd } from '../support/sshd';
import { nginxAvailable, sshTargetContext, startNginx, type TestWebServer } from '../support/webservers';

const F5_PASSWORD = `f5-transcript-pw-${Date.now()}`;
const DEVICE_ERROR = '01070712:3: Caught SSL exception: transcript-test key install refused by the device';

describe('the redacted wire transcript of a failed deploy run', () => {
  let c: ConsoleApp;
  let bigip: FakeBigip;
  let tech: ConsoleClient;
  let viewer: ConsoleClient;
  let deploymentId: string;
  let targetId: string;
  let versionId: string;
  let version: CertificateMaterial;
  const ca = createTestCa();
  let activities: ReturnType<typeof createDeployActivities>;
  const closers: (() => Promise<void>)[] = [];
  let runCounter = 0;

  /** Points the seeded target at a peer: vendor, address, pin and options first, then credentials sealed for that endpoint. */
  const pointTarget = async (
    vendor: string,
    host: string,
    port: number,
    fingerprint: string,
    options: Record<string, unknown>,
    credentials: Record<string, string>,
    binding: Record<string, unknown>,
  ) => {
    await c.db.db.query(
      'UPDATE targets SET vendor = $2, host = $3, port = $4, trust_fingerprint = $5, options = $6 WHERE id = $1',
      [targetId, vendor, host, port, fingerprint, JSON.stringify(options)],
    );
    const target = (await getTarget(c.db.db, targetId)) ?? assert.fail('seeded target');
    await c.db.db.query('UPDATE targets SET credentials_encrypted = $2 WHERE id = $1', [
      targetId,
      sealTargetCredentials(c.box, target, credentials),
    ]);
    await c.db.db.query('UPDATE deployments SET binding = $2 WHERE id = $1', [deploymentId, JSON.stringify(binding)]);
  };

  const newRun = async (): Promise<string> => {
    runCounter += 1;
    return startNumberedRun(c.db.db, { deploymentId, versionId }, 'transcript', runCounter);
  };

  const failure = async (promise: Promise<unknown>): Promise<Error> =>
    promise.then(
      () => assert.fail('the step succeeded'),
      (error: unknown) => error as Error,
    );

  /** Downloads the transcript as a technician: a text/plain attachment. */
  const download = async (runId: string): Promise<string> => {
    const response = await tech.getBytes(`/deployments/${deploymentId}/runs/${runId}/transcript`);
    assert.equal(response.status, 200, response.body.toString('utf8'));
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(
      response.headers.get('content-disposition') ?? '',
      /^attachment; filename="?certfleet-transcript-deployment-\d+-run-\d+\.txt/,
    );
    if (process.env['TRANSCRIPT_OUT']) writeFileSync(`${process.env['TRANSCRIPT_OUT']}-${runId}.txt`, response.body);
    return response.body.toString('utf8');
  };

  const assertNoSecret = (text: string, needles: Needle[]): void => {
    const hits = new Finder(needles).find(text);
    assert.deepEqual(
      hits.map((h) => `${h.needle.label} (${h.needle.form}) at ${h.index}`),
      [],
      'no secret in the transcript',
    );
  };

  const versionKeyNeedles = (): Needle[] =>
    keyNeedles('key', 'version key', version.keyPem, createPrivateKey(version.keyPem));

  before(async () => {
    c = await startConsoleApp();
    bigip = await startFakeBigip({ profiles: ['clientssl-web'], password: F5_PASSWORD });
    closers.push(() => bigip.close());
    tech = await c.signedIn('technician');
    viewer = await c.signedIn('readonly');
    ({ id: deploymentId, targetId, versionId } = await seedFleetDeployment(c, ONE_DEPLOYMENT));
    version = ca.issue('vpn.example.test');
    await storeVersionMaterial(c, versionId, version);
    const config = loadWorkerConfig({ DATABASE_URL: 'postgres://127.0.0.1/unused' });
    activities = createDeployActivities(
      activityDepsFrom(config, { db: c.db.db, box: c.box, log: pino({ level: 'silent' }) }),
    );
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    ca.dispose();
    await c?.stop();
  });

  it("F5 refusing the key install: the transcript shows the device's error response and no password, token or key", async () => {
    await pointTarget(
      'f5-bigip',
      bigip.host,
      bigip.port,
      bigip.managementFingerprint,
      {},
      { username: bigip.username, password: F5_PASSWORD },
      { profiles: 'clientssl-web' },
    );
    bigip.failNext(/sys\/crypto\/(key|pkcs12)/, {
      status: 400,
      body: { code: 400, message: DEVICE_ERROR, errorStack: [] },
      times: 5,
    });
    const runId = await newRun();
    const error = await failure(activities.stageDeployment({ runRowId: runId }));
    assert.match(error.message, /transcript-test key install refused/);
    await activities.finishDeploymentRun({ runRowId: runId, outcome: 'failed', error: error.message });

    const text = await download(runId);
    assert.match(text, /^CertFleet wire transcript: \S+ -> \S+ \(f5-bigip\)$/m);
    assert.ok(text.includes(DEVICE_ERROR), `the device's error response is in the transcript:\n${text}`);
    assert.match(
      text,
      /> POST \/mgmt\/shared\/authn\/login\naccept: application\/json\ncontent-type: application\/json\n/,
      'the headers as sent',
    );
    assert.match(text, /< 400/);
    assert.match(text, /x-f5-auth-token: \(removed\)/i, 'the session token header is removed');
    assert.ok(text.includes(`"username": "${bigip.username}"`), 'the user name stays readable');
    assert.match(text, /\(binary body, \d+ bytes, removed\)/, 'the uploaded key file is removed by construction');
    assertNoSecret(text, [
      ...needlesOf('password', 'F5 password', [{ form: 'plain', text: F5_PASSWORD }]),
      ...versionKeyNeedles(),
    ]);

    // Read-only users do not get it (it shows internal addresses); the download is audited.
    assert.equal((await viewer.getBytes(`/deployments/${deploymentId}/runs/${runId}/transcript`)).status, 403);
    const [audit] = await c.db.db.query<{ actor: string; after: unknown }>(
      "SELECT actor, after FROM audit_log WHERE action = 'deployment.download-transcript' ORDER BY id DESC LIMIT 1",
    );
    assert.deepEqual(audit?.after, { runId });
    // The deployment page links it for technicians only.
    assert.ok(
      (await tech.get(`/deployments/${deploymentId}`)).text.includes(
        `/deployments/${deploymentId}/runs/${runId}/transcript`,
      ),
    );
    assert.ok(!(await viewer.get(`/deployments/${deploymentId}`)).text.includes('/transcript'));
    // A run of another deployment, or a made-up run: 404.
    assert.equal((await tech.getBytes(`/deployments/${deploymentId}/runs/999999/transcript`)).status, 404);
    assert.equal((await tech.getBytes(`/deployments/${deploymentId}/runs/x/transcript`)).status, 404);
  });

  it('a run that deployed keeps no transcript', async () => {
    bigip.clearFailures();
    const runId = await newRun();
    await activities.stageDeployment({ runRowId: runId });
    const activation = await activities.activateDeployment({ runRowId: runId });
    assert.equal(activation.jobId, undefined);
    const before = await c.db.db.query('SELECT 1 FROM deployment_run_exchanges WHERE run_id = $1', [runId]);
    assert.ok(before.length > 0, 'the steps were recorded while the run was open');
    await activities.finishDeploymentRun({ runRowId: runId, outcome: 'deployed' });
    assert.equal((await getRun(c.db.db, runId))?.outcome, 'deployed');
    assert.equal((await tech.getBytes(`/deployments/${deploymentId}/runs/${runId}/transcript`)).status, 404);
  });

  it(
    'nginx over SSH with a config broken by a mismatched key: the transcript has the commands and nginx -t output, no SSH key or private key',
    { skip: !(sshdAvailable() && nginxAvailable()) && 'needs sshd and nginx' },
    async () => {
      const sshd: TestSshd = await startSshd();
      closers.push(() => sshd.stop());
      const web: TestWebServer = await startNginx();
      closers.push(() => web.stop());
      const ctx = sshTargetContext(sshd, web);
      await pointTarget(
        'nginx',
        sshd.host,
        sshd.port,
        sshd.hostKeyHex,
        ctx.target.options,
        ctx.target.credentials,
        ctx.binding,
      );
      const runId = await newRun();
      await activities.stageDeployment({ runRowId: runId });
      const staged = (await getRun(c.db.db, runId))?.stagedObjects ?? assert.fail('staged');
      // The staged key is replaced after staging by one that does not match the certificate: nginx -t fails.
      const foreign = createTestCa();
      const foreignKey = foreign.issue('foreign.example.test').keyPem;
      foreign.dispose();
      writeFileSync(staged['key'] ?? assert.fail('a staged key file'), foreignKey, { mode: 0o600 });
      const error = await failure(activities.activateDeployment({ runRowId: runId }));
      assert.match(error.message, /config test/);
      await activities.finishDeploymentRun({ runRowId: runId, outcome: 'failed', error: error.message });

      const text = await download(runId);
      assert.match(text, /^\$ .*nginx.* -t/m, `the config test command is in the transcript:\n${text}`);
      assert.match(text, /key values mismatch|test failed/, 'nginx -t output is in the transcript');
      assert.match(
        text,
        /SFTP: wrote \S+ \(\d+ bytes, mode 600; contents not recorded\)/,
        'the key file write is noted, without its contents',
      );
      assertNoSecret(text, [
        ...opensshKeyNeedles('ssh', 'SSH private key', sshd.privateKey).needles,
        ...versionKeyNeedles(),
        ...keyNeedles('key', 'foreign key', foreignKey, createPrivateKey(foreignKey)),
      ]);
    },
  );
});
