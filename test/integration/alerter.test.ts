/**
 * The alerter on real PostgreSQL and a real SMTP server: an alert goes out once even when the sweep
 * runs at the same moment as the failure that opened it; a mail server outage delays alerts, it does
 * not lose them; an incident that ended before anyone was told sends nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { createAlerter, DEFAULT_ALERT_SETTINGS } from '../../activities/alerts/alerter';
import { createAlertTemplates } from '../../activities/alerts/render';
import { createSecretBox } from '../../activities/crypto/secret-box';
import { createMailer } from '../../activities/mailer';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startSmtpCatcher, type SmtpCatcher } from '../support/smtp';

let t: TestDatabase;
let smtp: SmtpCatcher;
before(async () => {
  [t, smtp] = await Promise.all([createTestDatabase(), startSmtpCatcher()]);
});
after(async () => {
  await Promise.all([t?.drop(), smtp?.close()]);
});

const alerterWith = (url: string | undefined, quietMs = 0) =>
  createAlerter({
    db: t.db,
    mailer: createMailer({ db: t.db, box: createSecretBox(randomBytes(32)), mail: { url, from: 'CertFleet <certfleet@test.example>', recipients: ['noc@test.example'] } }),
    render: createAlertTemplates(),
    consoleUrl: 'http://console.example',
    settings: { ...DEFAULT_ALERT_SETTINGS, recoveryQuietMs: quietMs },
    log: pino({ level: 'silent' }),
  });

it('one alert per incident even when failures and sweeps race', async () => {
  const alerter = alerterWith(`smtp://${smtp.host}:${smtp.port}`);
  const keys = Array.from({ length: 20 }, (_, i) => `deploy:race-${i}`);
  await Promise.all(keys.flatMap((key) => [
    alerter.problem({ key, kind: 'deploy-failed', title: `race ${key}`, detail: 'boom' }),
    alerter.problem({ key, kind: 'deploy-failed', title: `race ${key}`, detail: 'boom again' }),
    alerter.sweep(),
  ]));
  await alerter.sweep();
  for (const key of keys) assert.equal(smtp.messages.filter((m) => m.subject.endsWith(`race ${key}`)).length, 1, key);
  const rows = await t.db.query<{ occurrences: number }>("SELECT occurrences FROM incidents WHERE key LIKE 'deploy:race-%'");
  assert.equal(rows.length, 20);
  assert.ok(rows.every((r) => r.occurrences === 2));
});

it('an SMTP outage delays the alert; the sweep sends it once the server is back', async () => {
  const down = alerterWith('smtp://127.0.0.1:1');
  const result = await down.problem({ key: 'renewal:outage', kind: 'renewal-failed', title: 'outage test', detail: 'the mail server was down' });
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
