/**
 * Console features that are Temporal workflows, on the real stack with a worker: "Verify token" of a
 * DNS provider (fake Cloudflare), "Send test email" (real SMTP server), the dashboard's running
 * workflows, and renewal schedule health (a paused schedule, a skipped run) read from Temporal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { certificateWorkflowId, renewalScheduleId } from '../../temporal/contract';
import { connectTemporal } from '../../temporal/connection';
import {
  addCloudflareProvider,
  addPebbleDirectory,
  requestCertificate,
  waitForRunToEnd,
} from '../support/console-actions';
import { setCloudflareToken, submitForm } from '../support/console-forms';
import type { ConsoleClient } from '../support/console-client';
import { ALERT_RECIPIENT, eventually, startStack, type Stack } from '../support/stack';

let stack: Stack;
let admin: ConsoleClient;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;

before(async () => {
  stack = await startStack({ env: { SCHEDULE_HEALTH_INTERVAL_SECONDS: '1' } });
  await stack.startWorker();
  admin = await stack.admin();
  temporal = await connectTemporal({ address: stack.temporal.address, namespace: 'default' });
});
after(async () => {
  await temporal?.connection.close();
  await stack?.stop();
});

const decoded = (html: string): string => html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');

describe('DNS provider "Verify token"', () => {
  it('runs as a workflow and shows a valid token, then the reason a bad one fails', async () => {
    const id = await addCloudflareProvider(admin, stack, 'Verify CF');
    /** "Verify token", then the check's fragment once it shows the badge `badge`. */
    const verifyUntil = async (what: string, badge: 'good' | 'bad'): Promise<string> => {
      await submitForm(admin, `/dns-providers/${id}`, `/dns-providers/${id}/verify`, {});
      return eventually(
        what,
        async () => {
          const fragment = await admin.get(`/dns-providers/${id}/check`, { 'HX-Request': 'true' });
          return fragment.text.includes(`badge ${badge}`) ? fragment.text : undefined;
        },
        30_000,
      );
    };
    const ok = await verifyUntil('token check result', 'good');
    assert.match(ok, /token active/);
    assert.ok(!ok.includes('hx-trigger'), 'the fragment stops polling once the check ended');

    await setCloudflareToken(admin, stack, { id, name: 'Verify CF' }, 'cf-wrong-token');
    const bad = await verifyUntil('failed token check', 'bad');
    assert.match(bad, /the API token was rejected/);
    assert.ok(!bad.includes('cf-wrong-token'), 'the token never appears in the result');
    const audit = await stack.db.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE entity_type = 'dns_provider' AND entity_id = $1 ORDER BY id",
      [id],
    );
    assert.deepEqual(
      audit.map((a) => a.action),
      ['dns-provider.create', 'dns-provider.verify', 'dns-provider.update', 'dns-provider.verify'],
    );
  });
});

describe('Settings → Email → Send test email', () => {
  it('sends through the alert mailer to the recipients and shows the result', async () => {
    await admin.get('/settings/email');
    const sent = await admin.post('/settings/email/test', {});
    assert.equal(sent.status, 303);
    const workflowId = new URL(sent.location ?? '', 'http://x').searchParams.get('test');
    assert.match(workflowId ?? '', /^test-email:/);
    const page = await admin.get(sent.location ?? '');
    assert.ok(decoded(page.text).includes(`hx-get="/settings/email/test?id=${workflowId}"`));
    const mail = await stack.smtp.waitFor((m) => m.subject === '[CertFleet] Test email', 30_000);
    assert.deepEqual(mail.to, [ALERT_RECIPIENT]);
    assert.match(mail.text, /sent at the request of admin/);
    const result = await eventually(
      'test email result',
      async () => {
        const fragment = await admin.get(`/settings/email/test?id=${workflowId}`, { 'HX-Request': 'true' });
        return fragment.text.includes('badge good') ? fragment.text : undefined;
      },
      30_000,
    );
    assert.match(result, /sent to 1 recipient/);
    assert.equal((await admin.get('/settings/email/test?id=not-a-workflow')).status, 400);
  });
});

describe('dashboard: running workflows and schedule health', () => {
  it('shows a run in progress, an unexpectedly paused schedule and a skipped run', async () => {
    const directoryId = await addPebbleDirectory(admin, stack);
    const providerId = await addCloudflareProvider(admin, stack, 'Dashboard CF');
    const steady = await requestCertificate(admin, {
      commonName: 'steady.example.test',
      dnsProviderId: providerId,
      acmeDirectoryId: directoryId,
    });
    await waitForRunToEnd(admin, steady);

    // Hold runs of a second certificate at the DNS propagation step.
    stack.cloudflare.setPushToDns(false);
    const stuck = await requestCertificate(admin, {
      commonName: 'stuck.example.test',
      dnsProviderId: providerId,
      acmeDirectoryId: directoryId,
    });
    const running = await eventually(
      'the run listed as running',
      async () => {
        const fragment = await admin.get('/dashboard/running', { 'HX-Request': 'true' });
        return fragment.text.includes(`href="/certificates/${stuck}"`) ? fragment.text : undefined;
      },
      30_000,
    );
    assert.ok(
      running.includes(`<a href="/certificates/${stuck}">stuck.example.test</a>`),
      'links to the certificate by its name',
    );
    assert.ok(!running.includes(`certificate:${stuck}`), 'no workflow ids on the dashboard');
    assert.match(decoded(running), /Temporal UI/);

    // The schedule's own run hangs on the same step; a second trigger while it runs is skipped.
    await temporal.client.workflow
      .getHandle(certificateWorkflowId(stuck))
      .terminate('test: make room for the scheduled run');
    const schedule = temporal.client.schedule.getHandle(renewalScheduleId(stuck));
    await schedule.trigger(ScheduleOverlapPolicy.SKIP);
    await eventually(
      'the scheduled run in progress',
      async () => {
        const d = await temporal.client.workflow
          .getHandle(certificateWorkflowId(stuck))
          .describe()
          .catch(() => undefined);
        return d?.status.name === 'RUNNING' ? true : undefined;
      },
      30_000,
    );
    await schedule.trigger(ScheduleOverlapPolicy.SKIP);
    // Someone paused the steady certificate's schedule by hand in the Temporal UI.
    await temporal.client.schedule.getHandle(renewalScheduleId(steady)).pause('paused by hand');

    const health = await eventually(
      'schedule health on the dashboard',
      async () => {
        const page = await admin.get('/');
        const section = /<section class="card" id="schedule-health">[\s\S]*?<\/section>/.exec(page.text)?.[0] ?? '';
        return section.includes('steady.example.test') && section.includes('1 skipped') ? section : undefined;
      },
      60_000,
    );
    assert.match(health, /Paused although renewal is enabled/);
    assert.match(health, /paused by hand/);
    assert.match(health, /stuck\.example\.test<\/a>: 1 skipped/);

    // Renewal disabled in the console pauses the schedule on purpose: not a problem.
    await temporal.client.schedule.getHandle(renewalScheduleId(steady)).unpause();
    await admin.get(`/certificates/${steady}`);
    assert.equal(
      (
        await admin.post(`/certificates/${steady}/settings`, {
          dnsProviderId: providerId,
          keyType: 'ecdsa-p256',
          renewalMode: 'fraction',
        })
      ).status,
      303,
    );
    await eventually(
      'paused on purpose',
      async () => {
        const page = await admin.get('/');
        const section = /<section class="card" id="schedule-health">[\s\S]*?<\/section>/.exec(page.text)?.[0] ?? '';
        return /1 paused because renewal is disabled/.test(section) && !section.includes('Paused although')
          ? true
          : undefined;
      },
      60_000,
    );
    stack.cloudflare.setPushToDns(true);
  });
});
