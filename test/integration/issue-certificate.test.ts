/**
 * End to end on the real stack, through the console's HTTP interface: sign in, add Pebble and a
 * Cloudflare provider, request *.example.test, wait for the workflow, download and verify the chain,
 * see the email, and see the TXT record gone. Failure paths: propagation timeout and a bad token.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { splitPemChain } from '../../activities/crypto/pem';
import { SMTPServer } from 'smtp-server';
import { ConsoleClient } from '../support/console-client';
import { openPkcs12WithOpenssl } from '../support/pkcs12-openssl';
import { addCloudflareProvider, waitForRunToEnd } from '../support/console-actions';
import { refusedForm } from '../support/console-forms';
import { signInNewUser, signInWithIssuer, type ConsoleIssuer } from '../support/issuing-stack';
import { ADMIN_PASSWORD, ALERT_RECIPIENT, CLOUDFLARE_TOKEN, startStack, type Stack } from '../support/stack';

describe('issuing a certificate through the console', () => {
  let stack: Stack;
  let issuer: ConsoleIssuer;
  let admin: ConsoleClient;
  let directoryId: string;
  let providerId: string;

  before(async () => {
    stack = await startStack({ propagationTimeoutMs: 3_000 });
    await stack.startWorker();
    issuer = await signInWithIssuer(stack, 'Customer A Cloudflare');
    ({ admin, directoryId, providerId } = issuer);
  });
  after(async () => {
    await stack?.stop();
  });

  const issuedId = async (): Promise<string> => {
    const rows = await stack.db.db.query<{ id: string }>(
      "SELECT id FROM certificates WHERE common_name = '*.example.test'",
    );
    assert.ok(rows[0], 'the wildcard was issued by the first test');
    return rows[0].id;
  };

  it('issues *.example.test, stores it encrypted, emails, and removes the TXT record', async () => {
    const { id, fragment } = await issuer.issue('*.example.test');
    assert.match(fragment, /run-COMPLETED/);
    assert.match(fragment, /Finalize and store version/);

    const page = await admin.get(`/certificates/${id}`);
    assert.match(page.text, /status-valid/);
    assert.match(page.text, /open in Temporal UI/);

    // The PEM bundle chains to Pebble's issuing root.
    const pem = await admin.getBytes(`/certificates/${id}/download/fullchain.pem`);
    assert.equal(pem.status, 200);
    const [leafPem, ...chainPems] = splitPemChain(pem.body.toString('utf8'));
    assert.ok(leafPem && chainPems.length >= 1, 'leaf plus at least one intermediate');
    const leaf = new X509Certificate(leafPem);
    assert.match(leaf.subjectAltName ?? '', /DNS:\*\.example\.test/);
    const root = new X509Certificate(await stack.pebble.rootPem());
    let child = leaf;
    for (const pemText of chainPems) {
      const issuer = new X509Certificate(pemText);
      assert.ok(child.verify(issuer.publicKey), `${child.subject} is signed by ${issuer.subject}`);
      child = issuer;
    }
    assert.ok(child.verify(root.publicKey), "the chain ends at Pebble's root");

    // The key download matches the certificate, and the key is sealed in the database.
    const key = await admin.getBytes(`/certificates/${id}/download/key.pem`);
    assert.equal(key.status, 200);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(key.body)));
    const rows = await stack.db.db.query<{ key_encrypted: string }>(
      'SELECT key_encrypted FROM certificate_versions WHERE certificate_id = $1',
      [id],
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0]?.key_encrypted ?? '', /^v1\./);
    assert.ok(!(rows[0]?.key_encrypted ?? '').includes('PRIVATE KEY'));
    const tokens = await stack.db.db.query<{ secrets: string }>(
      'SELECT secrets_encrypted::text AS secrets FROM dns_providers',
    );
    assert.ok(tokens.every((t) => !t.secrets.includes(CLOUDFLARE_TOKEN) && /"token": "v1\./.test(t.secrets)));

    // A PFX with a chosen password: opened by openssl, it holds this version's certificate, its key and its chain.
    await admin.get(`/certificates/${id}`);
    const pfx = await admin.postBytes(`/certificates/${id}/download/pfx`, { password: 'correct horse battery' });
    assert.equal(pfx.status, 200);
    assert.equal(pfx.headers.get('content-type'), 'application/x-pkcs12');
    assert.match(pfx.headers.get('content-disposition') ?? '', /filename="?wildcard\.example\.test\.pfx"?$/);
    assert.equal(pfx.headers.get('cache-control'), 'no-store');
    const opened = openPkcs12WithOpenssl(pfx.body, 'correct horse battery');
    assert.deepEqual(
      opened.leafPems.map((p) => new X509Certificate(p).fingerprint256),
      [leaf.fingerprint256],
      'the leaf is the current version',
    );
    assert.deepEqual(
      opened.chainPems.map((p) => new X509Certificate(p).fingerprint256).sort(),
      chainPems.map((p) => new X509Certificate(p).fingerprint256).sort(),
      "the chain is the version's chain",
    );
    assert.ok(leaf.checkPrivateKey(createPrivateKey(opened.keyPem)), "the key in the PFX is the certificate's key");
    assert.equal(
      createPrivateKey(opened.keyPem).export({ format: 'der', type: 'pkcs8' }).toString('hex'),
      createPrivateKey(key.body).export({ format: 'der', type: 'pkcs8' }).toString('hex'),
      'the same key as the key download',
    );
    assert.throws(
      () => openPkcs12WithOpenssl(pfx.body, 'not the password'),
      /mac verify failure|invalid password/i,
      'the chosen password protects it',
    );

    // The email reached the SMTP server, without secrets.
    const mail = await stack.smtp.waitFor((m) => m.subject.includes('Issued *.example.test'), 10_000);
    assert.deepEqual(mail.to, [ALERT_RECIPIENT]);
    assert.match(mail.text, new RegExp(`/certificates/${id}`));
    assert.ok(!mail.raw.includes(CLOUDFLARE_TOKEN) && !mail.raw.includes('PRIVATE KEY'));

    // The TXT record is gone from Cloudflare (and thus from DNS).
    assert.deepEqual(
      stack.cloudflare.records().filter((r) => r.type === 'TXT'),
      [],
    );
    const creates = stack.cloudflare.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/dns_records'));
    const deletes = stack.cloudflare.calls.filter((c) => c.method === 'DELETE');
    assert.ok(creates.length >= 1 && deletes.length === creates.length, 'every created record was deleted');
  });

  it('refuses a bad name with a 400 and stores nothing', async () => {
    await admin.get('/certificates/new');
    const before = await stack.db.db.query('SELECT id FROM certificates');
    for (const commonName of [
      'a.example.test, b.example.test',
      '*.*.example.test',
      'not a name',
      '<script>alert(1)</script>',
    ]) {
      const response = await admin.post('/certificates', {
        commonName,
        dnsProviderId: providerId,
        acmeDirectoryId: directoryId,
        keyType: 'ecdsa-p256',
        renewalMode: 'fraction',
      });
      assert.equal(response.status, 400, commonName);
      assert.match(response.text, /class="field-error"/);
      assert.ok(!response.text.includes('<script>alert(1)</script>'), 'hostile input is escaped');
    }
    const afterRows = await stack.db.db.query('SELECT id FROM certificates');
    assert.equal(afterRows.length, before.length);
  });

  it('a propagation timeout fails clearly, names the nameserver, stores no version and removes the TXT', async () => {
    stack.cloudflare.setPushToDns(false);
    try {
      const { id, fragment } = await issuer.issue('slow.example.test');
      assert.match(fragment, /run-FAILED/);
      const page = await admin.get(`/certificates/${id}`);
      assert.match(page.text, /status-failed/);
      assert.match(
        page.text,
        new RegExp(`not visible after \\d+s at 1 of 1 nameservers: ${stack.pebble.dnsServer.replace(/\./g, '\\.')}`),
      );
      const versions = await stack.db.db.query('SELECT id FROM certificate_versions WHERE certificate_id = $1', [id]);
      assert.equal(versions.length, 0);
      assert.deepEqual(
        stack.cloudflare.records().filter((r) => r.name.startsWith('_acme-challenge.slow')),
        [],
      );
      await stack.smtp.waitFor((m) => m.subject.includes('FAILED') && m.subject.includes('slow.example.test'), 10_000);
    } finally {
      stack.cloudflare.setPushToDns(true);
    }
  });

  it('a bad Cloudflare token fails clearly before any ACME order and stores nothing half-done', async () => {
    const badProvider = await addCloudflareProvider(admin, stack, 'Revoked token', 'not-the-right-token');
    const ordersBefore = await stack.db.db.query('SELECT id FROM acme_orders');
    const { id, fragment } = await issuer.issue('badtoken.example.test', badProvider);
    assert.match(fragment, /run-FAILED/);
    const page = await admin.get(`/certificates/${id}`);
    assert.match(page.text, /the API token was rejected/);
    assert.ok(!page.text.includes('not-the-right-token'), 'the token never appears in the page');
    const versions = await stack.db.db.query('SELECT id FROM certificate_versions WHERE certificate_id = $1', [id]);
    assert.equal(versions.length, 0);
    const ordersAfter = await stack.db.db.query('SELECT id FROM acme_orders');
    assert.equal(ordersAfter.length, ordersBefore.length, 'no ACME order was spent');
  });

  it('enforces roles on the server: read-only sees and downloads the chain, but changes nothing and gets no key', async () => {
    const id = await issuedId();
    const viewer = await signInNewUser(stack, { username: 'viewer', role: 'readonly', password: 'viewer-password-1' });
    assert.equal((await viewer.get(`/certificates/${id}`)).status, 200);
    assert.equal((await viewer.getBytes(`/certificates/${id}/download/fullchain.pem`)).status, 200);
    assert.equal((await viewer.getBytes(`/certificates/${id}/download/key.pem`)).status, 403);
    assert.equal(
      (await viewer.post(`/certificates/${id}/download/pfx`, { password: 'long enough password' })).status,
      403,
    );
    assert.equal((await viewer.get('/certificates/new')).status, 403);
    assert.equal(
      (
        await viewer.post('/certificates', {
          commonName: 'viewer.example.test',
          dnsProviderId: providerId,
          acmeDirectoryId: directoryId,
        })
      ).status,
      403,
    );
    assert.equal((await viewer.post(`/certificates/${id}/renew`, {})).status, 403);
    assert.equal((await viewer.post(`/certificates/${id}/delete`, { confirm: '*.example.test' })).status, 403);
    assert.equal((await viewer.post('/dns-providers', { name: 'x', token: 'y' })).status, 403);
    assert.equal((await viewer.get('/settings')).status, 403);
    assert.equal(
      (await viewer.post('/settings/acme-directories', { name: 'x', url: 'https://x.example/dir' })).status,
      403,
    );
    // Without a session nothing is reachable, and a state change without the CSRF token is refused.
    const anonymous = new ConsoleClient(stack.web.url);
    assert.equal((await anonymous.get(`/certificates/${id}`)).status, 303);
    assert.equal((await anonymous.getBytes(`/certificates/${id}/download/fullchain.pem`)).status, 303);
    admin.csrf = 'forged';
    assert.equal((await admin.post(`/certificates/${id}/renew`, {})).status, 403);
    await admin.get('/');
  });

  it('sessions: HttpOnly and SameSite=Lax cookie, a fresh session id at login, gone at logout', async () => {
    const browser = new ConsoleClient(stack.web.url);
    await browser.get('/login');
    assert.equal(
      browser.cookie('certfleet.sid'),
      undefined,
      'the login form stores no session (its CSRF token goes with a signed cookie)',
    );
    const csrfCookie = browser.lastSetCookies.find((c) => c.startsWith('certfleet.csrf='));
    assert.ok(csrfCookie);
    assert.match(csrfCookie, /HttpOnly/i);
    assert.match(csrfCookie, /SameSite=Lax/i);
    await browser.post('/login', { username: 'admin', password: 'wrong' });
    assert.equal(browser.cookie('certfleet.sid'), undefined, 'nor does a failed sign-in');
    const loggedIn = await browser.post('/login', {
      username: 'admin',
      password: ADMIN_PASSWORD,
      next: '//evil.example/',
    });
    assert.equal(loggedIn.location, '/', 'never redirected to another site after login');
    const cookie = browser.lastSetCookies.find((c) => c.startsWith('certfleet.sid='));
    assert.ok(cookie);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    const first = browser.cookie('certfleet.sid');
    await browser.get('/');
    assert.equal(
      (await browser.post('/login', { username: 'admin', password: ADMIN_PASSWORD, next: '/' })).status,
      303,
    );
    assert.notEqual(browser.cookie('certfleet.sid'), first, 'a new session id at every login');
    const home = await browser.get('/');
    assert.equal(home.status, 200);
    assert.equal(home.headers.get('content-security-policy')?.includes("script-src 'self'"), true);
    await browser.post('/logout', {});
    assert.equal((await browser.get('/')).status, 303);
  });

  it('keeps an audit trail of changes and key downloads, without secrets', async () => {
    const rows = await stack.db.db.query<{ actor: string; action: string; after: unknown; actor_ip: string | null }>(
      'SELECT actor, action, after, actor_ip FROM audit_log ORDER BY id',
    );
    const actions = rows.map((r) => r.action);
    for (const action of [
      'login',
      'acme-directory.upsert',
      'dns-provider.create',
      'certificate.create',
      'certificate.issue',
      'certificate.download-key',
      'certificate.download-pfx',
    ]) {
      assert.ok(actions.includes(action), `audit has ${action}`);
    }
    assert.ok(
      rows.filter((r) => r.action !== 'login-failed').every((r) => r.actor === 'admin' || r.actor === 'viewer'),
    );
    assert.ok(
      rows.every((r) => r.actor_ip),
      'every entry has the client address',
    );
    const dump = JSON.stringify(rows);
    assert.ok(
      !dump.includes(CLOUDFLARE_TOKEN) && !dump.includes('not-the-right-token') && !dump.includes('PRIVATE KEY'),
    );
  });

  it('email settings saved in the console win over the environment; the SMTP password is sealed', async () => {
    const received: { from: string; to: string[]; user: string | undefined }[] = [];
    // A server without TLS: the admin allows the password without TLS explicitly (smtp-tls.test.ts has the default).
    const server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'mailer' && auth.password === 'smtp-secret-ü1') callback(null, { user: auth.username });
        else callback(new Error('bad credentials'));
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.server.address() as { port: number }).port;
      const bad = await refusedForm(admin, '/settings', '/settings/email', {
        host: '127.0.0.1',
        port: '99999',
        from: 'nobody',
        recipients: 'not-an-address',
      });
      assert.match(bad.text, /The port is a number/);
      assert.match(bad.text, /is not an email address/);
      const saved = await admin.post('/settings/email', {
        host: '127.0.0.1',
        port: String(port),
        username: 'mailer',
        password: 'smtp-secret-ü1',
        allowPasswordWithoutTls: 'on',
        from: 'CertFleet DB <certfleet@db.example>',
        recipients: 'oncall@db.example, noc@db.example',
      });
      assert.equal(saved.status, 303, saved.text.slice(0, 500));
      const stored = JSON.stringify(await stack.db.db.query("SELECT value FROM settings WHERE key = 'smtp'"));
      assert.ok(!stored.includes('smtp-secret'), 'the SMTP password is not stored in plaintext');

      const id = await issuedId();
      await admin.get(`/certificates/${id}`);
      assert.equal((await admin.post(`/certificates/${id}/renew`, {})).status, 303);
      await waitForRunToEnd(admin, id);
      const deadline = Date.now() + 15_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(received[0], {
        from: 'certfleet@db.example',
        to: ['oncall@db.example', 'noc@db.example'],
        user: 'mailer',
      });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
