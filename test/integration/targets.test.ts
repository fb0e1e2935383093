/**
 * Targets through the console: bad input gets clear 4xx answers and stores nothing; "Test connection"
 * runs as a workflow and reports trust problems (with the fingerprint the device presents),
 * unreachable hosts, and for a good target the firmware and the changes a deploy would make, while
 * changing nothing on the device.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { ConsoleClient } from '../support/console-client';
import { applianceTarget } from '../support/appliance-targets';
import { refusedForm, submitForm } from '../support/console-forms';
import { addTarget } from '../support/console-actions';
import { freePort } from '../support/free-port';
import { eventually, startStack, type Stack } from '../support/stack';

describe('targets and Test connection', () => {
  let stack: Stack;
  let admin: ConsoleClient;
  let bigip: FakeBigip;

  before(async () => {
    stack = await startStack();
    bigip = await startFakeBigip({ profiles: ['clientssl-web'] });
    await stack.startWorker();
    admin = await stack.admin();
  });
  after(async () => {
    await bigip?.close();
    await stack?.stop();
  });

  const testConnection = async (targetId: string): Promise<string> => {
    await admin.get(`/targets/${targetId}`);
    const started = await admin.post(`/targets/${targetId}/preflight`, {});
    assert.equal(started.status, 303, started.text.slice(0, 500));
    return eventually(
      'the connection test to finish',
      async () => {
        const fragment = await admin.get(`/targets/${targetId}/preflight`, { 'HX-Request': 'true' });
        return fragment.text.includes('hx-trigger') || fragment.text.includes('Not tested') ? undefined : fragment.text;
      },
      60_000,
    );
  };

  it('refuses bad target input with clear messages and stores nothing', async () => {
    const unknown = await refusedForm(admin, '/targets/new?vendor=f5-bigip', '/targets', {
      vendor: 'checkpoint',
      name: 'x',
      host: 'h.example',
      trustMode: 'fingerprint',
      trustFingerprint: 'ab'.repeat(32),
    });
    assert.match(
      unknown.text,
      /Unknown target vendor &quot;checkpoint&quot;. Choose one of: fortigate, f5-bigip, panos/,
    );
    const bad = await admin.post('/targets', {
      vendor: 'f5-bigip',
      name: '',
      host: 'https://lb.example:8443',
      port: '70000',
      trustMode: 'fingerprint',
      trustFingerprint: 'not-a-fingerprint',
      cred_username: '',
      cred_password: '',
    });
    assert.equal(bad.status, 400);
    for (const message of [
      /Give the target a name/,
      /without https:\/\/ or a port/,
      /The port is a number from 1 to 65535/,
      /64 hexadecimal characters/,
    ])
      assert.match(bad.text, message);
    const insecure = await admin.post('/targets', {
      vendor: 'f5-bigip',
      name: 'lb',
      host: 'lb.example',
      trustMode: 'insecure',
      cred_username: 'u',
      cred_password: 'p',
    });
    assert.equal(insecure.status, 400);
    assert.match(insecure.text, /a CA, or a pinned fingerprint/);
    assert.equal((await stack.db.db.query('SELECT id FROM targets')).length, 0);
  });

  it('Test connection on a good target: firmware, checks, changes, and nothing changed on the device', async () => {
    const id = await addTarget(admin, applianceTarget('f5-bigip', 'LB good', bigip));
    const before = bigip.mutatingCalls();
    const fragment = await testConnection(id);
    assert.match(fragment, /passed/);
    assert.match(fragment, /firmware BIG-IP 17\./);
    assert.match(fragment, /no client-ssl profile chosen yet/);
    assert.equal(bigip.mutatingCalls(), before, 'preflight changed nothing');
    assert.equal(bigip.activeTokens(), 0, 'the session token was deleted');
    const stored = JSON.stringify(await stack.db.db.query('SELECT * FROM targets'));
    assert.ok(!stored.includes(bigip.password), 'credentials are sealed');
  });

  it('a wrong pinned fingerprint is reported with the fingerprint the device presents', async () => {
    const id = await addTarget(admin, {
      ...applianceTarget('f5-bigip', 'LB wrong pin', bigip),
      fingerprint: 'ab'.repeat(32),
    });
    const fragment = await testConnection(id);
    assert.match(fragment, /failed/);
    assert.match(fragment, /not trusted/);
    assert.ok(fragment.includes(bigip.managementFingerprint), 'shows the fingerprint to pin');
  });

  it('an unreachable host and bad credentials are reported clearly', async () => {
    const closedPort = await freePort();
    const unreachable = await addTarget(admin, {
      vendor: 'f5-bigip',
      name: 'LB down',
      host: '127.0.0.1',
      port: closedPort,
      fingerprint: bigip.managementFingerprint,
      credentials: { username: 'x', password: 'y' },
    });
    assert.match(await testConnection(unreachable), /cannot reach 127\.0\.0\.1:\d+/);
    // A technician sees the category, not the address behind it.
    await submitForm(admin, '/settings/users', '/settings/users', {
      username: 'tech-view',
      role: 'technician',
      password: 'tech-view-password-1',
    });
    const technician = new ConsoleClient(stack.web.url);
    await technician.login('tech-view', 'tech-view-password-1');
    const coarse = (await technician.get(`/targets/${unreachable}/preflight`, { 'HX-Request': 'true' })).text;
    assert.match(coarse, /f5-bigip: cannot reach an internal address: connection refused(<|$| )/);
    assert.ok(!coarse.includes('127.0.0.1') && !coarse.includes('ECONNREFUSED'), coarse);
    const wrong = await addTarget(admin, applianceTarget('f5-bigip', 'LB bad password', bigip, 'wrong-password'));
    const fragment = await testConnection(wrong);
    assert.match(fragment, /failed/);
    assert.ok(!fragment.includes('wrong-password'));
    assert.match(fragment, /f5-bigip: .*(rejected|authentication|credentials)/i);
  });

  it('"Fetch the fingerprint": the certificate an unsaved address presents, through the worker; bad input is a 400', async () => {
    await admin.get('/targets/new?vendor=f5-bigip');
    const hx = { 'HX-Request': 'true' };
    const bad = await admin.post(
      '/targets/fetch-fingerprint',
      { vendor: 'f5-bigip', host: 'https://lb.example', port: '443' },
      hx,
    );
    assert.equal(bad.status, 400);
    assert.match(
      bad.text,
      /<p class="error" role="alert">Enter only the host name or IP, without https:\/\/ or a port.<\/p>/,
    );
    assert.equal(
      (await admin.post('/targets/fetch-fingerprint', { vendor: 'f5-bigip', host: bigip.host, port: '70000' }, hx))
        .status,
      400,
    );
    const audited = async () =>
      stack.db.db.query<{ after: { host: string; port: number } }>(
        "SELECT after FROM audit_log WHERE action = 'target.fetch-fingerprint' ORDER BY id",
      );
    assert.equal((await audited()).length, 0, 'refused requests start nothing');

    /** The fragment once the workflow ended: the answer to the request, or the polls it asks for. */
    const fetchFingerprint = async (host: string, port: number): Promise<string> => {
      const first = await admin.post(
        '/targets/fetch-fingerprint',
        { vendor: 'f5-bigip', host, port: String(port) },
        hx,
      );
      assert.equal(first.status, 200, first.text);
      const id = /fetch-fingerprint\?id=([^"]+)"/.exec(first.text)?.[1];
      if (!id) return first.text;
      return eventually(
        'the fetched fingerprint',
        async () => {
          const poll = await admin.get(`/targets/fetch-fingerprint?id=${id}`, hx);
          return poll.text.includes('hx-trigger') ? undefined : poll.text;
        },
        30_000,
      );
    };
    const done = await fetchFingerprint(bigip.host, bigip.port);
    assert.ok(
      done.includes(`<dd class="mono wrap" id="presented-fingerprint">${bigip.managementFingerprint}</dd>`),
      done,
    );
    assert.ok(done.includes(`data-pin-fingerprint="${bigip.managementFingerprint}"`));
    assert.match(
      done,
      /does not chain to the system trust store/,
      "the fake's self-signed certificate is not trusted by the system",
    );
    assert.match(done, /<dt>Valid<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC to \d{4}-/);

    const closedPort = await freePort();
    assert.match(
      await fetchFingerprint('127.0.0.1', closedPort),
      new RegExp(`fetch fingerprint: 127\\.0\\.0\\.1:${closedPort} refused the connection`),
    );
    assert.deepEqual(
      (await audited()).map((a) => `${a.after.host}:${a.after.port}`),
      [`${bigip.host}:${bigip.port}`, `127.0.0.1:${closedPort}`],
    );
  });

  it('refuses at connect time a host name that resolves to a refused address, before any request to the device', async () => {
    const credentials = { username: bigip.username, password: bigip.password };
    const id = await addTarget(admin, {
      vendor: 'f5-bigip',
      name: 'LB renamed',
      host: 'localhost',
      port: bigip.port,
      fingerprint: bigip.managementFingerprint,
      credentials,
    });
    // The name now resolves to the metadata service (a DNS record changed after the target was saved;
    // here the all-digits name getaddrinfo resolves to 169.254.169.254).
    await stack.db.db.query('UPDATE targets SET host = $1 WHERE id = $2', ['2852039166', id]);
    const calls = bigip.calls.length;
    const metadata = await testConnection(id);
    assert.match(metadata, /failed/);
    assert.match(
      metadata,
      /refused to connect: 2852039166 resolves to 169\.254\.169\.254: .*link-local, metadata-service/,
    );

    // With allowed networks listed, a name resolving outside them is refused the same way.
    await stack.db.db.query('UPDATE targets SET host = $1 WHERE id = $2', ['localhost', id]);
    await admin.get('/settings/networks');
    assert.equal((await admin.post('/settings/networks', { allowed: '10.0.0.0/8' })).status, 303);
    try {
      assert.match(
        await testConnection(id),
        /refused to connect: localhost resolves to (127\.0\.0\.1|::1): .*not in the networks targets may point to/,
      );
    } finally {
      assert.equal((await admin.post('/settings/networks', { allowed: '' })).status, 303);
    }
    assert.equal(bigip.calls.length, calls, 'the device saw no request');
    assert.match(await testConnection(id), /passed/, 'allowed again once the list is empty');
  });
});
