/**
 * One SonicWall, one admin session: 20 renewals deploy to it concurrently with two worker processes;
 * the device coordinator hands the session out one at a time (no refused login, never two sessions, none left open).
 * A worker killed mid-session: the retried step ends the dead session (logout with our credentials) before it logs in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { certificateWorkflowId, type LifecycleResult } from '../../temporal/contract';
import { startFakeSonicWall, type FakeSonicWall } from '../fakes/sonicwall/server';
import type { ConsoleClient } from '../support/console-client';
import { addSonicWallTarget, linkDeployment, renewNow, waitForRunToEnd } from '../support/console-actions';
import { startFtpServer, type TestFtpServer } from '../support/ftp';
import { signInWithIssuer, startStackWithClient, type ConsoleIssuer } from '../support/issuing-stack';
import type { Stack } from '../support/stack';

describe('SonicWall: one session at a time across workers', () => {
  let stack: Stack;
  let client: Client;
  let admin: ConsoleClient;
  let sonicwall: FakeSonicWall;
  let ftp: TestFtpServer;
  let targetId: string;
  let issuer: ConsoleIssuer;
  const PASSWORD = 'sw-admin-password-1';

  before(async () => {
    ({ stack, client } = await startStackWithClient({
      env: {
        DEVICE_BUSY_RETRY_MS: '300',
        DEPLOY_DEVICE_RETRY_INITIAL_MS: '200',
        DEPLOY_DEVICE_RETRY_ATTEMPTS: '40',
        DEVICE_COORDINATOR_IDLE_MS: '5000',
      },
    }));
    ftp = await startFtpServer({ directories: ['certfleet'] });
    sonicwall = await startFakeSonicWall({ users: { admin: PASSWORD }, idleTimeoutMs: 3_000 });
    await Promise.all([stack.startWorker(), stack.startWorker()]);
    issuer = await signInWithIssuer(stack, 'SonicWall tests');
    admin = issuer.admin;
    targetId = await addSonicWallTarget(admin, 'SW Munich', sonicwall, ftp, { admin: PASSWORD, ftp: ftp.password });
  });
  after(async () => {
    await sonicwall?.close();
    await ftp?.close();
    await stack?.stop();
  });

  it('20 renewals at once with two workers: all deployed in turn, no refused login, never two sessions', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await issuer.request(`site${i}.example.test`));
    for (const id of ids) await waitForRunToEnd(admin, id);
    for (const id of ids) await linkDeployment(admin, id, targetId, { sslVpn: 'on' }, [sonicwall.endpoints.sslVpn]);
    const loginsBefore = sonicwall.loginsByUser['admin'] ?? 0;
    await Promise.all(ids.map((id) => renewNow(admin, id)));
    const results = await Promise.all(
      ids.map((id) => client.workflow.getHandle(certificateWorkflowId(id)).result() as Promise<LifecycleResult>),
    );
    for (const result of results) {
      assert.equal(result.outcome, 'issued', JSON.stringify(result));
      assert.deepEqual(
        result.deployments?.map((d) => d.outcome),
        ['deployed'],
      );
    }
    assert.equal(sonicwall.maxConcurrentSessions(), 1, 'never two sessions on the firewall');
    assert.equal(sonicwall.refusedLogins(), 0, 'no login was refused');
    assert.ok(
      (sonicwall.loginsByUser['admin'] ?? 0) - loginsBefore >= 20 * 2,
      'stage and activate of every deploy each had their own session',
    );
    assert.equal(sonicwall.activeSessions(), 0, 'no session left open');
    assert.deepEqual(sonicwall.ftpPulls, [], 'SonicOS 7: imported by upload, not over FTP');
    assert.ok(
      sonicwall.calls.every(
        (c) => !c.cookie && (c.path === '/api/sonicos/auth' || c.auth === 'digest' || c.status === 401),
      ),
      'session security: Digest on every call, no cookie',
    );
    // The 20 runs were served one after another: their verify steps never overlap.
    const verifies = await stack.db.db.query<{ started: Date; ended: Date }>(
      `SELECT min(s.at) AS started, max(s.at) AS ended FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id
        JOIN deployments d ON d.id = r.deployment_id WHERE d.target_id = $1 AND r.trigger = 'lifecycle' GROUP BY r.id ORDER BY min(s.at)`,
      [targetId],
    );
    assert.equal(verifies.length, 20);
    for (let i = 1; i < verifies.length; i++) {
      assert.ok(
        (verifies[i]?.started.getTime() ?? 0) >= (verifies[i - 1]?.ended.getTime() ?? 0),
        `run ${i} started after run ${i - 1} ended`,
      );
    }
  });

  it('a worker killed mid-session (SonicOS 6.5, FTP import): the retried step logs the dead session out first, then proceeds', async () => {
    // A firewall that would keep the dead session for 25 s: the retry must not wait for that, nor
    // pre-empt anyone; it ends CertFleet's own leftover session (DELETE /api/sonicos/auth).
    const sonicwall = await startFakeSonicWall({
      users: { admin: PASSWORD },
      idleTimeoutMs: 25_000,
      firmware: 'SonicOS Enhanced 6.5.4.4-44n',
    });
    after(() => sonicwall.close());
    const slowTarget = await addSonicWallTarget(admin, 'SW Hamburg', sonicwall, ftp, {
      admin: PASSWORD,
      ftp: ftp.password,
    });
    const { id } = await issuer.issue('killed.example.test');
    await linkDeployment(admin, id, slowTarget, { sslVpn: 'on' }, [sonicwall.endpoints.sslVpn]);
    let reached!: () => void;
    const inImport = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    sonicwall.beforeNext(/cert-key-pair-ftp/, async () => {
      reached();
      await held;
    });
    const refusedBefore = sonicwall.refusedLogins();
    await renewNow(admin, id);
    await inImport;
    for (const worker of stack.workers) worker.child.kill('SIGKILL');
    await Promise.all(stack.workers.map((w) => w.exited));
    release();
    await stack.startWorker();
    const result = (await client.workflow.getHandle(certificateWorkflowId(id)).result()) as LifecycleResult;
    assert.equal(result.outcome, 'issued', JSON.stringify(result));
    assert.deepEqual(
      result.deployments?.map((d) => d.outcome),
      ['deployed'],
    );
    assert.equal(sonicwall.refusedLogins(), refusedBefore, 'the dead session was ended before the next login');
    assert.ok(
      sonicwall.calls.every((c) => c.override !== true),
      'nobody was pre-empted',
    );
    assert.ok(
      sonicwall.sessions().every((s) => s.state === 'logout'),
      'every session ended by a logout, none by the idle timeout',
    );
    assert.equal(sonicwall.activeSessions(), 0, 'no session left open');
    assert.equal(sonicwall.maxConcurrentSessions(), 1);
    const [current] = await stack.db.db.query<{ fingerprint_sha256: string }>(
      'SELECT v.fingerprint_sha256 FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = $1',
      [id],
    );
    assert.ok(current);
    await verifyServedFingerprint('sonicwall', [sonicwall.endpoints.sslVpn], current.fingerprint_sha256);
    assert.deepEqual(ftp.files(), [], 'the leftover PKCS#12 of the dead session was removed');
  });
});
