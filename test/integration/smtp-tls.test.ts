/**
 * The SMTP password goes over TLS only: against a real SMTP server (smtp-server) that offers no
 * STARTTLS, a mailer with a user name and password sends no AUTH and fails with what to change; an
 * admin's explicit "send the password without TLS" (stored setting) or ?requireTLS=false (SMTP_URL)
 * lets it through. Without a user name there is nothing to protect and the mail goes out in plain.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, it } from 'node:test';
import { sealSmtpPassword } from '../../activities/crypto/bound-secrets';
import { createSecretBox } from '../../activities/crypto/secret-box';
import { putSetting, SMTP_SETTING_KEY, type StoredSmtpSettings } from '../../activities/db/repositories/settings';
import { createMailer } from '../../activities/mailer';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startSmtpCatcher, type SmtpCatcher } from '../support/smtp';

const USER = 'alerts@msp.example';
const PASSWORD = 'smtp-password-never-in-clear';
const box = createSecretBox(randomBytes(32));
let t: TestDatabase;
let smtp: SmtpCatcher;

before(async () => {
  [t, smtp] = await Promise.all([
    createTestDatabase(),
    startSmtpCatcher({ auth: { username: USER, password: PASSWORD } }),
  ]);
});
after(async () => {
  await Promise.all([t?.drop(), smtp?.close()]);
});
beforeEach(async () => {
  smtp.clear();
  smtp.commands.length = 0;
  smtp.logins.length = 0;
  await t.db.query('DELETE FROM settings WHERE key = $1', [SMTP_SETTING_KEY]);
});

const message = { subject: 'TLS check', text: 'hello' };
const envMailer = (url: string | undefined) =>
  createMailer({
    db: t.db,
    box,
    mail: { url, from: 'CertFleet <certfleet@msp.example>', recipients: ['noc@msp.example'] },
  });
/** Stored as the console stores them: the password sealed for this server (host, port, TLS mode). */
const store = (extra: Partial<StoredSmtpSettings> = {}) => {
  const server = { host: smtp.host, port: smtp.port, secure: false };
  return putSetting(t.db, SMTP_SETTING_KEY, {
    ...server,
    username: USER,
    passwordSealed: sealSmtpPassword(box, server, PASSWORD),
    from: 'CertFleet <certfleet@msp.example>',
    recipients: ['noc@msp.example'],
    ...extra,
  } satisfies StoredSmtpSettings);
};

it('stored settings with a password: a server without STARTTLS sees no AUTH, and the send fails saying what to change', async () => {
  await store();
  const error = await envMailer(undefined)
    .send(message)
    .then(
      () => assert.fail('sent without TLS'),
      (e: unknown) => e as Error & { type?: string },
    );
  assert.equal(error.type, 'EMAIL_FAILED');
  assert.match(error.message, /the SMTP password is only sent over TLS/);
  assert.match(error.message, /STARTTLS on the server.*port 465.*Settings → Email/);
  assert.ok(!error.message.includes(PASSWORD), 'no password in the message');
  assert.ok(smtp.commands.includes('STARTTLS'), `the client asked for TLS: ${smtp.commands.join(' ')}`);
  assert.ok(!smtp.commands.includes('AUTH'), `no AUTH: ${smtp.commands.join(' ')}`);
  assert.deepEqual(smtp.logins, []);
  assert.equal(smtp.messages.length, 0);
});

it('an admin who explicitly allowed the password without TLS gets the mail sent, signed in', async () => {
  await store({ allowPasswordWithoutTls: true });
  const result = await envMailer(undefined).send(message);
  assert.equal(result.sent, true, result.detail);
  assert.deepEqual(smtp.logins, [USER]);
  assert.ok(smtp.commands.includes('AUTH'));
  await smtp.waitFor((m) => m.subject === 'TLS check');
});

it('without a user name nothing is kept back: the mail goes out without TLS', async () => {
  await store({ username: undefined, passwordSealed: undefined });
  const result = await envMailer(undefined).send(message);
  assert.equal(result.sent, true, result.detail);
  assert.ok(!smtp.commands.includes('AUTH'));
});

it('SMTP_URL with credentials: no AUTH without TLS unless the URL says ?requireTLS=false', async () => {
  const url = `smtp://${encodeURIComponent(USER)}:${PASSWORD}@${smtp.host}:${smtp.port}`;
  await assert.rejects(
    envMailer(url).send(message),
    (e: Error) => /only sent over TLS.*\?requireTLS=false to SMTP_URL/.test(e.message) && !e.message.includes(PASSWORD),
  );
  assert.ok(!smtp.commands.includes('AUTH'), `no AUTH: ${smtp.commands.join(' ')}`);
  const result = await envMailer(`${url}?requireTLS=false`).send(message);
  assert.equal(result.sent, true, result.detail);
  assert.deepEqual(smtp.logins, [USER]);
});
