/**
 * The renewal schedule follows its certificate: created with it (interval and jitter as configured), updated (paused) with it, deleted
 * with it, recreated by the worker when it went missing; a scheduled tick skips a certificate that is
 * not due and records the check; "Renew now" during a run is refused with 409.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { certificateWorkflowId, renewalScheduleId, WorkflowType } from '../../temporal/contract';
import { renewalCheckOffsetSeconds } from '../../temporal/schedules';
import type { ConsoleClient } from '../support/console-client';
import { waitForRunToEnd } from '../support/console-actions';
import { signInWithIssuer, startStackWithClient, type ConsoleIssuer } from '../support/issuing-stack';
import { eventually, type Stack } from '../support/stack';

describe('renewal schedules', () => {
  let stack: Stack;
  let client: Client;
  let admin: ConsoleClient;
  let issuer: ConsoleIssuer;

  before(async () => {
    ({ stack, client } = await startStackWithClient());
    await stack.startWorker();
    issuer = await signInWithIssuer(stack, 'Schedules');
    admin = issuer.admin;
  });
  after(async () => {
    await stack?.stop();
  });

  it('is created, updated and deleted along with its certificate', async () => {
    const id = await issuer.request('sched.example.test');
    const schedule = client.schedule.getHandle(renewalScheduleId(id));
    const created = await schedule.describe();
    assert.equal(created.state.paused, false);
    assert.equal(created.action.type, 'startWorkflow');
    assert.equal(
      created.action.type === 'startWorkflow' ? created.action.workflowType : '',
      WorkflowType.scheduledRenewal,
    );
    assert.deepEqual(created.action.type === 'startWorkflow' ? created.action.args : [], [{ certificateId: id }]);
    assert.equal(created.spec.intervals?.[0]?.every, 3_600_000);
    // Its own place in the hour (fixed by its id), so a fleet's checks do not all fall at the whole hour.
    assert.equal(created.spec.intervals?.[0]?.offset, renewalCheckOffsetSeconds(id, 3600) * 1000);
    // The configured jitter (RENEWAL_CHECK_JITTER_SECONDS=60 in the stack), as Temporal stored it.
    assert.equal(created.spec.jitter, 60_000);
    assert.equal(created.policies.overlap, ScheduleOverlapPolicy.SKIP);
    await waitForRunToEnd(admin, id);

    // A scheduled tick on a fresh certificate: the lifecycle runs under certificate:<id>, skips, records the check.
    await schedule.trigger();
    const skipped = await eventually('the scheduled run to skip', async () => {
      const rows = await stack.db.db.query<{ last_checked_at: Date | null }>(
        'SELECT last_checked_at FROM certificates WHERE id = $1',
        [id],
      );
      return rows[0]?.last_checked_at ?? undefined;
    });
    assert.ok(skipped instanceof Date);
    // The page says when the schedule last checked (skipped checks leave no run in the run history).
    assert.match((await admin.get(`/certificates/${id}`)).text, /<span id="last-check">last renewal check /);
    const lifecycle = await client.workflow.getHandle(certificateWorkflowId(id)).describe();
    assert.equal(lifecycle.type, WorkflowType.lifecycle);
    const versions = await stack.db.db.query('SELECT id FROM certificate_versions WHERE certificate_id = $1', [id]);
    assert.equal(versions.length, 1, 'a skipped check issues nothing');

    // Disabling renewal pauses the schedule; the rule change is stored.
    await admin.get(`/certificates/${id}`);
    const saved = await admin.post(`/certificates/${id}/settings`, {
      dnsProviderId: issuer.providerId,
      keyType: 'rsa-2048',
      renewalMode: 'days',
      renewalValue: '20',
    });
    assert.equal(saved.status, 303, saved.text.slice(0, 500));
    const paused = await schedule.describe();
    assert.equal(paused.state.paused, true);
    assert.equal(paused.spec.jitter, 60_000, 'an update keeps the jitter');
    const [row] = await stack.db.db.query<{
      renewal_mode: string;
      renewal_value: number;
      enabled: boolean;
      key_type: string;
    }>('SELECT renewal_mode, renewal_value, enabled, key_type FROM certificates WHERE id = $1', [id]);
    assert.deepEqual(row, { renewal_mode: 'days', renewal_value: 20, enabled: false, key_type: 'rsa-2048' });

    // Invalid settings change nothing.
    const refused = await admin.post(`/certificates/${id}/settings`, {
      dnsProviderId: issuer.providerId,
      keyType: 'dsa-1024',
      renewalMode: 'days',
      renewalValue: '20',
      enabled: 'on',
    });
    assert.equal(refused.status, 400);
    assert.equal((await schedule.describe()).state.paused, true);

    // Deleting removes the schedule and the certificate from the dashboard; versions are kept.
    await admin.get(`/certificates/${id}`);
    const wrongConfirm = await admin.post(`/certificates/${id}/delete`, { confirm: 'nope' });
    assert.equal(wrongConfirm.status, 400);
    const deleted = await admin.post(`/certificates/${id}/delete`, { confirm: 'sched.example.test' });
    assert.equal(deleted.status, 303);
    await assert.rejects(schedule.describe(), ScheduleNotFoundError);
    assert.ok(!(await admin.get('/')).text.includes('sched.example.test'));
    assert.equal(
      (await stack.db.db.query('SELECT id FROM certificate_versions WHERE certificate_id = $1', [id])).length,
      1,
    );
    assert.equal((await admin.get(`/certificates/${id}`)).status, 404);
  });

  it('refuses "Renew now" while a run is in progress, then allows it', async () => {
    stack.cloudflare.setPushToDns(false);
    const id = await issuer.request('busy.example.test');
    await admin.get(`/certificates/${id}`);
    const refused = await admin.post(`/certificates/${id}/renew`, {});
    assert.equal(refused.status, 409);
    assert.match(refused.text, /already in progress/);
    await client.workflow.getHandle(certificateWorkflowId(id)).terminate('test: release the run');
    stack.cloudflare.setPushToDns(true);
    await admin.get(`/certificates/${id}`);
    const accepted = await admin.post(`/certificates/${id}/renew`, {});
    assert.equal(accepted.status, 303);
    const fragment = await waitForRunToEnd(admin, id);
    assert.match(fragment, /run-COMPLETED/);
    assert.match(fragment, /manual run/);
    // Both runs are listed on the certificate page, found through the CertificateId search attribute.
    await eventually(
      'the run history to list both runs',
      async () => {
        const page = await admin.get(`/certificates/${id}`);
        const history = /<table id="run-history">([\s\S]*?)<\/table>/.exec(page.text)?.[1] ?? '';
        return history.includes('run-TERMINATED') && history.includes('run-COMPLETED') && history.includes('>issued<')
          ? true
          : undefined;
      },
      20_000,
    );
  });

  it('the worker recreates a schedule that went missing, and removes orphans', async () => {
    const { id } = await issuer.issue('heal.example.test');
    await client.schedule.getHandle(renewalScheduleId(id)).delete();
    const orphan = await client.schedule.create({
      scheduleId: renewalScheduleId('999999'),
      spec: { intervals: [{ every: '1h' }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.scheduledRenewal,
        taskQueue: 'certfleet',
        args: [{ certificateId: '999999' }],
      },
    });
    await stack.startWorker();
    const recreated = await client.schedule.getHandle(renewalScheduleId(id)).describe();
    assert.equal(recreated.spec.jitter, 60_000, 'the recreated schedule has the configured jitter');
    await assert.rejects(orphan.describe(), ScheduleNotFoundError);
  });
});
