/**
 * The alerter on real PostgreSQL and a real SMTP server: an alert goes out once even when the sweep
 * runs at the same moment as the failure that opened it; a mail server outage delays alerts, it does
 * not lose them; an incident that ended before anyone was told sends nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { createAlerter, DEFAULT_ALERT_SETTINGS } from '../../activities/alerts/alerter';
import { createAlertTemplates } from '../../activities/alerts/render';
import { createSecretBox } from '../../activities/crypto/secret-box';
import { createMailer } from '../../activities/mailer';
import { createNotifyActivities } from '../../activities/notify';
import { seedFleet } from '../support/seed';
import { type TestDatabase } from '../support/db';
import { useDatabaseAndSmtp } from '../support/database-and-smtp';
import { type SmtpCatcher } from '../support/smtp';

let t: TestDatabase;
let smtp: SmtpCatcher;
useDatabaseAndSmtp((peers) => ({ t, smtp } = peers));

const alerterWith = (url: string | undefined, quietMs = 0) =>
  createAlerter({
    db: t.db,
    mailer: createMailer({
      db: t.db,
      box: createSecretBox(randomBytes(32)),
      mail: { url, from: 'CertFleet <certfleet@test.example>', recipients: ['noc@test.example'] },
    }),
    render: createAlertTemplates(),
    consoleUrl: 'http://console.example',
    settings: { ...DEFAULT_ALERT_SETTINGS, recoveryQuietMs: quietMs },
    log: pino({ level: 'silent' }),
  });

it('one alert per incident even when failures and sweeps race', async () => {
  const alerter = alerterWith(`smtp://${smtp.host}:${smtp.port}`);
  const keys = Array.from({ length: 20 }, (_, i) => `deploy:race-${i}`);
  await Promise.all(
    keys.flatMap((key) => [
      alerter.problem({ key, kind: 'deploy-failed', title: `race ${key}`, detail: 'boom' }),
      alerter.problem({ key, kind: 'deploy-failed', title: `race ${key}`, detail: 'boom again' }),
      alerter.sweep(),
    ]),
  );
  await alerter.sweep();
  for (const key of keys) assert.equal(smtp.messages.filter((m) => m.subject.endsWith(`race ${key}`)).length, 1, key);
  const rows = await t.db.query<{ occurrences: number }>(
    "SELECT occurrences FROM incidents WHERE key LIKE 'deploy:race-%'",
  );
  assert.equal(rows.length, 20);
  assert.ok(rows.every((r) => r.occurrences === 2));
});

it('an SMTP outage delays the alert; the sweep sends it once the server is back', async () => {
  const down = alerterWith('smtp://127.0.0.1:1');
  const result = await down.problem({
    key: 'renewal:outage',
    kind: 'renewal-failed',
    title: 'outage test',
    detail: 'the mail server was down',
  });
  assert.deepEqual(result, { opened: true, alerted: false });
  await down.sweep();
  assert.equal(smtp.messages.filter((m) => m.subject.includes('outage test')).length, 0);
  await alerterWith(`smtp://${smtp.host}:${smtp.port}`).sweep();
  assert.equal(smtp.messages.filter((m) => m.subject.includes('outage test')).length, 1);
});

it('an incident fixed before its alert could go out sends neither alert nor recovery', async () => {
  const down = alerterWith('smtp://127.0.0.1:1');
  await down.problem({ key: 'drift:short', kind: 'drift', title: 'short-lived drift', detail: 'd' });
  await down.recovered('drift:short');
  const up = alerterWith(`smtp://${smtp.host}:${smtp.port}`);
  const swept = await up.sweep();
  assert.equal(swept.resolved >= 1, true);
  assert.equal(smtp.messages.filter((m) => m.subject.includes('short-lived drift')).length, 0);
});

it('a failed first issuance is mailed as "issuance failed", a failed renewal as "renewal failed"', async () => {
  const box = createSecretBox(randomBytes(32));
  await seedFleet(
    t.db,
    { customers: 1, certificates: 50, targetsPerCustomer: 1, deploymentRuns: 0, auditEntries: 0 },
    box.seal('placeholder', 'seed'),
  );
  const [issued] = await t.db.query<{ id: string; common_name: string }>(
    'SELECT id, common_name FROM certificates WHERE current_version_id IS NOT NULL ORDER BY id LIMIT 1',
  );
  const [pending] = await t.db.query<{ id: string; common_name: string }>(
    'SELECT id, common_name FROM certificates WHERE current_version_id IS NULL ORDER BY id LIMIT 1',
  );
  assert.ok(issued && pending);
  const notify = createNotifyActivities({
    db: t.db,
    box,
    log: pino({ level: 'silent' }),
    consoleUrl: 'http://console.example',
    alerts: { ...DEFAULT_ALERT_SETTINGS, recoveryQuietMs: 0 },
    mail: {
      url: `smtp://${smtp.host}:${smtp.port}`,
      from: 'CertFleet <certfleet@test.example>',
      recipients: ['noc@test.example'],
    },
  });
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'certificate:x', runId: 'run-x' } });
  const fail = async (certificateId: string, trigger: 'create' | 'schedule' | 'manual'): Promise<{ sent: boolean }> =>
    env.run((input: Parameters<typeof notify.sendLifecycleEmail>[0]) => notify.sendLifecycleEmail(input), {
      certificateId,
      outcome: 'failed' as const,
      reason: 'acme: create order: connection refused',
      workflowId: `certificate:${certificateId}`,
      trigger,
    });

  assert.equal((await fail(pending.id, 'create')).sent, true);
  const first = await smtp.waitFor((m) => m.subject.includes(pending.common_name), 10_000);
  assert.equal(first.subject, `[CertFleet] FAILED: certificate ${pending.common_name}: issuance failed`);
  assert.match(first.text, /none has been issued yet/);
  assert.doesNotMatch(`${first.subject}\n${first.text}`, /renew(al)? failed|The current certificate stays/i);

  assert.equal((await fail(issued.id, 'schedule')).sent, true);
  const renewal = await smtp.waitFor((m) => m.subject.includes(issued.common_name), 10_000);
  assert.equal(renewal.subject, `[CertFleet] FAILED: certificate ${issued.common_name}: renewal failed`);
});
