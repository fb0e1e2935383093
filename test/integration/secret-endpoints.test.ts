/**
 * A sealed secret never reaches a re-pointed endpoint (issue 11 item 1). A listener the test controls
 * plays the attacker's address: a technician cannot move a target, a DNS provider or the SMTP server
 * to it while keeping the stored secret, and a row re-pointed in SQL cannot unseal its secret, so
 * "Test connection", "Verify token" and "Send test email" fail with a message to act on and the
 * listener receives nothing at all. API base URLs are https-only and admin-only; an endpoint change
 * is audited and mailed to the alert recipients.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { SMTPServer } from 'smtp-server';
import pino from 'pino';
import { sealTargetCredentials } from '../../activities/crypto/bound-secrets';
import { createSecretBox, SecretPurpose } from '../../activities/crypto/secret-box';
import { getTarget } from '../../activities/db/repositories/targets';
import { insertUser } from '../../activities/db/repositories/users';
import { createDeployActivities } from '../../activities/deploy';
import { ClassifiedError, toApplicationFailure } from '../../activities/errors';
import { activityDepsFrom } from '../../worker/activity-deps';
import { loadWorkerConfig } from '../../worker/config';
import {
  dnsProviderCheckWorkflowId,
  FailureType,
  preflightWorkflowId,
  type DnsProviderCheckResult,
  type PreflightResult,
  type TestEmailResult,
} from '../../temporal/contract';
import { hashPassword } from '../../web/passwords';
import { createTestCa } from '../support/certificates';
import { addCloudflareProvider, addTarget } from '../support/console-actions';
import { ConsoleClient } from '../support/console-client';
import { seedFleet } from '../support/seed';
import { ALERT_RECIPIENT, CLOUDFLARE_TOKEN, startStack, type Stack } from '../support/stack';

const FORTIGATE_TOKEN = 'fortigate-bound-token-' + Date.now();
const SMTP_PASSWORD = 'smtp-bound-password-' + Date.now();
const TECH_PASSWORD = 'technician-password-1234';

/** An address the "attacker" controls: counts connections and records every request it is sent. */
interface Listener {
  host: string;
  port: number;
  url: string;
  connections: number;
  received: string[];
  close: () => Promise<void>;
}

async function startListener(tls?: { cert: string; key: string }): Promise<Listener> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(
        `${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n${Buffer.concat(chunks).toString('utf8')}`,
      );
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"success":false,"errors":[{"code":10000,"message":"no"}]}');
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  const listener = { host: '127.0.0.1', port: 0, url: '', connections: 0, received } as Listener;
  server.on('connection', (socket: Socket) => {
    listener.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listener.port = (server.address() as AddressInfo).port;
  listener.url = `${tls ? 'https' : 'http'}://127.0.0.1:${listener.port}/client/v4`;
  listener.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return listener;
}

/** An HTTPS listener with its own certificate, for a pin the "attacker" chooses. */
async function startTlsListener(): Promise<Listener & { fingerprint: string }> {
  const ca = createTestCa();
  const leaf = ca.issue('127.0.0.1');
  ca.dispose();
  const listener = await startListener({ cert: leaf.certPem + leaf.chainPems.join(''), key: leaf.keyPem });
  return Object.assign(listener, { fingerprint: leaf.fingerprintSha256 });
}

/** An SMTP server that requires a login and records every password it is given. */
async function startSmtpLogin(): Promise<{
  port: number;
  connections: number;
  passwords: string[];
  close(): Promise<void>;
}> {
  const passwords: string[] = [];
  const state = { connections: 0 };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    closeTimeout: 200,
    onConnect(_session, callback) {
      state.connections += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      passwords.push(auth.password ?? '');
      callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback(null));
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    passwords,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('a sealed secret never reaches a re-pointed endpoint', () => {
  let stack: Stack;
  let admin: ConsoleClient;
  let tech: ConsoleClient;
  let temporal: Client;
  let connection: Connection;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    stack = await startStack();
    await stack.startWorker();
    admin = await stack.admin();
    await stack.db.db.withTransaction(async (tx) =>
      insertUser(tx, { username: 'tech', role: 'technician', passwordHash: await hashPassword(TECH_PASSWORD) }),
    );
    tech = new ConsoleClient(stack.web.url);
    await tech.login('tech', TECH_PASSWORD);
    connection = await Connection.connect({ address: stack.temporal.address });
    temporal = new Client({ connection, namespace: 'default' });
  });
  after(async () => {
    for (const close of closers) await close().catch(() => undefined);
    await connection?.close();
    await stack?.stop();
  });

  const row = async <T>(sql: string, params: unknown[]): Promise<T> =>
    (await stack.db.db.query<T & Record<string, unknown>>(sql, params))[0] as T;
  /** The audit entry of a deliberate address change of a target or DNS provider: who, and from what to what. */
  const endpointChange = (kind: 'target' | 'dns-provider', id: string) =>
    row<{ actor: string; before: unknown; after: unknown }>(
      'SELECT actor, before, after FROM audit_log WHERE action = $1 AND entity_id = $2',
      [`${kind}.endpoint-change`, id],
    );

  it('target: a new address needs the secret again; a row re-pointed in SQL sends nothing on Test connection', async () => {
    const attacker = await startTlsListener();
    closers.push(attacker.close);
    const id = await addTarget(admin, {
      vendor: 'fortigate',
      name: 'FW bound',
      host: 'fw.bound.example.test',
      port: 443,
      fingerprint: 'ab'.repeat(32),
      credentials: { token: FORTIGATE_TOKEN },
      options: { vdom: 'root' },
    });
    const stored = await row<{ customer_id: string; credentials_encrypted: string }>(
      'SELECT customer_id, credentials_encrypted FROM targets WHERE id = $1',
      [id],
    );

    await tech.get(`/targets/${id}/edit`);
    const moved = await tech.post(`/targets/${id}`, {
      name: 'FW bound',
      customerId: stored.customer_id,
      host: attacker.host,
      port: String(attacker.port),
      trustMode: 'fingerprint',
      trustFingerprint: attacker.fingerprint,
      cred_token: '',
      opt_vdom: 'root',
    });
    assert.equal(moved.status, 400, 'moving the target while keeping its secret is refused');
    assert.match(moved.text, /The address changed: enter the REST API token again/);
    const unchanged = await row<{
      host: string;
      port: number;
      trust_fingerprint: string;
      credentials_encrypted: string;
    }>('SELECT host, port, trust_fingerprint, credentials_encrypted FROM targets WHERE id = $1', [id]);
    assert.deepEqual(
      unchanged,
      {
        host: 'fw.bound.example.test',
        port: 443,
        trust_fingerprint: 'ab'.repeat(32),
        credentials_encrypted: stored.credentials_encrypted,
      },
      'nothing saved',
    );

    // Any other path that re-points the row (SQL, a restored backup, a bug) cannot unseal the secret either.
    await stack.db.db.query('UPDATE targets SET host = $2, port = $3, trust_fingerprint = $4 WHERE id = $1', [
      id,
      attacker.host,
      attacker.port,
      attacker.fingerprint,
    ]);
    await tech.get(`/targets/${id}`);
    assert.equal((await tech.post(`/targets/${id}/preflight`, {})).status, 303);
    const result = (await temporal.workflow.getHandle(preflightWorkflowId(id)).result()) as PreflightResult;
    assert.equal(result.ok, false);
    assert.match(
      result.error ?? '',
      /^fortigate: the stored credentials of FW bound belong to another address .*edit the target and enter them again$/,
    );
    assert.ok(!JSON.stringify(result).includes(FORTIGATE_TOKEN));
    assert.equal(attacker.connections, 0, 'nothing connected to the re-pointed address');
    assert.ok(!attacker.received.join('\n').includes(FORTIGATE_TOKEN));

    // Moved on purpose, with the token entered again: saved, audited with both endpoints, mailed to the admins.
    const repointed = await tech.post(`/targets/${id}`, {
      name: 'FW bound',
      customerId: stored.customer_id,
      host: 'fw2.bound.example.test',
      port: '443',
      trustMode: 'fingerprint',
      trustFingerprint: 'cd'.repeat(32),
      cred_token: 'fortigate-new-token',
      opt_vdom: 'root',
    });
    assert.equal(repointed.status, 303, repointed.text.slice(0, 500));
    const audit = await endpointChange('target', id);
    assert.equal(audit.actor, 'tech');
    assert.match(
      JSON.stringify(audit.before),
      new RegExp(`"127\\.0\\.0\\.1",${attacker.port},null,"${attacker.fingerprint}"`),
    );
    assert.match(JSON.stringify(audit.after), /"fw2\.bound\.example\.test",443,null,"(cd){32}"/);
    assert.ok(!JSON.stringify(audit).includes('fortigate-new-token'));
    const mail = await stack.smtp.waitFor((m) => m.subject === '[CertFleet] Address changed: target FW bound', 60_000);
    assert.deepEqual(mail.to, [ALERT_RECIPIENT]);
    assert.match(mail.text, /tech \(from [^)]+\) changed where the secrets of target FW bound are sent/);
    assert.ok(
      mail.text.includes('fw2.bound.example.test') &&
        !mail.raw.includes('fortigate-new-token') &&
        !mail.raw.includes(FORTIGATE_TOKEN),
    );
  });

  it('DNS provider: the API URL is https-only and admin-only, a new one needs the token again, a re-pointed row sends nothing on Verify token', async () => {
    const attacker = await startListener();
    closers.push(attacker.close);
    const id = await addCloudflareProvider(admin, stack, 'CF bound');
    const form = (apiBaseUrl: string, token = '') => ({
      name: 'CF bound',
      zoneName: '',
      zoneId: '',
      apiBaseUrl,
      token,
    });
    const stored = await row<{ config: unknown; secrets_encrypted: unknown }>(
      'SELECT config, secrets_encrypted FROM dns_providers WHERE id = $1',
      [id],
    );

    await tech.get(`/dns-providers/${id}`);
    const byTech = await tech.post(`/dns-providers/${id}`, form(attacker.url));
    assert.equal(byTech.status, 403);
    assert.match(byTech.text, /Only an admin can set or change the API base URL of a DNS provider/);
    const newByTech = await tech.post('/dns-providers', {
      kind: 'cloudflare',
      ...form(attacker.url, 'cf-some-token'),
      name: 'CF tech',
    });
    assert.equal(newByTech.status, 403);
    assert.equal(
      (await tech.post(`/dns-providers/${id}`, { ...form(stack.cloudflare.baseUrl), name: 'CF bound renamed' })).status,
      303,
      'a technician still edits the rest',
    );

    await admin.get(`/dns-providers/${id}`);
    const plain = await admin.post(
      `/dns-providers/${id}`,
      form('http://api.cloudflare.example/client/v4', 'cf-some-token'),
    );
    assert.equal(plain.status, 400);
    assert.match(plain.text, /must start with https:\/\//);
    const keep = await admin.post(`/dns-providers/${id}`, form(attacker.url));
    assert.equal(keep.status, 400);
    assert.match(keep.text, /The API address changed: enter the API token again/);
    const unchanged = await row<{ config: unknown; secrets_encrypted: unknown }>(
      'SELECT config, secrets_encrypted FROM dns_providers WHERE id = $1',
      [id],
    );
    assert.deepEqual(unchanged, stored, 'nothing saved');

    await stack.db.db.query(
      "UPDATE dns_providers SET config = jsonb_set(config, '{apiBaseUrl}', to_jsonb($2::text)) WHERE id = $1",
      [id, attacker.url],
    );
    assert.equal((await tech.post(`/dns-providers/${id}/verify`, {})).status, 303);
    const check = (await temporal.workflow
      .getHandle(dnsProviderCheckWorkflowId(id))
      .result()) as DnsProviderCheckResult;
    assert.equal(check.ok, false);
    assert.match(
      check.detail,
      /cloudflare: the stored credentials of DNS provider "CF bound renamed" belong to another API address; edit the provider and enter them again/,
    );
    assert.equal(attacker.connections, 0, 'nothing connected to the re-pointed API URL');
    assert.ok(!attacker.received.join('\n').includes(CLOUDFLARE_TOKEN));

    // An admin moves it on purpose, with the token: audited (both addresses, no token) and mailed to the admins.
    const other = await startListener();
    closers.push(other.close);
    await stack.db.db.query(
      "UPDATE dns_providers SET config = jsonb_set(config, '{apiBaseUrl}', to_jsonb($2::text)) WHERE id = $1",
      [id, stack.cloudflare.baseUrl],
    );
    const repointed = await admin.post(`/dns-providers/${id}`, form(other.url, 'cf-token-for-the-proxy'));
    assert.equal(repointed.status, 303, repointed.text.slice(0, 500));
    const audit = await endpointChange('dns-provider', id);
    assert.equal(audit.actor, 'admin');
    assert.match(
      JSON.stringify(audit.before),
      new RegExp(stack.cloudflare.baseUrl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')),
    );
    assert.match(JSON.stringify(audit.after), new RegExp(other.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.ok(!JSON.stringify(audit).includes('cf-token-for-the-proxy'));
    const mail = await stack.smtp.waitFor(
      (m) => m.subject === '[CertFleet] Address changed: dns provider CF bound',
      60_000,
    );
    assert.deepEqual(mail.to, [ALERT_RECIPIENT]);
    assert.ok(mail.text.includes(other.url) && mail.text.includes('admin'), mail.text);
    assert.ok(!mail.raw.includes('cf-token-for-the-proxy') && !mail.raw.includes(CLOUDFLARE_TOKEN));
  });

  it('SMTP: a new server needs the password again; settings re-pointed in SQL send no password', async () => {
    const [server, attacker] = await Promise.all([startSmtpLogin(), startSmtpLogin()]);
    closers.push(
      () => server.close(),
      () => attacker.close(),
    );
    const settings = (port: number, password: string) => ({
      host: '127.0.0.1',
      port: String(port),
      username: 'certfleet',
      password,
      from: 'CertFleet <certfleet@msp.example>',
      recipients: ALERT_RECIPIENT,
    });
    await admin.get('/settings/email');
    assert.equal((await admin.post('/settings/email', settings(server.port, SMTP_PASSWORD))).status, 303);
    const stored = await row<{ value: unknown }>("SELECT value FROM settings WHERE key = 'smtp'", []);
    const moved = await admin.post('/settings/email', settings(attacker.port, ''));
    assert.equal(moved.status, 400);
    assert.match(moved.text, /The server changed: enter the password again/);
    assert.deepEqual(
      await row<{ value: unknown }>("SELECT value FROM settings WHERE key = 'smtp'", []),
      stored,
      'nothing saved',
    );

    await stack.db.db.query(
      "UPDATE settings SET value = jsonb_set(value, '{port}', to_jsonb($1::int)) WHERE key = 'smtp'",
      [attacker.port],
    );
    const sent = await admin.post('/settings/email/test', {});
    assert.equal(sent.status, 303);
    const workflowId = new URL(sent.location ?? '', stack.web.url).searchParams.get('test') ?? '';
    const result = (await temporal.workflow.getHandle(workflowId).result()) as TestEmailResult;
    assert.equal(result.sent, false);
    assert.match(
      result.detail,
      /email: the stored SMTP password belongs to another server .*enter it again in Settings → Email/,
    );
    assert.equal(attacker.connections, 0, 'nothing connected to the re-pointed SMTP server');
    assert.deepEqual(attacker.passwords, []);
    assert.ok(!result.detail.includes(SMTP_PASSWORD));

    // Put back on purpose, with the password: saved, and the move is audited without the password.
    assert.equal((await admin.post('/settings/email', settings(server.port, SMTP_PASSWORD))).status, 303);
    const audit = await row<{ before: unknown; after: unknown }>(
      "SELECT before, after FROM audit_log WHERE action = 'settings.smtp-endpoint-change' ORDER BY id DESC LIMIT 1",
      [],
    );
    assert.deepEqual(audit, {
      before: { endpoint: ['smtp', '127.0.0.1', attacker.port, false] },
      after: { name: 'SMTP server', endpoint: ['smtp', '127.0.0.1', server.port, false] },
    });
  });

  it("deploy activity: a re-pointed target's credentials are never sent; the step fails non-retryably with a message to act on", async () => {
    const box = createSecretBox(Buffer.from(stack.masterKey, 'base64'));
    await seedFleet(
      stack.db.db,
      { customers: 1, certificates: 1, targetsPerCustomer: 1, deploymentRuns: 1, auditEntries: 1 },
      box.seal('placeholder', SecretPurpose.versionKey),
    );
    const run = await row<{ id: string; target_id: string }>(
      'SELECT r.id, d.target_id FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id ORDER BY r.id LIMIT 1',
      [],
    );
    const target = (await getTarget(stack.db.db, run.target_id)) ?? assert.fail('seeded target');
    const secrets = { token: FORTIGATE_TOKEN, username: 'admin', password: FORTIGATE_TOKEN, apiKey: FORTIGATE_TOKEN };
    await stack.db.db.query('UPDATE targets SET credentials_encrypted = $2 WHERE id = $1', [
      target.id,
      sealTargetCredentials(box, target, secrets),
    ]);
    const attacker = await startTlsListener();
    closers.push(attacker.close);
    await stack.db.db.query('UPDATE targets SET host = $2, port = $3, trust_fingerprint = $4 WHERE id = $1', [
      target.id,
      attacker.host,
      attacker.port,
      attacker.fingerprint,
    ]);

    const config = loadWorkerConfig(stack.env);
    const activities = createDeployActivities(
      activityDepsFrom(config, { db: stack.db.db, box, log: pino({ level: 'silent' }) }),
    );
    const error = await activities.stageDeployment({ runRowId: run.id }).then(
      () => assert.fail('staged on a re-pointed target'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ClassifiedError, String(error));
    assert.equal(error.type, FailureType.targetAuth);
    assert.equal(
      error.message,
      `${target.vendor}: the stored credentials of ${target.name} belong to another address (host, port, trust or server options changed); edit the target and enter them again`,
    );
    assert.equal((toApplicationFailure(error) as { nonRetryable?: boolean }).nonRetryable, true, 'no retry can fix it');
    assert.equal(attacker.connections, 0, 'nothing connected to the re-pointed address');
    assert.deepEqual(attacker.received, []);
    const steps = await stack.db.db.query<{ step: string; status: string; detail: string | null }>(
      'SELECT step, status, detail FROM deployment_run_steps WHERE run_id = $1 ORDER BY id',
      [run.id],
    );
    assert.deepEqual(
      steps.map((s) => [s.step, s.status, s.detail]),
      [
        ['stage', 'started', null],
        ['stage', 'failed', error.message],
      ],
      'the run shows why',
    );
  });
});
