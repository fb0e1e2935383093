/**
 * The Cloudflare DNS-01 provider driven through the official SDK against test/fakes/cloudflare.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Cloudflare from 'cloudflare';
import { cloudflareDescriptor } from '../../activities/dns-providers/cloudflare/descriptor';
import { createCloudflareProvider } from '../../activities/dns-providers/cloudflare/index';
import type { DnsProvider } from '../../activities/dns-providers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { startFakeCloudflare, type FakeCloudflare, type FakeCloudflareCall } from '../fakes/cloudflare/server';
import { rejection as rejectionOf } from '../support/assertions';

const TOKEN = 'cf-test-token-SECRET-0123456789abcdef';
const WRONG_TOKEN = 'cf-wrong-token-SECRET-fedcba9876543210';
const ZONE = 'example.test';
const ZONE_ID = 'e'.repeat(32);
const OTHER_ZONE = 'other.test';

let fake: FakeCloudflare;

before(async () => {
  fake = await startFakeCloudflare({ token: TOKEN, zones: [{ name: ZONE, id: ZONE_ID }, { name: OTHER_ZONE }] });
});

after(async () => {
  await fake.close();
});

function provider(config: Record<string, unknown> = {}, token = TOKEN): DnsProvider {
  return createCloudflareProvider({ config: { apiBaseUrl: fake.baseUrl, ...config }, secrets: { token } });
}

/** Calls made while `work` ran. */
async function callsDuring(work: () => Promise<unknown>): Promise<FakeCloudflareCall[]> {
  const start = fake.calls.length;
  await work();
  return fake.calls.slice(start);
}

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

const zoneLookups = (calls: FakeCloudflareCall[]): string[] =>
  calls.filter((c) => c.method === 'GET' && c.path === '/zones').map((c) => c.query['name'] ?? '');

const txtValues = (name: string): string[] =>
  fake
    .records()
    .filter((r) => r.type === 'TXT' && r.name === name)
    .map((r) => r.content)
    .sort();

let counter = 0;
const recordName = (): string => `_acme-challenge.r${++counter}.${ZONE}`;

describe('verify', () => {
  it('an active token without a zone', async () => {
    assert.deepEqual(await provider().verify(), { zone: '', detail: 'token active' });
  });

  it('an active token with a configured zone checks the zone is visible', async () => {
    const calls = await callsDuring(async () => {
      assert.deepEqual(await provider({ zoneName: ZONE }).verify(), {
        zone: ZONE,
        detail: `token active, zone ${ZONE} visible`,
      });
    });
    assert.deepEqual(zoneLookups(calls), [ZONE]);
  });

  it('a configured zone that the token cannot see: DNS_ZONE_NOT_FOUND', async () => {
    const error = await rejection(provider({ zoneName: 'missing.test' }).verify());
    assert.equal(error.type, FailureType.dnsZoneNotFound);
  });

  for (const status of ['disabled', 'expired'] as const) {
    it(`a ${status} token: DNS_AUTH_FAILED`, async () => {
      const other = await startFakeCloudflare({ token: TOKEN, zones: [{ name: ZONE }], tokenStatus: status });
      try {
        const p = createCloudflareProvider({ config: { apiBaseUrl: other.baseUrl }, secrets: { token: TOKEN } });
        const error = await rejection(p.verify());
        assert.equal(error.type, FailureType.dnsAuth);
        assert.ok(error.message.includes(status), error.message);
        assert.ok(!error.message.includes(TOKEN));
      } finally {
        await other.close();
      }
    });
  }

  it('a wrong token: DNS_AUTH_FAILED, and the message never contains the token', async () => {
    const p = provider({}, WRONG_TOKEN);
    for (const work of [() => p.verify(), () => p.present(recordName(), 'v'), () => p.zoneFor(recordName())]) {
      const error = await rejection(work());
      assert.equal(error.type, FailureType.dnsAuth);
      assert.ok(error.message.startsWith('cloudflare: '), error.message);
      assert.ok(!error.message.includes(WRONG_TOKEN), error.message);
      assert.ok(!error.message.includes(TOKEN), error.message);
    }
    assert.ok(fake.calls.some((c) => !c.authorized));
  });
});

describe('zone lookup', () => {
  it('walks the labels upward until a zone matches (never asks for the TLD)', async () => {
    const calls = await callsDuring(async () => {
      assert.equal(await provider().zoneFor(`_acme-challenge.a.b.${ZONE}`), ZONE);
    });
    assert.deepEqual(zoneLookups(calls), [`_acme-challenge.a.b.${ZONE}`, `a.b.${ZONE}`, `b.${ZONE}`, ZONE]);
  });

  it('accepts a trailing dot and upper case', async () => {
    assert.equal(await provider().zoneFor(`_acme-challenge.WWW.Other.Test.`), OTHER_ZONE);
  });

  it('caches a found zone for the life of the provider', async () => {
    const p = provider();
    const calls = await callsDuring(async () => {
      await p.zoneFor(`_acme-challenge.${ZONE}`);
      await p.zoneFor(`_acme-challenge.${ZONE}`);
      await p.zoneFor(`_acme-challenge.x.${ZONE}`);
    });
    assert.equal(zoneLookups(calls).filter((n) => n === ZONE).length, 1);
  });

  it('uses a configured zone id without any lookup', async () => {
    const p = provider({ zoneName: ZONE, zoneId: ZONE_ID });
    const name = recordName();
    const calls = await callsDuring(async () => {
      assert.equal(await p.zoneFor(name), ZONE);
      await p.present(name, 'configured');
      await p.cleanup(name, 'configured');
    });
    assert.deepEqual(zoneLookups(calls), []);
    assert.ok(
      calls.length > 0 && calls.every((c) => c.path.startsWith(`/zones/${ZONE_ID}/dns_records`)),
      JSON.stringify(calls.map((c) => c.path)),
    );
  });

  it('with a configured zone name only, looks up just that zone', async () => {
    const calls = await callsDuring(async () => {
      assert.equal(await provider({ zoneName: ZONE }).zoneFor(`_acme-challenge.a.b.${ZONE}`), ZONE);
    });
    assert.deepEqual(zoneLookups(calls), [ZONE]);
  });

  it('a name outside the configured zone is refused', async () => {
    const error = await rejection(
      provider({ zoneName: ZONE, zoneId: ZONE_ID }).present(`_acme-challenge.${OTHER_ZONE}`, 'v'),
    );
    assert.equal(error.type, FailureType.validation);
    const error2 = await rejection(provider({ zoneName: ZONE }).zoneFor(`_acme-challenge.${OTHER_ZONE}`));
    assert.equal(error2.type, FailureType.dnsZoneNotFound);
    const error3 = await rejection(provider({ zoneName: ZONE, zoneId: ZONE_ID }).zoneFor(`_acme-challenge.not${ZONE}`));
    assert.equal(error3.type, FailureType.validation);
  });

  it('no zone: DNS_ZONE_NOT_FOUND', async () => {
    let error: ClassifiedError | undefined;
    const calls = await callsDuring(async () => {
      error = await rejection(provider().zoneFor('_acme-challenge.www.nothere.invalid'));
    });
    assert.equal(error?.type, FailureType.dnsZoneNotFound);
    assert.match(error?.message ?? '', /no zone for _acme-challenge\.www\.nothere\.invalid/);
    assert.deepEqual(zoneLookups(calls), [
      '_acme-challenge.www.nothere.invalid',
      'www.nothere.invalid',
      'nothere.invalid',
    ]);
  });

  it('a configured zone id that does not exist: DNS_ZONE_NOT_FOUND on present', async () => {
    const error = await rejection(provider({ zoneName: ZONE, zoneId: '0'.repeat(32) }).present(recordName(), 'v'));
    assert.equal(error.type, FailureType.dnsZoneNotFound);
  });
});

describe('present and cleanup', () => {
  let p: DnsProvider;
  beforeEach(() => {
    p = provider();
  });

  it('present creates one TXT record with a short TTL', async () => {
    const name = recordName();
    await p.present(name, 'value-1');
    const records = fake.records().filter((r) => r.name === name);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.type, 'TXT');
    assert.equal(records[0]?.ttl, 120);
    assert.equal(records[0]?.zoneId, ZONE_ID);
    await p.cleanup(name, 'value-1');
  });

  it('present is idempotent: twice gives one record and one create', async () => {
    const name = recordName();
    const calls = await callsDuring(async () => {
      await p.present(name, 'twice');
      await p.present(name, 'twice');
    });
    assert.deepEqual(txtValues(name), ['twice']);
    assert.equal(calls.filter((c) => c.method === 'POST').length, 1);
    await p.cleanup(name, 'twice');
  });

  it('present counts an existing quoted record as present', async () => {
    const name = recordName();
    const sdk = new Cloudflare({ apiToken: TOKEN, baseURL: fake.baseUrl, maxRetries: 0 });
    await sdk.dns.records.create({ zone_id: ZONE_ID, type: 'TXT', name, content: '"quoted"', ttl: 120 });
    const calls = await callsDuring(() => p.present(name, 'quoted'));
    assert.equal(calls.filter((c) => c.method === 'POST').length, 0);
    assert.equal(txtValues(name).length, 1);
    await p.cleanup(name, 'quoted');
    assert.deepEqual(txtValues(name), []);
  });

  it('concurrent presents of the same value end with one record (duplicate error counts as success)', async () => {
    const name = recordName();
    await Promise.all([p.present(name, 'race'), provider().present(name, 'race')]);
    assert.deepEqual(txtValues(name), ['race']);
    await p.cleanup(name, 'race');
  });

  it('present keeps other values of the same name (wildcard + apex share a record)', async () => {
    const name = recordName();
    await p.present(name, 'one');
    await p.present(name, 'two');
    assert.deepEqual(txtValues(name), ['one', 'two']);
    await p.cleanup(name, 'one');
    await p.cleanup(name, 'two');
  });

  it('cleanup removes only the given value and is idempotent', async () => {
    const name = recordName();
    await p.present(name, 'keep');
    await p.present(name, 'drop');
    await p.cleanup(name, 'drop');
    assert.deepEqual(txtValues(name), ['keep']);
    const calls = await callsDuring(() => p.cleanup(name, 'drop'));
    assert.equal(calls.filter((c) => c.method === 'DELETE').length, 0);
    assert.deepEqual(txtValues(name), ['keep']);
    await p.cleanup(name, 'keep');
    assert.deepEqual(txtValues(name), []);
    await p.cleanup(recordName(), 'never-existed');
  });

  it('concurrent cleanups of the same value both succeed', async () => {
    const name = recordName();
    await p.present(name, 'gone');
    await Promise.all([p.cleanup(name, 'gone'), provider().cleanup(name, 'gone')]);
    assert.deepEqual(txtValues(name), []);
  });

  it('injected 503s are retried by the SDK and the call succeeds', async () => {
    const name = recordName();
    fake.failNext(/dns_records/, 503, 2);
    const calls = await callsDuring(() => p.present(name, 'after-503'));
    assert.deepEqual(txtValues(name), ['after-503']);
    assert.ok(
      calls.filter((c) => c.path.includes('dns_records')).length >= 4,
      'two failed attempts, then list and create',
    );
    await p.cleanup(name, 'after-503');
  });

  it('a 429 with Retry-After is retried and succeeds', async () => {
    const name = recordName();
    fake.failNext(/dns_records/, 429, 1);
    await p.present(name, 'after-429');
    assert.deepEqual(txtValues(name), ['after-429']);
    await p.cleanup(name, 'after-429');
  });

  it('503s that outlast the retries: DNS_PROVIDER_UNAVAILABLE (retryable)', async () => {
    const name = recordName();
    fake.failNext(/dns_records/, 503, 3);
    const error = await rejection(p.present(name, 'never'));
    assert.equal(error.type, FailureType.dnsUnavailable);
    assert.match(error.message, /^cloudflare: list TXT .*server error 503/);
    assert.deepEqual(txtValues(name), []);
  });

  it('an unreachable API: DNS_PROVIDER_UNAVAILABLE', async () => {
    const down = await startFakeCloudflare({ token: TOKEN, zones: [{ name: ZONE }] });
    const baseUrl = down.baseUrl;
    await down.close();
    const p2 = createCloudflareProvider({
      config: { apiBaseUrl: baseUrl, zoneName: ZONE, zoneId: ZONE_ID },
      secrets: { token: TOKEN },
    });
    const error = await rejection(p2.present(recordName(), 'v'));
    assert.equal(error.type, FailureType.dnsUnavailable);
    assert.ok(!error.message.includes(TOKEN));
  });
});

describe('cloudflare parseConfig', () => {
  const parse = (input: Record<string, unknown>) => cloudflareDescriptor.parseConfig(input);

  it('empty input is valid and empty', () => {
    assert.deepEqual(parse({}), { config: {}, errors: {} });
    assert.deepEqual(parse({ zoneName: '  ', zoneId: '', apiBaseUrl: '' }), { config: {}, errors: {} });
  });

  it('normalises a valid config', () => {
    assert.deepEqual(
      parse({
        zoneName: ' Example.COM. ',
        zoneId: 'ABCDEF0123456789abcdef0123456789',
        apiBaseUrl: 'https://proxy.example/client/v4/',
      }),
      {
        config: {
          zoneName: 'example.com',
          zoneId: 'abcdef0123456789abcdef0123456789',
          apiBaseUrl: 'https://proxy.example/client/v4',
        },
        errors: {},
      },
    );
    assert.deepEqual(parse({ zoneName: 'xn--bcher-kva.example' }).config, { zoneName: 'xn--bcher-kva.example' });
    assert.deepEqual(parse({ apiBaseUrl: 'http://127.0.0.1:8080/client/v4' }).config, {
      apiBaseUrl: 'http://127.0.0.1:8080/client/v4',
    });
  });

  it('refuses a bad zone', () => {
    for (const zoneName of [
      'localhost',
      'not a zone',
      '-bad.example',
      'bad-.example',
      '*.example.com',
      'a..b',
      `${'a'.repeat(64)}.com`,
      'example.c',
    ]) {
      const r = parse({ zoneName });
      assert.ok(r.errors['zoneName'], zoneName);
      assert.equal(r.config['zoneName'], undefined, zoneName);
    }
  });

  it('refuses a bad zone id, and an id without a zone name', () => {
    for (const zoneId of ['xyz', 'g'.repeat(32), 'a'.repeat(31), 'a'.repeat(33)]) {
      const r = parse({ zoneName: 'example.com', zoneId });
      assert.match(r.errors['zoneId'] ?? '', /32 hexadecimal/, zoneId);
    }
    const r = parse({ zoneId: 'a'.repeat(32) });
    assert.match(r.errors['zoneName'] ?? '', /together with its id/);
  });

  it('refuses a bad API URL', () => {
    for (const apiBaseUrl of [
      'not a url',
      'ftp://proxy.example/',
      'https://user:pw@proxy.example/',
      'https://user@proxy.example/',
      'javascript:alert(1)',
      'file:///etc/passwd',
    ]) {
      const r = parse({ apiBaseUrl });
      assert.match(r.errors['apiBaseUrl'] ?? '', /https:\/\/ URL of the API, without credentials/, apiBaseUrl);
      assert.equal(r.config['apiBaseUrl'], undefined);
    }
    const plain = parse({ apiBaseUrl: 'http://api.cloudflare.com/client/v4' });
    assert.match(
      plain.errors['apiBaseUrl'] ?? '',
      /must start with https:\/\/: the token would otherwise travel unencrypted/,
    );
    assert.equal(plain.config['apiBaseUrl'], undefined);
  });

  it('ignores non-string values', () => {
    assert.deepEqual(parse({ zoneName: 42, zoneId: { a: 1 }, apiBaseUrl: ['https://x'] }), { config: {}, errors: {} });
  });

  it('the descriptor declares the token as a required secret field', () => {
    const token = cloudflareDescriptor.fields.find((f) => f.name === 'token');
    assert.deepEqual({ required: token?.required, secret: token?.secret }, { required: true, secret: true });
    assert.equal(cloudflareDescriptor.id, 'cloudflare');
  });
});
