/**
 * Deploying on the real stack: Pebble issues, the lifecycle deploys to fake appliances in parallel,
 * each deploy is verified by a TLS handshake with the fake's service port. A stale certificate after
 * "success" rolls back; an outage fails the target without blocking the others; "Retry" in the
 * console signals the waiting renewal run, which then closes as issued.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import {
  certificateWorkflowId,
  deploymentWorkflowId,
  progressQuery,
  type LifecycleResult,
} from '../../temporal/contract';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { startFakeFortiGate, type FakeFortiGate } from '../fakes/fortigate/server';
import { startFakePanos, type FakePanos } from '../fakes/panos/server';
import type { ConsoleClient } from '../support/console-client';
import { applianceTarget, fortigateTarget } from '../support/appliance-targets';
import { addTarget, linkDeployment, renewNow } from '../support/console-actions';
import { fastDeployEnv, signInWithIssuer, startStackWithClient } from '../support/issuing-stack';
import { eventually, type Stack } from '../support/stack';

describe('deploying a renewed certificate to appliances', () => {
  let stack: Stack;
  let client: Client;
  let admin: ConsoleClient;
  let bigip: FakeBigip;
  let panos: FakePanos;
  let fortigate: FakeFortiGate;
  const FORTIGATE_TOKEN = 'fgt-token-integration-1';
  let certificateId: string;
  const deploymentIds: Record<string, string> = {};

  const currentFingerprint = async (): Promise<string> => {
    const rows = await stack.db.db.query<{ fingerprint_sha256: string }>(
      'SELECT v.fingerprint_sha256 FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = $1',
      [certificateId],
    );
    assert.ok(rows[0]);
    return rows[0].fingerprint_sha256;
  };
  const lifecycleResult = async (): Promise<LifecycleResult> =>
    (await client.workflow.getHandle(certificateWorkflowId(certificateId)).result()) as LifecycleResult;
  /** "Renew now", then the run's progress once it waits for a retry of its failed targets. */
  const renewUntilAwaitingRetry = async () => {
    await renewNow(admin, certificateId);
    const lifecycle = client.workflow.getHandle(certificateWorkflowId(certificateId));
    return eventually(
      'the run to wait for retries',
      async () => {
        const progress = await lifecycle.query(progressQuery).catch(() => undefined);
        return progress?.awaitingRetry ? progress : undefined;
      },
      90_000,
    );
  };

  before(async () => {
    ({ stack, client } = await startStackWithClient({ env: fastDeployEnv(120_000, 2) }));
    [bigip, panos, fortigate] = await Promise.all([
      startFakeBigip({ profiles: ['clientssl-web'] }),
      startFakePanos({ profiles: [{ name: 'gp-portal' }] }),
      startFakeFortiGate({ token: FORTIGATE_TOKEN }),
    ]);
    await stack.startWorker();
    const issuer = await signInWithIssuer(stack, 'Deploy tests');
    admin = issuer.admin;
    certificateId = (await issuer.issue('vpn.example.test')).id;

    const bigipId = await addTarget(admin, applianceTarget('f5-bigip', 'LB Berlin', bigip));
    const panosId = await addTarget(admin, applianceTarget('panos', 'FW Paris', panos));
    const fortigateId = await addTarget(admin, fortigateTarget('FW Lyon', fortigate, FORTIGATE_TOKEN));
    await linkDeployment(admin, certificateId, fortigateId, { adminGui: 'on', sslVpn: 'on' }, []);
    await linkDeployment(admin, certificateId, bigipId, { profiles: 'clientssl-web' }, bigip.endpoints);
    await linkDeployment(admin, certificateId, panosId, { profiles: 'gp-portal' }, panos.endpoints);
    const rows = await stack.db.db.query<{ id: string; name: string }>(
      'SELECT d.id, t.name FROM deployments d JOIN targets t ON t.id = d.target_id WHERE d.certificate_id = $1',
      [certificateId],
    );
    for (const row of rows) deploymentIds[row.name] = row.id;
  });
  after(async () => {
    await Promise.all([bigip?.close(), panos?.close(), fortigate?.close()]);
    await stack?.stop();
  });

  it('renews and deploys to every target in parallel; each serves the new certificate', async () => {
    await renewNow(admin, certificateId);
    const result = await lifecycleResult();
    assert.equal(result.outcome, 'issued', JSON.stringify(result));
    assert.deepEqual(result.deployments?.map((d) => [d.targetName, d.outcome]).sort(), [
      ['FW Lyon', 'deployed'],
      ['FW Paris', 'deployed'],
      ['LB Berlin', 'deployed'],
    ]);
    const fingerprint = await currentFingerprint();
    // FortiGate: admin GUI and SSL-VPN serve it (the default endpoints of its binding); the pin follows the new admin certificate.
    await verifyServedFingerprint(
      'fortigate',
      [fortigate.endpoints.admin, ...(fortigate.endpoints.sslVpn ? [fortigate.endpoints.sslVpn] : [])],
      fingerprint,
    );
    const [pinned] = await stack.db.db.query<{ trust_fingerprint: string }>(
      "SELECT trust_fingerprint FROM targets WHERE name = 'FW Lyon'",
    );
    assert.equal(pinned?.trust_fingerprint, fingerprint);
    await verifyServedFingerprint('f5-bigip', bigip.endpoints, fingerprint);
    await verifyServedFingerprint('panos', panos.endpoints, fingerprint);
    assert.ok(bigip.savedConfigCount() >= 1, 'the BIG-IP config was saved');

    const statuses = await stack.db.db.query<{ status: string; current_version_id: string }>(
      'SELECT status, current_version_id FROM deployments WHERE certificate_id = $1',
      [certificateId],
    );
    assert.equal(statuses.length, 3);
    assert.ok(statuses.every((s) => s.status === 'deployed'));
    const steps = await stack.db.db.query<{ step: string; status: string }>(
      `SELECT s.step, s.status FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id WHERE r.deployment_id = $1 ORDER BY s.id`,
      [deploymentIds['FW Paris']],
    );
    const succeeded = steps.filter((s) => s.status === 'succeeded').map((s) => s.step);
    for (const step of ['stage', 'activate', 'commit', 'verify', 'finish'])
      assert.ok(succeeded.includes(step), `history has ${step}: ${succeeded.join(', ')}`);
    // verify checked the served chain (leaf + the ACME chain's intermediates), recorded as fingerprints and counts only
    const verified = await stack.db.db.query<{ detail: string }>(
      `SELECT s.detail FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id WHERE r.deployment_id = ANY($1::bigint[]) AND s.step = 'verify' AND s.status = 'succeeded'`,
      [Object.values(deploymentIds)],
    );
    assert.ok(verified.length >= 3, `one verify per target: ${verified.length}`);
    for (const { detail } of verified)
      for (const line of detail.split('; '))
        assert.match(line, new RegExp(`: ${fingerprint} \\+ [1-9]\\d* intermediate\\(s\\)$`));
    // Devices bound at once (BIG-IP, FortiGate) were verified inside their device step, which the
    // deploy's first activity made with its opening: their deploy runs scheduled that one activity and
    // no verify. PAN-OS commits a job first, then verifies as its own activity.
    const scheduled = async (target: string): Promise<string[]> => {
      const deploy = client.workflow.getHandle(deploymentWorkflowId(certificateId, deploymentIds[target] ?? ''));
      return ((await deploy.fetchHistory()).events ?? []).flatMap(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
      );
    };
    for (const target of ['LB Berlin', 'FW Lyon']) {
      const activities = await scheduled(target);
      assert.deepEqual(activities, ['deployFirstAttempt'], target);
    }
    assert.ok((await scheduled('FW Paris')).includes('verifyDeployment'));
    const mail = await stack.smtp.waitFor(
      (m) => m.subject.includes('Issued vpn.example.test') && m.text.includes('LB Berlin'),
      10_000,
    );
    assert.match(mail.text, /FW Paris: deployed/);

    const page = await admin.get(`/certificates/${certificateId}`);
    assert.match(
      page.text,
      /<table id="deployments">[\s\S]*deploy-deployed[\s\S]*deploy-deployed[\s\S]*deploy-deployed/,
    );
  });

  it('a stale certificate after "success" rolls back; an outage fails only its target; Retry completes the run', async () => {
    const before = await currentFingerprint();
    panos.serveStale(true);
    bigip.failNext(/file-transfer\/uploads/, { status: 503, times: 20 });
    const waiting = await renewUntilAwaitingRetry();
    const byTarget = Object.fromEntries((waiting.deployments ?? []).map((d) => [d.targetName, d]));
    assert.equal(byTarget['FW Paris']?.outcome, 'rolled_back');
    assert.match(byTarget['FW Paris']?.reason ?? '', /verify failed/);
    assert.equal(byTarget['LB Berlin']?.outcome, 'failed');
    assert.equal(byTarget['FW Lyon']?.outcome, 'deployed', 'the healthy firewall is not blocked by the others');
    assert.match(byTarget['LB Berlin']?.reason ?? '', /503|unreachable|server/i);
    // The rolled-back firewall serves the previous version again; the failed balancer never changed.
    panos.serveStale(false);
    await verifyServedFingerprint('panos', panos.endpoints, before);
    await verifyServedFingerprint('f5-bigip', bigip.endpoints, before);
    const page = await admin.get(`/certificates/${certificateId}`);
    assert.match(page.text, /Waiting for a retry of the failed targets/);
    await stack.smtp.waitFor(
      (m) => m.subject.includes('DEPLOY FAILED') && m.text.includes('LB Berlin: failed'),
      10_000,
    );

    // The outage ends; a technician clicks Retry on both deployments.
    bigip.clearFailures();
    for (const name of ['LB Berlin', 'FW Paris']) {
      await admin.get(`/deployments/${deploymentIds[name]}`);
      const retried = await admin.post(`/deployments/${deploymentIds[name]}/retry`, {});
      assert.equal(retried.status, 303, retried.text.slice(0, 500));
    }
    const result = await lifecycleResult();
    assert.equal(result.outcome, 'issued', JSON.stringify(result));
    const after = await currentFingerprint();
    assert.notEqual(after, before);
    await verifyServedFingerprint('f5-bigip', bigip.endpoints, after);
    await verifyServedFingerprint('panos', panos.endpoints, after);
    await verifyServedFingerprint('fortigate', [fortigate.endpoints.admin], after);
  });

  it('a target whose address is not allowed fails at once, without retries and with the reason in its history; allowed again, Retry deploys', async () => {
    await admin.get('/settings/networks');
    assert.equal((await admin.post('/settings/networks', { allowed: '10.0.0.0/8' })).status, 303);
    try {
      const waiting = await renewUntilAwaitingRetry();
      assert.equal(waiting.deployments?.length, 3);
      for (const d of waiting.deployments ?? []) {
        assert.equal(d.outcome, 'failed', d.targetName);
        assert.match(
          d.reason ?? '',
          /refused to connect: 127\.0\.0\.1 is not in the networks targets may point to/,
          d.targetName,
        );
      }
      const steps = await stack.db.db.query<{ step: string; status: string; detail: string | null }>(
        `SELECT s.step, s.status, s.detail FROM deployment_run_steps s
          WHERE s.run_id = (SELECT max(id) FROM deployment_runs WHERE deployment_id = $1) ORDER BY s.id`,
        [deploymentIds['LB Berlin']],
      );
      const stage = steps.filter((s) => s.step === 'stage');
      assert.deepEqual(
        stage.map((s) => s.status),
        ['started', 'failed'],
        `one attempt, recorded as failed: ${JSON.stringify(steps)}`,
      );
      assert.match(stage[1]?.detail ?? '', /TARGET_ADDRESS_REFUSED|refused to connect/);
    } finally {
      assert.equal((await admin.post('/settings/networks', { allowed: '' })).status, 303);
    }
    for (const id of Object.values(deploymentIds)) {
      await admin.get(`/deployments/${id}`);
      assert.equal((await admin.post(`/deployments/${id}/retry`, {})).status, 303);
    }
    const result = await lifecycleResult();
    assert.equal(result.outcome, 'issued', JSON.stringify(result));
  });
});
