/**
 * Sessions and API tokens end when they should (issue 11, items 3 and 6): a password change, an admin
 * reset, a role change, disabling, "sign out everywhere" and "end sessions" end the user's other sessions
 * and tokens at once; the session that changed its own password stays. Tokens can expire. The lockout
 * is by user name and address and answers unknown names exactly like known ones; the current-password
 * check counts toward it. Common passwords are refused wherever a password is set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsoleClient } from '../support/console-client';
import { refusedForm } from '../support/console-forms';
import { createApiToken } from '../support/console-actions';
import { ROLE_PASSWORD, startConsoleApp, type ConsoleApp } from '../support/console-app';

const MAX_FAILURES = 3;
let c: ConsoleApp;
let admin: ConsoleClient;

before(async () => {
  c = await startConsoleApp({
    login: { maxFailures: MAX_FAILURES, lockMs: 60_000, rateLimit: 1000, rateWindowMs: 60_000 },
  });
  admin = await c.signedIn('admin', 'boss');
});
after(async () => {
  await c?.stop();
});

/** Whether the client's session still works: the account page, or a redirect to sign in. */
async function signedIn(client: ConsoleClient): Promise<boolean> {
  const page = await client.get('/account');
  if (page.status === 200) return true;
  assert.equal(page.status, 303);
  assert.match(page.location ?? '', /^\/login/);
  return false;
}

/** A user with two sessions (two browsers) and an API token made on the account page. */
async function userWithSessions(role: 'technician' | 'readonly' | 'admin', username: string) {
  const user = await c.addUser(role, username);
  const first = new ConsoleClient(c.url);
  await first.login(username, ROLE_PASSWORD);
  const second = new ConsoleClient(c.url);
  await second.login(username, ROLE_PASSWORD);
  const token = await createApiToken(first, 'script');
  assert.equal((await c.api(token, 'GET', '/api/v1/me')).status, 200);
  return { user, first, second, token };
}

const FROM_A = { 'x-forwarded-for': '203.0.113.10' };
const FROM_B = { 'x-forwarded-for': '203.0.113.20' };

describe('sessions end', () => {
  it('an old session dies after a password change; the changing session stays; API tokens die', async () => {
    const { first, second, token } = await userWithSessions('technician', 'pwchange');
    const changed = await first.post('/account/password', {
      currentPassword: ROLE_PASSWORD,
      newPassword: 'pwchange-new-secret-1',
    });
    assert.equal(changed.status, 303, changed.text);
    assert.match(
      (await first.get(changed.location ?? '/account')).text,
      /Your other sessions and your API tokens have ended/,
    );
    assert.equal(await signedIn(first), true, 'the session that changed the password stays');
    assert.equal(await signedIn(second), false, 'the other session has ended');
    const htmx = await second.get('/certificates', { 'HX-Request': 'true' });
    assert.equal(htmx.status, 401);
    const api = await c.api(token, 'GET', '/api/v1/me');
    assert.equal(api.status, 401);
    assert.match((api.json as { error: string }).error, /revoked \(the password was changed\)/);
    assert.match((await first.get('/account')).text, /revoked .*\(the password was changed\)/);
  });

  it("an admin reset, a role change and disabling end the user's sessions and tokens", async () => {
    for (const [name, change] of [
      ['reset', { role: 'technician', password: 'reset-by-admin-secret-1' }],
      ['demoted', { role: 'readonly' }],
      ['disabled', { role: 'technician', disabled: 'on' }],
    ] as const) {
      const { user, first, token } = await userWithSessions('technician', name);
      await admin.get(`/settings/users/${user.id}`);
      assert.equal((await admin.post(`/settings/users/${user.id}`, change)).status, 303, name);
      assert.equal(await signedIn(first), false, `${name}: the session has ended`);
      assert.equal((await c.api(token, 'GET', '/api/v1/me')).status, 401, `${name}: the token has ended`);
    }
    // A disabled user cannot sign in again; the answer comes only after the right password.
    const again = new ConsoleClient(c.url);
    await again.get('/login');
    const refused = await again.post('/login', { username: 'disabled', password: ROLE_PASSWORD });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /This account is disabled/);
    assert.equal((await again.post('/login', { username: 'disabled', password: 'wrong-password-x' })).status, 401);
  });

  it('an admin who resets their own password in the user settings stays signed in there; their other session ends', async () => {
    const { user, first, second } = await userWithSessions('admin', 'self-admin');
    await first.get(`/settings/users/${user.id}`);
    assert.equal(
      (await first.post(`/settings/users/${user.id}`, { role: 'admin', password: 'self-admin-new-secret-1' })).status,
      303,
    );
    assert.equal(await signedIn(first), true);
    assert.equal(await signedIn(second), false);
  });

  it('an unchanged save ends nothing', async () => {
    const { user, first } = await userWithSessions('technician', 'unchanged');
    await admin.get(`/settings/users/${user.id}`);
    assert.equal((await admin.post(`/settings/users/${user.id}`, { role: 'technician' })).status, 303);
    assert.equal(await signedIn(first), true);
  });

  it('"sign out everywhere" ends every session of the user, this one too, and the tokens', async () => {
    const { first, second, token } = await userWithSessions('readonly', 'everywhere');
    await first.get('/account');
    const out = await first.post('/account/sign-out-everywhere', {});
    assert.equal(out.status, 303);
    assert.equal(out.location, '/login');
    assert.equal(await signedIn(first), false);
    assert.equal(await signedIn(second), false);
    assert.equal((await c.api(token, 'GET', '/api/v1/me')).status, 401);
    const [row] = await c.db.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM audit_log WHERE action = 'user.sign-out-everywhere'",
    );
    assert.equal(row?.n, '1');
  });

  it("an admin ends a user's sessions", async () => {
    const { user, first, second, token } = await userWithSessions('technician', 'ended');
    await admin.get(`/settings/users/${user.id}`);
    assert.equal((await admin.post(`/settings/users/${user.id}/end-sessions`, {})).status, 303);
    assert.equal(await signedIn(first), false);
    assert.equal(await signedIn(second), false);
    assert.equal((await c.api(token, 'GET', '/api/v1/me')).status, 401);
    // A new sign-in works.
    await first.login('ended', ROLE_PASSWORD);
    assert.equal(await signedIn(first), true);
  });
});

describe('API token expiry', () => {
  it('a token made with an expiry is listed with it and answers 401 with a clear message once expired', async () => {
    const me = await c.signedIn('technician', 'expiring');
    await me.get('/account');
    const bad = await me.post('/account/tokens', { name: 'too long', expiresInDays: '99999' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /expires after 1 to 3650 days/);
    const token = await createApiToken(me, 'nightly', { expiresInDays: '30' });
    assert.equal((await c.api(token, 'GET', '/api/v1/me')).status, 200);
    const [row] = await c.db.db.query<{ days: number }>(
      "SELECT round(extract(epoch FROM expires_at - created_at) / 86400)::int AS days FROM api_tokens WHERE name = 'nightly'",
    );
    assert.equal(row?.days, 30);
    // The thirty days pass (the clock is the database's: move the expiry instead of waiting).
    await c.db.db.query("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE name = 'nightly'");
    const expired = await c.api(token, 'GET', '/api/v1/me');
    assert.equal(expired.status, 401);
    assert.match(
      (expired.json as { error: string }).error,
      /^This API token expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Create a new one/,
    );
    assert.match((await me.get('/account')).text, /<span class="muted">expired<\/span>/);
  });
});

describe('lockout by user name and address', () => {
  it('failures from one address lock that address only; an admin unlocks it', async () => {
    const victim = await c.addUser('admin', 'lock-victim');
    const attacker = new ConsoleClient(c.url);
    await attacker.get('/login');
    for (let i = 0; i < MAX_FAILURES - 1; i += 1)
      assert.equal(
        (await attacker.post('/login', { username: 'lock-victim', password: `wrong-${i}` }, FROM_A)).status,
        401,
      );
    const locked = await attacker.post('/login', { username: 'lock-victim', password: 'wrong-last' }, FROM_A);
    assert.equal(locked.status, 423);
    assert.match(locked.text, /Too many failed sign-ins with this user name from your address/);
    assert.equal(
      (await attacker.post('/login', { username: 'lock-victim', password: ROLE_PASSWORD }, FROM_A)).status,
      423,
      'even the right password, from that address',
    );
    const owner = new ConsoleClient(c.url);
    await owner.get('/login');
    assert.equal(
      (await owner.post('/login', { username: 'lock-victim', password: ROLE_PASSWORD, next: '/' }, FROM_B)).status,
      303,
      'the owner elsewhere signs in',
    );
    await admin.get(`/settings/users/${victim.id}`);
    assert.equal((await admin.post(`/settings/users/${victim.id}`, { role: 'admin', unlock: 'on' })).status, 303);
    assert.equal(
      (await attacker.post('/login', { username: 'lock-victim', password: ROLE_PASSWORD, next: '/' }, FROM_A)).status,
      303,
      'unlocked',
    );
  });

  it('an unknown user name gets the same answers as a known one, failure after failure', async () => {
    await c.addUser('technician', 'known-name');
    const answers = async (username: string) => {
      const client = new ConsoleClient(c.url);
      await client.get('/login');
      const out: string[] = [];
      for (let i = 0; i <= MAX_FAILURES; i += 1) {
        const reply = await client.post(
          '/login',
          { username, password: `guess-${i}` },
          { 'x-forwarded-for': '198.51.100.7' },
        );
        const text = reply.text
          .replaceAll(username, 'NAME')
          .replace(/name="_csrf" value="[^"]+"/g, '')
          .replace(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/, 'TIME');
        out.push(`${reply.status} ${/role="alert">([^<]*)</.exec(text)?.[1] ?? ''} ${text.length}`);
      }
      return out;
    };
    const known = await answers('known-name');
    const unknown = await answers('nobody-name');
    assert.deepEqual(unknown, known);
    assert.match(known.at(-1) ?? '', /^423 Too many failed sign-ins/);
  });

  it('a wrong current password counts toward the lockout and ends the guessing session', async () => {
    const me = await c.signedIn('technician', 'guesser');
    await me.get('/account');
    for (let i = 0; i < MAX_FAILURES - 1; i += 1) {
      const wrong = await me.post('/account/password', {
        currentPassword: `nope-${i}`,
        newPassword: 'guesser-new-secret-1',
      });
      assert.equal(wrong.status, 400);
      assert.match(wrong.text, /This is not your current password/);
    }
    const last = await me.post('/account/password', {
      currentPassword: 'nope-last',
      newPassword: 'guesser-new-secret-1',
    });
    assert.match(last.text, /Too many failed sign-ins .* You are signed out\./);
    assert.equal(await signedIn(me), false);
    const again = new ConsoleClient(c.url);
    await again.get('/login');
    assert.equal(
      (await again.post('/login', { username: 'guesser', password: ROLE_PASSWORD })).status,
      423,
      'locked from that address',
    );
  });
});

describe('password policy', () => {
  it('refuses common passwords and the user name wherever a password is set', async () => {
    const common = await refusedForm(admin, '/settings/users', '/settings/users', {
      username: 'newbie',
      role: 'readonly',
      password: 'Password123',
    });
    assert.match(common.text, /on a list of the most common passwords/);
    const same = await admin.post('/settings/users', {
      username: 'newbie-user',
      role: 'readonly',
      password: 'NEWBIE-USER',
    });
    assert.equal(same.status, 400);
    assert.match(same.text, /must not be the user name/);
    const api = await c.api(await c.apiToken('admin'), 'POST', '/api/v1/users', {
      username: 'newbie',
      role: 'readonly',
      password: 'qwertyuiop',
    });
    assert.equal(api.status, 400);
    assert.match(JSON.stringify(api.json), /most common passwords/);
    const me = await c.signedIn('readonly', 'policy-me');
    await me.get('/account');
    const own = await me.post('/account/password', { currentPassword: ROLE_PASSWORD, newPassword: 'basketball' });
    assert.equal(own.status, 400);
    assert.match(own.text, /most common passwords/);
    const [count] = await c.db.db.query<{ n: string }>("SELECT count(*) AS n FROM users WHERE username LIKE 'newbie%'");
    assert.equal(count?.n, '0');
  });
});
