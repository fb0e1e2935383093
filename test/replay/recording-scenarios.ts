/**
 * Real runs of every workflow type, for test/replay/record-histories.ts: the stack of the integration
 * tests (PostgreSQL, Temporal, Pebble, the fake Cloudflare, SMTP, a worker process) driven through the
 * console as a technician would, plus the fleet schedules triggered once. Nothing here is a mock: the
 * histories are what production records for the same clicks.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import {
  FLEET_SCHEDULE_IDS,
  renewalScheduleId,
  SCHEDULE_HEALTH_SCHEDULE_ID,
  WorkflowType,
} from '../../temporal/contract';
import { startFakeSonicWall, type FakeSonicWall } from '../fakes/sonicwall/server';
import { addSonicWallTarget, linkDeployment, renewNow, waitForRunToEnd } from '../support/console-actions';
import { startFtpServer, type TestFtpServer } from '../support/ftp';
import { signInWithIssuer } from '../support/issuing-stack';
import { CLOUDFLARE_TOKEN, eventually, type AnyStack, type StackOptions } from '../support/stack';

const SONICWALL_PASSWORD = 'sw-admin-password-1';

/** Short waits, so every run ends within the recording (a device session ends when idle). */
export const RECORDING_STACK: StackOptions = {
  env: {
    DEVICE_BUSY_RETRY_MS: '300',
    DEPLOY_DEVICE_RETRY_INITIAL_MS: '200',
    DEPLOY_DEVICE_RETRY_ATTEMPTS: '10',
    DEPLOY_COMMIT_POLL_MS: '100',
    DEPLOY_RETRY_WINDOW_MS: '2000',
    DEVICE_COORDINATOR_IDLE_MS: '2000',
    REVOCATION_POLL_MS: '200',
    REVOCATION_WAIT_MS: '60000',
  },
};

export interface RecordingPeers {
  sonicwall: FakeSonicWall;
  ftp: TestFtpServer;
  close(): Promise<void>;
}

export async function startRecordingPeers(): Promise<RecordingPeers> {
  const ftp = await startFtpServer({ directories: ['certfleet'] });
  const sonicwall = await startFakeSonicWall({ users: { admin: SONICWALL_PASSWORD }, idleTimeoutMs: 3_000 });
  return {
    ftp,
    sonicwall,
    async close() {
      await sonicwall.close();
      await ftp.close();
    },
  };
}

const firstId = (text: string | undefined, pattern: RegExp, what: string): string => {
  const id = pattern.exec(text ?? '')?.[1];
  assert.ok(id, `${what}: no id in ${String(text).slice(0, 300)}`);
  return id;
};

/**
 * Clicks through the console so that every workflow type runs at least once, and waits for the runs
 * the clicks wait for in the console too. The caller collects the histories afterwards.
 */
export async function runEveryWorkflowType(stack: AnyStack, client: Client, peers: RecordingPeers): Promise<void> {
  const log = (what: string): void => console.log(`  ${what}`);
  // Adding the directory checks it (acmeDirectoryCheckWorkflow).
  const issuer = await signInWithIssuer(stack, 'Replay Cloudflare');
  const { admin } = issuer;

  log('DNS provider: Verify token');
  await admin.get(`/dns-providers/${issuer.providerId}`);
  assert.equal((await admin.post(`/dns-providers/${issuer.providerId}/verify`, {})).status, 303);

  log('certificate issued, then renewed with a deploy to a SonicWall (one admin session) and a manual target');
  const { id: certificateId } = await issuer.issue('replay.example.test');
  const { sonicwall, ftp } = peers;
  const sonicwallId = await addSonicWallTarget(admin, 'SW Replay', sonicwall, ftp, {
    admin: SONICWALL_PASSWORD,
    ftp: ftp.password,
  });
  await linkDeployment(admin, certificateId, sonicwallId, { sslVpn: 'on' }, [sonicwall.endpoints.sslVpn]);
  const manual = await admin.post('/targets', { vendor: 'manual', name: 'Hand-installed appliance' });
  const manualId = firstId(manual.location, /\/targets\/(\d+)/, 'manual target');
  await linkDeployment(admin, certificateId, manualId, {}, []);
  await renewNow(admin, certificateId);
  await waitForRunToEnd(admin, certificateId, 180_000);

  log('target: Test connection');
  await admin.get(`/targets/${sonicwallId}`);
  assert.equal((await admin.post(`/targets/${sonicwallId}/preflight`, {})).status, 303);

  log('target form: Fetch the fingerprint');
  await admin.get('/targets/new?vendor=sonicwall');
  const fetched = await admin.post(
    '/targets/fetch-fingerprint',
    { vendor: 'sonicwall', host: sonicwall.host, port: String(sonicwall.port) },
    { 'HX-Request': 'true' },
  );
  assert.equal(fetched.status, 200, fetched.text.slice(0, 500));

  log('Settings → Email: Send test email');
  await admin.get('/settings/email');
  assert.equal((await admin.post('/settings/email/test', {})).status, 303);

  log('CNAME delegation: Check');
  await stack.db.db.query("UPDATE certificates SET delegation_zone = 'acme-delegated.example.test' WHERE id = $1", [
    certificateId,
  ]);
  await admin.get(`/certificates/${certificateId}`);
  const check = await admin.post(`/certificates/${certificateId}/delegation/check`, {}, { 'HX-Request': 'true' });
  assert.equal(check.status, 200, check.text.slice(0, 500));
  await stack.db.db.query('UPDATE certificates SET delegation_zone = NULL WHERE id = $1', [certificateId]);

  log('DNS provider moved to another API address (the admins get a notice)');
  await admin.get(`/dns-providers/${issuer.providerId}`);
  const moved = await admin.post(`/dns-providers/${issuer.providerId}`, {
    name: 'Replay Cloudflare',
    zoneName: '',
    zoneId: '',
    apiBaseUrl: stack.cloudflare.baseUrl.replace('127.0.0.1', 'localhost'),
    token: CLOUDFLARE_TOKEN,
  });
  assert.equal(moved.status, 303, moved.text.slice(0, 500));

  log('ACME account key rollover');
  await admin.get('/settings');
  const rolled = await admin.post(`/settings/acme-directories/${issuer.directoryId}/key-rollover`, {});
  assert.match(rolled.text, /The account key was rolled over/, rolled.text.slice(0, 500));

  log('revoke the version the renewal superseded');
  const [old] = await stack.db.db.query<{ id: string }>(
    'SELECT id FROM certificate_versions WHERE certificate_id = $1 ORDER BY id LIMIT 1',
    [certificateId],
  );
  assert.ok(old, 'the first version');
  await admin.get(`/certificates/${certificateId}`);
  const revoked = await admin.post(`/certificates/${certificateId}/versions/${old.id}/revoke`, {
    reason: 'superseded',
  });
  assert.equal(revoked.status, 303, revoked.text.slice(0, 500));

  log('schedules: the renewal check and the fleet schedules, each triggered once');
  for (const scheduleId of [
    renewalScheduleId(certificateId),
    SCHEDULE_HEALTH_SCHEDULE_ID,
    ...Object.values(FLEET_SCHEDULE_IDS),
  ])
    await client.schedule.getHandle(scheduleId).trigger();
  await eventually(
    'the version revoked',
    async () => {
      const [row] = await stack.db.db.query<{ revoked: boolean }>(
        'SELECT revoked_at IS NOT NULL AS revoked FROM certificate_versions WHERE id = $1',
        [old.id],
      );
      return row?.revoked ? true : undefined;
    },
    90_000,
  );

  // The first check asked the CA's ARI (a lifecycle run); the next one, with nothing due and the CA's
  // answer still fresh, ends in the schedule's own workflow: both paths are recorded.
  log('the renewal check again: it ends without a lifecycle run');
  const checksClosed = async (n: number): Promise<true | undefined> => {
    const query = `WorkflowType = '${WorkflowType.scheduledRenewal}' AND ExecutionStatus = 'Completed'`;
    return (await client.workflow.count(query)).count >= n ? true : undefined;
  };
  await eventually('the first renewal check closed', () => checksClosed(1), 90_000);
  await client.schedule.getHandle(renewalScheduleId(certificateId)).trigger();
  await eventually('the second renewal check closed', () => checksClosed(2), 90_000);
}
