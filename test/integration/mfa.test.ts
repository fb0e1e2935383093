/**
 * Two-factor sign-in for local accounts (issue 11, item 7): TOTP (RFC 6238) set up on the account page with
 * the current password and a first code, ten one-time recovery codes, a code step at sign-in that grants
 * nothing before it is passed, no replay of a used code, "require MFA for admins", and the admin's reset.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { assertAudited } from '../support/audit-log';
import { ConsoleClient } from '../support/console-client';
import { ROLE_PASSWORD, startConsoleApp, type ConsoleApp } from '../support/console-app';
import { totpCode } from '../support/totp';

let c: ConsoleApp;
let admin: ConsoleClient;

before(async () => {
  c = await startConsoleApp({ login: { maxFailures: 5, lockMs: 60_000, rateLimit: 1000, rateWindowMs: 60_000 } });
  admin = await c.signedIn('admin', 'mfa-boss');
});
after(async () => {
  await c?.stop();
});

/** Password step only: the client is left at the code step. */
async function passwordStep(username: string): Promise<ConsoleClient> {
  const client = new ConsoleClient(c.url);
  await client.get('/login');
  const reply = await client.post('/login', { username, password: ROLE_PASSWORD, next: '/certificates' });
  assert.equal(reply.status, 303);
  assert.equal(reply.location, '/login/mfa?next=%2Fcertificates');
  await client.get(reply.location);
  return client;
}

describe('two-factor sign-in', () => {
  it('set up with a generated code; sign-in asks for it; a used code and wrong codes are refused; recovery codes work once', async () => {
    const me = await c.signedIn('technician', 'totp-user');
    const { secret, recoveryCodes } = await me.enrolMfa(ROLE_PASSWORD);
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    assert.match((await me.get('/account/mfa')).text, /Two-factor sign-in is on.*10 unused recovery code/s);

    // Stored sealed, recovery codes as hashes only; neither the secret nor a code in the audit log.
    const [row] = await c.db.db.query<{ sealed: string }>(
      "SELECT mfa_secret_sealed AS sealed FROM users WHERE username = 'totp-user'",
    );
    assert.equal(c.box.openText(row?.sealed ?? '', SecretPurpose.mfaSecret), secret);
    const stored =
      JSON.stringify(await c.db.db.query('SELECT * FROM mfa_recovery_codes')) +
      JSON.stringify(await c.db.db.query('SELECT * FROM audit_log'));
    for (const value of [secret, ...recoveryCodes])
      assert.ok(!stored.includes(value), 'no secret or recovery code stored in the clear');

    // The password alone grants nothing: the pending session sees no page.
    const pending = await passwordStep('totp-user');
    const blocked = await pending.get('/certificates');
    assert.equal(blocked.status, 303);
    assert.match(blocked.location ?? '', /^\/login/);
    const wrong = await pending.post('/login/mfa', { code: '000000', next: '/certificates' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /This code is not right/);
    // The set-up used this step's code: the next step's code (one step ahead is accepted) signs in.
    const code = await totpCode(secret, 1);
    const ok = await pending.post('/login/mfa', { code, next: '/certificates' });
    assert.equal(ok.status, 303);
    assert.equal(ok.location, '/certificates');
    assert.equal((await pending.get('/certificates')).status, 200);

    // The same code again (a replay in the same step) is refused.
    const replay = await passwordStep('totp-user');
    assert.equal((await replay.post('/login/mfa', { code })).status, 401);

    // A recovery code works once.
    const [first] = recoveryCodes as [string];
    const recovered = await passwordStep('totp-user');
    assert.equal((await recovered.post('/login/mfa', { code: first.toUpperCase(), next: '/' })).status, 303);
    assert.equal((await recovered.get('/account')).status, 200);
    const reused = await passwordStep('totp-user');
    assert.equal((await reused.post('/login/mfa', { code: first })).status, 401);
    assert.match((await recovered.get('/account/mfa')).text, /9 unused recovery code/);

    await assertAudited(
      c.db.db,
      ['user.mfa-start', 'user.mfa-enable', 'login-failed', 'login'],
      "actor = 'totp-user' OR after->>'username' = 'totp-user'",
    );
  });

  it('set-up needs the current password (counted toward the lockout) and a right first code', async () => {
    const me = await c.signedIn('readonly', 'totp-careful');
    await me.get('/account/mfa');
    const wrongPassword = await me.post('/account/mfa/setup', { currentPassword: 'not-my-password' });
    assert.equal(wrongPassword.status, 400);
    assert.match(wrongPassword.text, /This is not your current password/);
    const [failures] = await c.db.db.query<{ n: number }>(
      "SELECT failures AS n FROM login_failures WHERE username = 'totp-careful'",
    );
    assert.equal(failures?.n, 1);
    assert.equal((await me.post('/account/mfa/setup', { currentPassword: ROLE_PASSWORD })).status, 303);
    await me.get('/account/mfa');
    const wrongCode = await me.post('/account/mfa/confirm', { code: '123456' });
    assert.equal(wrongCode.status, 400);
    assert.match(wrongCode.text, /This code is not right/);
    const [state] = await c.db.db.query<{ on: boolean }>(
      "SELECT mfa_enabled_at IS NOT NULL AS on FROM users WHERE username = 'totp-careful'",
    );
    assert.equal(state?.on, false);
  });

  it("when required, an admin without MFA is sent to set it up before anything else; an admin resets a user's MFA", async () => {
    await admin.get('/settings/users');
    assert.equal((await admin.post('/settings/security', { requireAdminMfa: 'on' })).status, 303);
    // The setting's own admin is held too, from the next request on.
    const held = await admin.get('/certificates');
    assert.equal(held.status, 303);
    assert.equal(held.location, '/account/mfa');
    assert.equal((await admin.post('/settings/security', {})).status, 403, 'no change before MFA is set up');
    assert.match((await admin.get('/account/mfa')).text, /required for admins/);
    const { secret } = await admin.enrolMfa(ROLE_PASSWORD);
    assert.equal((await admin.get('/certificates')).status, 200);

    // Technicians are not held.
    const tech = await c.signedIn('technician', 'not-held');
    assert.equal((await tech.get('/certificates')).status, 200);

    // Another admin signs in with the code; the admin resets their MFA, which also ends their sessions.
    const other = await c.signedIn('admin', 'other-admin');
    const enrolled = await other.enrolMfa(ROLE_PASSWORD);
    const otherId =
      (await c.db.db.query<{ id: string }>("SELECT id FROM users WHERE username = 'other-admin'"))[0]?.id ?? '';
    await admin.get(`/settings/users/${otherId}`);
    assert.equal((await admin.post(`/settings/users/${otherId}/reset-mfa`, {})).status, 303);
    const ended = await other.get('/account');
    assert.equal(ended.status, 303, 'the reset ended their session');
    assert.ok(enrolled.secret);
    const fresh = new ConsoleClient(c.url);
    await fresh.login('other-admin', ROLE_PASSWORD);
    assert.equal((await fresh.get('/certificates')).location, '/account/mfa', 'no MFA now, so sent to set it up again');

    assert.equal((await admin.post('/settings/security', {})).status, 303);
    assert.equal((await fresh.get('/certificates')).status, 200);
    const actions = (
      await c.db.db.query<{ action: string }>(
        "SELECT action FROM audit_log WHERE action IN ('settings.security', 'user.reset-mfa')",
      )
    ).map((r) => r.action);
    assert.deepEqual([...new Set(actions)].sort(), ['settings.security', 'user.reset-mfa']);
    assert.ok(secret);
  });
});

describe('the same through the API', () => {
  it('an admin reads and sets "require MFA for admins", ends a user\'s sessions and resets their MFA', async () => {
    const token = await c.apiToken('admin', 'api-admin');
    assert.deepEqual((await c.api(token, 'GET', '/api/v1/settings/security')).json, { requireAdminMfa: false });
    const bad = await c.api(token, 'PUT', '/api/v1/settings/security', { requireAdminMfa: 'yes' });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.json), /"requireAdminMfa"/);
    assert.equal((await c.api(token, 'PUT', '/api/v1/settings/security', { requireAdminMfa: true })).status, 200);
    assert.deepEqual((await c.api(token, 'GET', '/api/v1/settings/security')).json, { requireAdminMfa: true });
    assert.equal((await c.api(token, 'PUT', '/api/v1/settings/security', { requireAdminMfa: false })).status, 200);

    const user = await c.signedIn('technician', 'api-target');
    await user.enrolMfa(ROLE_PASSWORD);
    const id = (await c.db.db.query<{ id: string }>("SELECT id FROM users WHERE username = 'api-target'"))[0]?.id ?? '';
    assert.equal(((await c.api(token, 'GET', `/api/v1/users/${id}`)).json as { mfa: boolean }).mfa, true);
    const reset = await c.api(token, 'POST', `/api/v1/users/${id}/reset-mfa`);
    assert.equal(reset.status, 200);
    assert.equal((reset.json as { mfa: boolean }).mfa, false);
    assert.equal((await user.get('/account')).status, 303, 'the reset ended the session');
    await user.login('api-target', ROLE_PASSWORD);
    assert.equal((await c.api(token, 'POST', `/api/v1/users/${id}/end-sessions`)).status, 200);
    assert.equal((await user.get('/account')).status, 303, 'ended');
    assert.equal((await c.api(token, 'POST', '/api/v1/users/999999999/end-sessions')).status, 404);
  });
});
