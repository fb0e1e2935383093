/**
 * Tests for the Cloudflare fake, driven through the official `cloudflare` SDK (v7) exactly as
 * CertFleet uses it, plus a real pebble-challtestsrv to prove TXT records reach DNS.
 *
 *   npx tsx --test test/fakes/cloudflare/server.test.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Cloudflare, { APIError } from 'cloudflare';
import { startFakeCloudflare, type FakeCloudflare } from './server';
import { rejection } from '../../support/assertions';
import { challtestsrvArgs, PEBBLE_CHALLTESTSRV, pebbleTool } from '../../support/pebble';

const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstuv';
const ZONE = 'example.test';
const ZONE2 = 'other.test';

function client(fake: FakeCloudflare, opts: { apiToken?: string; maxRetries?: number } = {}): Cloudflare {
  return new Cloudflare({ apiToken: opts.apiToken ?? TOKEN, baseURL: fake.baseUrl, maxRetries: opts.maxRetries ?? 0 });
}

async function firstZoneId(cf: Cloudflare, name: string): Promise<string> {
  for await (const zone of cf.zones.list({ name })) return zone.id;
  throw new Error(`zone ${name} not found`);
}

/** Asserts that `promise` rejects with an SDK APIError of `cls` whose first error code is `code`. */
async function rejectsWith<E extends APIError>(
  promise: Promise<unknown>,
  cls: new (...args: never[]) => E,
  status: number,
  code: number,
): Promise<E> {
  const caught = await rejection(promise, cls);
  assert.equal(caught.status, status);
  assert.equal(caught.errors[0]?.code, code, JSON.stringify(caught.errors));
  return caught;
}

describe('fake Cloudflare API via the cloudflare SDK', () => {
  let fake: FakeCloudflare;
  let cf: Cloudflare;

  before(async () => {
    fake = await startFakeCloudflare({ token: TOKEN, zones: [{ name: ZONE }, { name: ZONE2, id: 'f'.repeat(32) }] });
    cf = client(fake);
  });
  after(async () => {
    await fake.close();
  });

  it('serves plain HTTP under /client/v4 on 127.0.0.1', () => {
    assert.match(fake.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/client\/v4$/);
  });

  it('verifies the token', async () => {
    const res = await cf.user.tokens.verify();
    assert.equal(res.status, 'active');
    assert.match(res.id, /^[0-9a-f]{32}$/);
    const call = fake.calls.at(-1);
    assert.deepEqual(call && { method: call.method, path: call.path, authorized: call.authorized }, {
      method: 'GET',
      path: '/user/tokens/verify',
      authorized: true,
    });
  });

  it('lists zones by name, with deterministic ids, and gets a zone', async () => {
    const before = fake.calls.length;
    const found = [];
    for await (const zone of cf.zones.list({ name: ZONE })) found.push(zone);
    assert.equal(found.length, 1);
    assert.equal(found[0]?.name, ZONE);
    assert.match(found[0]?.id ?? '', /^[0-9a-f]{32}$/);
    // The SDK's V4PagePaginationArray keeps asking for the next page until one comes back empty.
    const listCalls = fake.calls.slice(before);
    assert.deepEqual(
      listCalls.map((c) => c.query),
      [{ name: ZONE }, { name: ZONE, page: '2' }],
    );

    const again = await startFakeCloudflare({ token: TOKEN, zones: [{ name: ZONE }] });
    try {
      assert.equal(await firstZoneId(client(again), ZONE), found[0]?.id, 'zone id is derived from the name');
    } finally {
      await again.close();
    }

    const zone = await cf.zones.get({ zone_id: 'f'.repeat(32) });
    assert.equal(zone.name, ZONE2);
    assert.equal(zone.status, 'active');

    const page = await cf.zones.list({ name: 'nope.test' });
    assert.deepEqual(page.result, []);
    assert.deepEqual(page.result_info, { page: 1, per_page: 20, count: 0, total_count: 0, total_pages: 1 });
  });

  it('paginates zones with page/per_page and result_info, tolerating account.id and status', async () => {
    const many = await startFakeCloudflare({
      token: TOKEN,
      zones: ['a.test', 'b.test', 'c.test', 'd.test', 'e.test'].map((name) => ({ name })),
    });
    try {
      const c = client(many);
      const first = await c.zones.list({ per_page: 2, account: { id: '0123' }, status: 'active' });
      assert.deepEqual(
        first.result.map((z) => z.name),
        ['a.test', 'b.test'],
      );
      assert.deepEqual(first.result_info, { page: 1, per_page: 2, count: 2, total_count: 5, total_pages: 3 });
      assert.deepEqual(many.calls.at(-1)?.query, { per_page: '2', 'account.id': '0123', status: 'active' });
      const names = [];
      for await (const z of c.zones.list({ per_page: 2 })) names.push(z.name);
      assert.deepEqual(names, ['a.test', 'b.test', 'c.test', 'd.test', 'e.test']);
    } finally {
      await many.close();
    }
  });

  it('creates, lists (name.exact), gets and deletes a TXT record', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    const name = `_acme-challenge.www.${ZONE}`;
    const created = await cf.dns.records.create({
      zone_id: zoneId,
      type: 'TXT',
      name,
      content: 'token-value-1',
      ttl: 120,
    });
    assert.match(created.id, /^[0-9a-f]{32}$/);
    assert.equal(created.name, name);
    assert.equal(created.type, 'TXT');
    assert.equal(created.content, 'token-value-1');
    assert.equal(created.ttl, 120);
    assert.deepEqual(fake.calls.at(-1)?.body, { type: 'TXT', name, content: 'token-value-1', ttl: 120 });

    const listed = [];
    for await (const r of cf.dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name } })) listed.push(r);
    assert.deepEqual(
      listed.map((r) => r.id),
      [created.id],
    );
    const listCall = fake.calls.find((c) => c.method === 'GET' && c.path === `/zones/${zoneId}/dns_records`);
    assert.deepEqual(listCall?.query, { type: 'TXT', 'name.exact': name });

    const byContent = await cf.dns.records.list({ zone_id: zoneId, content: { exact: 'token-value-1' } });
    assert.deepEqual(
      byContent.result.map((r) => r.id),
      [created.id],
    );
    const none = await cf.dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: `other.${ZONE}` } });
    assert.deepEqual(none.result, []);
    assert.deepEqual(none.result_info, { page: 1, per_page: 100, count: 0, total_count: 0, total_pages: 1 });

    const got = await cf.dns.records.get(created.id, { zone_id: zoneId });
    assert.equal(got.content, 'token-value-1');

    const deleted = await cf.dns.records.delete(created.id, { zone_id: zoneId });
    assert.deepEqual(deleted, { id: created.id });
    assert.deepEqual(fake.records(), []);
    await rejectsWith(cf.dns.records.get(created.id, { zone_id: zoneId }), Cloudflare.NotFoundError, 404, 81044);
    await rejectsWith(cf.dns.records.delete(created.id, { zone_id: zoneId }), Cloudflare.NotFoundError, 404, 81044);
  });

  it('accepts quoted TXT content, stores it as sent, and treats it as identical to the unquoted value', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    const name = `_acme-challenge.${ZONE}`;
    const rec = await cf.dns.records.create({
      zone_id: zoneId,
      type: 'TXT',
      name,
      content: '"quoted-value"',
      ttl: 120,
    });
    assert.equal(rec.content, '"quoted-value"');
    assert.equal(fake.records().find((r) => r.id === rec.id)?.content, '"quoted-value"');
    const byUnquoted = await cf.dns.records.list({ zone_id: zoneId, content: { exact: 'quoted-value' } });
    assert.deepEqual(
      byUnquoted.result.map((r) => r.id),
      [rec.id],
    );
    await rejectsWith(
      cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'quoted-value', ttl: 120 }),
      Cloudflare.BadRequestError,
      400,
      81058,
    );
    await cf.dns.records.delete(rec.id, { zone_id: zoneId });
  });

  it('rejects a duplicate identical TXT record with code 81058 but allows a second value', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    const name = `_acme-challenge.dup.${ZONE}`;
    const a = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'v1', ttl: 120 });
    const err = await rejectsWith(
      cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name: name.toUpperCase() + '.', content: 'v1', ttl: 120 }),
      Cloudflare.BadRequestError,
      400,
      81058,
    );
    assert.equal(err.errors[0]?.message, 'An identical record already exists.');
    const b = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'v2', ttl: 120 });
    const listed = await cf.dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name } });
    assert.deepEqual(listed.result.map((r) => r.content).sort(), ['v1', 'v2']);
    await cf.dns.records.delete(a.id, { zone_id: zoneId });
    await cf.dns.records.delete(b.id, { zone_id: zoneId });
  });

  it('rejects a record name outside the zone, and unknown zones', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    await rejectsWith(
      cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name: `_acme-challenge.${ZONE2}`, content: 'x', ttl: 120 }),
      Cloudflare.BadRequestError,
      400,
      1004,
    );
    await rejectsWith(
      cf.dns.records.create({
        zone_id: zoneId,
        type: 'TXT',
        name: `_acme-challenge.not${ZONE}`,
        content: 'x',
        ttl: 120,
      }),
      Cloudflare.BadRequestError,
      400,
      1004,
    );
    await rejectsWith(cf.zones.get({ zone_id: '0'.repeat(32) }), Cloudflare.NotFoundError, 404, 7003);
    await rejectsWith(cf.dns.records.list({ zone_id: '0'.repeat(32) }), Cloudflare.NotFoundError, 404, 7003);
    assert.deepEqual(fake.records(), []);
  });

  it('refuses a wrong token (403, code 10000) and never records the token', async () => {
    const bad = client(fake, { apiToken: 'wrong-token' });
    await rejectsWith(bad.user.tokens.verify(), Cloudflare.PermissionDeniedError, 403, 10000);
    await rejectsWith(bad.zones.list({ name: ZONE }), Cloudflare.PermissionDeniedError, 403, 10000);
    const zoneId = await firstZoneId(cf, ZONE);
    await rejectsWith(
      bad.dns.records.create({ zone_id: zoneId, type: 'TXT', name: `x.${ZONE}`, content: 'x', ttl: 120 }),
      Cloudflare.PermissionDeniedError,
      403,
      10000,
    );
    assert.deepEqual(fake.records(), []);
    assert.equal(fake.calls.at(-1)?.authorized, false);
    assert.ok(!JSON.stringify(fake.calls).includes(TOKEN), 'calls must not contain the token');
  });

  it('answers a missing Authorization with 403/10000 and a malformed one with 400/6003 (chain 6103)', async () => {
    const missing = await fetch(`${fake.baseUrl}/zones`);
    assert.equal(missing.status, 403);
    assert.deepEqual(await missing.json(), {
      success: false,
      errors: [{ code: 10000, message: 'Authentication error' }],
      messages: [],
      result: null,
    });
    const malformed = await fetch(`${fake.baseUrl}/zones`, { headers: { authorization: `Token ${TOKEN}` } });
    assert.equal(malformed.status, 400);
    const body = (await malformed.json()) as {
      success: boolean;
      errors: { code: number; error_chain?: { code: number }[] }[];
    };
    assert.equal(body.success, false);
    assert.equal(body.errors[0]?.code, 6003);
    assert.equal(body.errors[0]?.error_chain?.[0]?.code, 6103);
    const unknownRoute = await fetch(`${fake.baseUrl}/nope`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(unknownRoute.status, 404);
  });

  it('reports a disabled token from verify and refuses it elsewhere', async () => {
    const disabled = await startFakeCloudflare({ token: TOKEN, zones: [{ name: ZONE }], tokenStatus: 'disabled' });
    try {
      const c = client(disabled);
      assert.equal((await c.user.tokens.verify()).status, 'disabled');
      await rejectsWith(c.zones.list({ name: ZONE }), Cloudflare.PermissionDeniedError, 403, 10000);
    } finally {
      await disabled.close();
    }
  });

  it('injects 429 with Retry-After: 1 and 5xx failures', async () => {
    fake.failNext(/^\/zones$/, 429);
    const err = await rejectsWith(cf.zones.list({ name: ZONE }), Cloudflare.RateLimitError, 429, 971);
    assert.equal(err.headers?.get('retry-after'), '1');
    assert.equal(await firstZoneId(cf, ZONE).then(() => 'ok'), 'ok', 'only the next call fails');

    fake.failNext(/\/dns_records$/, 503, 2);
    const zoneId = await firstZoneId(cf, ZONE);
    await rejectsWith(cf.dns.records.list({ zone_id: zoneId }), Cloudflare.InternalServerError, 503, 503);
    // With retries the SDK gets through on the third attempt (two injected failures).
    const retrying = client(fake, { maxRetries: 2 });
    const before = fake.calls.length;
    fake.failNext(/\/dns_records$/, 503, 1);
    const page = await retrying.dns.records.list({ zone_id: zoneId });
    assert.deepEqual(page.result, []);
    assert.equal(fake.calls.length - before, 3, 'one leftover injected failure, one new one, then success');

    fake.failNext(/\/client\/v4\/user\/tokens\/verify$/, 429);
    const started = Date.now();
    assert.equal((await client(fake, { maxRetries: 1 }).user.tokens.verify()).status, 'active');
    assert.ok(Date.now() - started >= 900, 'the SDK honoured Retry-After: 1');
  });
});

// ---------------------------------------------------------------------------------------------
// Against a real pebble-challtestsrv

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A port free on 127.0.0.1 for both TCP and UDP (challtestsrv's DNS listens on both). */
async function freeTcpUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freeTcpPort();
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => {
        sock.close();
        resolve(false);
      });
      sock.bind({ port, address: '127.0.0.1', exclusive: true }, () => sock.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no port free for both TCP and UDP');
}

async function waitForHttp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pebble-challtestsrv exited (${child.exitCode}):\n${log()}`);
    try {
      // Any HTTP answer means the management server is up (GET on a POST endpoint is refused).
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`pebble-challtestsrv management API did not come up:\n${log()}`);
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

describe('fake Cloudflare mirrors TXT records to a real pebble-challtestsrv', () => {
  let child: ChildProcess | undefined;
  let output = '';
  let fake: FakeCloudflare | undefined;
  let cf: Cloudflare;
  let resolver: dnsPromises.Resolver;
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };

  before(async () => {
    process.once('exit', killOnExit);
    const challtestsrv = await pebbleTool(PEBBLE_CHALLTESTSRV);
    let lastError: unknown;
    for (let attempt = 0; attempt < 3 && fake === undefined; attempt++) {
      const dnsPort = await freeTcpUdpPort();
      const mgmtPort = await freeTcpPort();
      output = '';
      child = spawn(challtestsrv, challtestsrvArgs(`127.0.0.1:${dnsPort}`, mgmtPort), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      try {
        await new Promise<void>((resolve, reject) => {
          child?.once('spawn', resolve);
          child?.once('error', reject);
        });
        const mgmt = `http://127.0.0.1:${mgmtPort}`;
        await waitForHttp(`${mgmt}/set-txt`, child, () => output);
        resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
        resolver.setServers([`127.0.0.1:${dnsPort}`]);
        fake = await startFakeCloudflare({ token: TOKEN, zones: [{ name: ZONE }], challtestsrvManagementUrl: mgmt });
      } catch (err) {
        lastError = err;
        await stopChild(child); // most likely a port race; try again on fresh ports
      }
    }
    if (!fake) throw lastError instanceof Error ? lastError : new Error(String(lastError));
    cf = client(fake);
  });

  after(async () => {
    await fake?.close();
    await stopChild(child);
    process.off('exit', killOnExit);
  });

  async function txt(name: string): Promise<string[]> {
    try {
      return (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
      throw err;
    }
  }

  it('publishes a created TXT record and withdraws it on delete', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    const name = `_acme-challenge.single.${ZONE}`;
    assert.deepEqual(await txt(name), []);
    const rec = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'single-value', ttl: 120 });
    assert.deepEqual(await txt(name), ['single-value']);
    await cf.dns.records.delete(rec.id, { zone_id: zoneId });
    assert.deepEqual(await txt(name), []);
  });

  it('keeps the other value when one of two TXT values at the same name is deleted', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    const name = `_acme-challenge.${ZONE}`; // apex + wildcard share this name
    const a = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'value-a', ttl: 120 });
    const b = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: '"value-b"', ttl: 120 });
    assert.deepEqual(await txt(name), ['value-a', 'value-b'], 'quoted content is served unquoted');
    await cf.dns.records.delete(a.id, { zone_id: zoneId });
    assert.deepEqual(await txt(name), ['value-b']);
    await cf.dns.records.delete(b.id, { zone_id: zoneId });
    assert.deepEqual(await txt(name), []);
  });

  it('publishes mixed-case names under the lower-case FQDN', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    const rec = await cf.dns.records.create({
      zone_id: zoneId,
      type: 'TXT',
      name: `_ACME-Challenge.Mixed.${ZONE}.`,
      content: 'mixed',
      ttl: 120,
    });
    assert.equal(rec.name, `_acme-challenge.mixed.${ZONE}`);
    assert.deepEqual(await txt(`_acme-challenge.mixed.${ZONE}`), ['mixed']);
    await cf.dns.records.delete(rec.id, { zone_id: zoneId });
    assert.deepEqual(await txt(`_acme-challenge.mixed.${ZONE}`), []);
  });

  it('with pushToDns off, a created record exists in the API but never resolves', async () => {
    const zoneId = await firstZoneId(cf, ZONE);
    const name = `_acme-challenge.stuck.${ZONE}`;
    fake?.setPushToDns(false);
    try {
      const rec = await cf.dns.records.create({
        zone_id: zoneId,
        type: 'TXT',
        name,
        content: 'never-propagates',
        ttl: 120,
      });
      const listed = await cf.dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name } });
      assert.deepEqual(
        listed.result.map((r) => r.id),
        [rec.id],
      );
      assert.deepEqual(await txt(name), []);
      fake?.setPushToDns(true);
      // A later push at the same name must not resurrect the unpropagated value.
      const other = await cf.dns.records.create({
        zone_id: zoneId,
        type: 'TXT',
        name,
        content: 'propagates',
        ttl: 120,
      });
      assert.deepEqual(await txt(name), ['propagates']);
      await cf.dns.records.delete(other.id, { zone_id: zoneId });
      assert.deepEqual(await txt(name), []);
      await cf.dns.records.delete(rec.id, { zone_id: zoneId });
    } finally {
      fake?.setPushToDns(true);
    }
  });
});
