/**
 * The Azure DNS provider driven through the official @azure/arm-dns and @azure/identity
 * (ClientSecretCredential) against test/fakes/azure-dns (Entra token endpoint + ARM over HTTPS).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azureDnsDescriptor } from '../../activities/dns-providers/azure/descriptor';
import { buildAzureDnsProvider } from '../../activities/dns-providers/azure/index';
import type { DnsProvider } from '../../activities/dns-providers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { startFakeAzureDns, type FakeAzureDns } from '../fakes/azure-dns/server';
import { AZURE_TEST } from '../fakes/azure-dns/test-identities';
import { assertFailure, callsDuring, callsOfRetry, rejection as rejectionOf } from '../support/assertions';

const {
  tenantId: TENANT,
  subscriptionId: SUBSCRIPTION,
  clientId: CLIENT,
  readerClientId: READER,
  clientSecret: SECRET,
  readerSecret: READER_SECRET,
  resourceGroup: RG,
} = AZURE_TEST;
const ZONE = 'example.test';

let fake: FakeAzureDns;

before(async () => {
  fake = await startFakeAzureDns({
    subscriptionId: SUBSCRIPTION,
    resourceGroups: [{ name: RG, zones: [ZONE, `deep.sub.${ZONE}`] }],
    principals: [
      { tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, role: 'DNS Zone Contributor' },
      { tenantId: TENANT, clientId: READER, clientSecret: READER_SECRET, role: 'Reader' },
    ],
  });
});

after(async () => {
  await fake.close();
});

function provider(config: Record<string, unknown> = {}, secret = SECRET): DnsProvider {
  return buildAzureDnsProvider(
    {
      config: {
        tenantId: TENANT,
        clientId: CLIENT,
        subscriptionId: SUBSCRIPTION,
        resourceGroup: RG,
        authorityHost: fake.url,
        resourceManagerUrl: fake.url,
        ...config,
      },
      secrets: { clientSecret: secret },
    },
    { trustedCaPem: fake.caPem, maxRetries: 1, retryDelayMs: 10 },
  );
}

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);
let counter = 0;
const recordName = (): string => `_acme-challenge.r${++counter}.${ZONE}`;

describe('descriptor', () => {
  it('parses GUIDs and the resource group, refuses malformed ones and a plain-http authority', () => {
    const ok = azureDnsDescriptor.parseConfig({
      tenantId: TENANT.toUpperCase(),
      clientId: CLIENT,
      subscriptionId: SUBSCRIPTION,
      resourceGroup: 'My_RG.(dns)-1',
    });
    assert.deepEqual(ok.errors, {});
    assert.equal(ok.config['tenantId'], TENANT);
    const bad = azureDnsDescriptor.parseConfig({
      tenantId: 'x',
      clientId: 'nope',
      subscriptionId: '',
      resourceGroup: 'ends.',
      authorityHost: 'http://login.example.net',
    });
    assert.deepEqual(Object.keys(bad.errors).sort(), [
      'authorityHost',
      'clientId',
      'resourceGroup',
      'subscriptionId',
      'tenantId',
    ]);
  });
});

describe('sign-in and zones', () => {
  it('the service principal signs in (client-credentials grant for the Resource Manager scope) and lists zones', async () => {
    assert.deepEqual(await provider().verify(), { zone: '', detail: 'service principal signed in' });
    assert.deepEqual(await provider({ zoneName: ZONE }).verify(), {
      zone: ZONE,
      detail: `service principal signed in, zone ${ZONE} visible`,
    });
    const request = fake.identity.tokenRequests.at(-1);
    assert.equal(request?.scope, `${fake.url}/.default`);
  });

  it('a wrong client secret: DNS_AUTH_FAILED with AADSTS7000215, never the secret', async () => {
    const wrong = 'az~WRONG~SECRET-zzzzzzzzzzzzzzzzzzzz';
    const error = await assertFailure(
      provider({}, wrong).verify(),
      FailureType.dnsAuth,
      /invalid_client.*AADSTS7000215/,
    );
    assert.ok(!error.message.includes(wrong) && !error.message.includes(SECRET));
  });

  it('an unknown client id: DNS_AUTH_FAILED; an unknown tenant: retryable, naming the tenant id to check', async () => {
    await assertFailure(
      provider({ clientId: 'aaaaaaaa-0000-0000-0000-00000000dead' }).verify(),
      FailureType.dnsAuth,
      /AADSTS700016/,
    );
    // MSAL fails the OpenID discovery of an unknown tenant with endpoints_resolution_error, as for an unreachable host.
    await assertFailure(
      provider({ tenantId: '00000000-0000-0000-0000-00000000dead' }).verify(),
      FailureType.dnsUnavailable,
      /tenant id/,
    );
  });

  it('an authority that does not answer: a retryable DNS_PROVIDER_UNAVAILABLE, not an auth failure', async () => {
    await assertFailure(
      provider({ authorityHost: 'https://127.0.0.1:9' }).verify(),
      FailureType.dnsUnavailable,
      /sign-in service/,
    );
  });

  it('finds the longest zone of the resource group; a name with no zone: DNS_ZONE_NOT_FOUND naming it', async () => {
    assert.equal(await provider().zoneFor(`_acme-challenge.www.deep.sub.${ZONE}`), `deep.sub.${ZONE}`);
    assert.equal(await provider().zoneFor(`_acme-challenge.sub.${ZONE}`), ZONE);
    await assertFailure(
      provider().zoneFor('_acme-challenge.missing.test'),
      FailureType.dnsZoneNotFound,
      /missing\.test/,
    );
  });

  it('a configured zone that is not there, or an unknown resource group: DNS_ZONE_NOT_FOUND', async () => {
    await assertFailure(
      provider({ zoneName: 'absent.test' }).verify(),
      FailureType.dnsZoneNotFound,
      /ResourceNotFound.*absent\.test/,
    );
    await assertFailure(
      provider({ resourceGroup: 'no-such-rg' }).zoneFor(recordName()),
      FailureType.dnsZoneNotFound,
      /ResourceGroupNotFound/,
    );
  });
});

describe('present and cleanup', () => {
  it('present creates the set create-only (If-None-Match: *); a retry writes nothing', async () => {
    const name = recordName();
    const { first, again } = await callsOfRetry(fake.calls, () => provider().present(name, 'value-one'));
    assert.deepEqual(fake.txt(name), ['value-one']);
    const put = first.find((c) => c.method === 'PUT');
    assert.deepEqual([put?.ifNoneMatch, put?.status], ['*', 201]);
    assert.equal(again.filter((c) => c.method !== 'GET' && c.method !== 'POST').length, 0, 'the retry wrote nothing');
  });

  it('a wildcard and its base name at once: both values coexist, cleanup removes only its own', async () => {
    const name = recordName();
    fake.putTxt(RG, ZONE, name.slice(0, -(ZONE.length + 1)), ['someone-elses']);
    await Promise.all([provider().present(name, 'wild'), provider().present(name, 'base')]);
    assert.deepEqual(fake.txt(name).sort(), ['base', 'someone-elses', 'wild']);
    await provider().cleanup(name, 'wild');
    await provider().cleanup(name, 'wild');
    assert.deepEqual(fake.txt(name).sort(), ['base', 'someone-elses']);
  });

  it('the last value removed deletes the set (If-Match); cleanup of an absent set is a no-op', async () => {
    const name = recordName();
    await provider().present(name, 'only');
    const calls = await callsDuring(fake.calls, () => provider().cleanup(name, 'only'));
    assert.ok(calls.some((c) => c.method === 'DELETE' && c.ifMatch));
    assert.deepEqual(fake.txt(name), []);
    const none = await callsDuring(fake.calls, () => provider().cleanup(name, 'only'));
    assert.equal(none.filter((c) => c.method === 'DELETE').length, 0);
  });

  it('another writer between read and write: 412, read again, nothing lost', async () => {
    const name = recordName();
    const rel = name.slice(0, -(ZONE.length + 1));
    await provider().present(name, 'first');
    fake.beforeNextWrite(() => fake.putTxt(RG, ZONE, rel, ['first', 'racer']));
    const calls = await callsDuring(fake.calls, () => provider().present(name, 'second'));
    assert.ok(calls.some((c) => c.status === 412));
    assert.deepEqual(fake.txt(name).sort(), ['first', 'racer', 'second']);
  });

  it('a Reader principal: DNS_AUTH_FAILED naming the write action and the role to give', async () => {
    await assertFailure(
      provider({ clientId: READER }, READER_SECRET).present(recordName(), 'denied'),
      FailureType.dnsAuth,
      /AuthorizationFailed.*dnszones\/TXT\/write.*DNS Zone Contributor/,
    );
  });

  it('429 once is retried after Retry-After; persistent 429 is a retryable DNS_PROVIDER_UNAVAILABLE', async () => {
    const name = recordName();
    fake.failNext(/\/TXT\//, 429, 1);
    await provider().present(name, 'after-throttle');
    assert.deepEqual(fake.txt(name), ['after-throttle']);
    fake.failNext(/\/TXT\//, 429, 5);
    const error = await rejection(provider().present(recordName(), 'throttled'));
    assert.equal(error.type, FailureType.dnsUnavailable);
    assert.equal(error.retryAfterMs, 1000);
  });

  it('an access token the Resource Manager no longer accepts: DNS_AUTH_FAILED (401), no secret', async () => {
    const p = provider();
    await p.verify();
    fake.expireTokens();
    const error = await assertFailure(p.present(recordName(), 'x'), FailureType.dnsAuth, /InvalidAuthenticationToken/);
    assert.ok(!error.message.includes(SECRET));
  });
});
