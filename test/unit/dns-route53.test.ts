/**
 * The Route 53 DNS-01 provider driven through the official @aws-sdk/client-route-53 against
 * test/fakes/route53 (SigV4, IAM policy, transactional change batches, GetChange INSYNC).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { buildRoute53Provider } from '../../activities/dns-providers/route53/index';
import { route53Descriptor } from '../../activities/dns-providers/route53/descriptor';
import type { DnsProvider } from '../../activities/dns-providers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { startFakeRoute53, type FakeRoute53 } from '../fakes/route53/server';
import { assertFailure, callsDuring, callsOfRetry, rejection as rejectionOf } from '../support/assertions';

const KEY = { accessKeyId: 'AKIAFAKECERTFLEET001', secretAccessKey: 'r53-secret-SECRET-0123456789abcdefghijklmn' };
const READ_ONLY = {
  accessKeyId: 'AKIAFAKEREADONLY0002',
  secretAccessKey: 'r53-readonly-SECRET-abcdefghijklmnopqrstuv',
};
const ZONE = 'example.test';
const ZONE_ID = 'Z0EXAMPLE00000000001';

let fake: FakeRoute53;

before(async () => {
  fake = await startFakeRoute53({
    keys: [
      KEY,
      { ...READ_ONLY, allow: ['ListHostedZonesByName', 'GetHostedZone', 'ListResourceRecordSets', 'GetChange'] },
    ],
    zones: [{ name: ZONE, id: ZONE_ID }, { name: `sub.${ZONE}`, privateZone: true }, { name: 'other.test' }],
    syncAfterPolls: 2,
  });
});

after(async () => {
  await fake.close();
});

function provider(config: Record<string, unknown> = {}, secrets: Record<string, string> = KEY): DnsProvider {
  return buildRoute53Provider(
    { config: { apiEndpoint: fake.endpoint, ...config }, secrets },
    { pollIntervalMs: 5, maxWaitMs: 2_000, maxAttempts: 2 },
  );
}

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);
let counter = 0;
const recordName = (): string => `_acme-challenge.r${++counter}.${ZONE}`;

describe('descriptor', () => {
  it('accepts a hosted zone id with its /hostedzone/ prefix and refuses a malformed one', () => {
    assert.deepEqual(route53Descriptor.parseConfig({ hostedZoneId: '/hostedzone/z0example' }).config, {
      hostedZoneId: 'Z0EXAMPLE',
    });
    assert.ok(route53Descriptor.parseConfig({ hostedZoneId: 'Z-1 2' }).errors['hostedZoneId']);
    assert.ok(route53Descriptor.parseConfig({ apiEndpoint: 'http://route53.example.net' }).errors['apiEndpoint']);
  });
});

describe('verify and zones', () => {
  it('a valid key pair is accepted; with a hosted zone id the zone is read', async () => {
    assert.deepEqual(await provider().verify(), { zone: '', detail: 'access key accepted' });
    const verified = await provider({ hostedZoneId: ZONE_ID }).verify();
    assert.equal(verified.zone, ZONE);
  });

  for (const [label, secrets, code] of [
    [
      'a wrong secret access key',
      { ...KEY, secretAccessKey: 'wrong-SECRET-value-000000000000000000000' },
      'SignatureDoesNotMatch',
    ],
    ['an unknown access key id', { ...KEY, accessKeyId: 'AKIAUNKNOWNKEY000009' }, 'InvalidClientTokenId'],
  ] as const) {
    it(`${label}: DNS_AUTH_FAILED, no secret in the message`, async () => {
      const error = await rejection(provider({}, secrets).verify());
      assert.equal(error.type, FailureType.dnsAuth);
      assert.match(error.message, new RegExp(code));
      assert.ok(!error.message.includes(secrets.secretAccessKey));
      assert.ok(!error.message.includes(secrets.accessKeyId));
    });
  }

  it('a missing secret field: DNS_AUTH_FAILED naming the field', () => {
    assert.throws(
      () => provider({}, { accessKeyId: KEY.accessKeyId }),
      (e: unknown) =>
        e instanceof ClassifiedError && e.type === FailureType.dnsAuth && /secret access key/.test(e.message),
    );
  });

  it('finds the longest public zone and skips a private zone of the same name', async () => {
    assert.equal(await provider().zoneFor(`_acme-challenge.www.sub.${ZONE}`), ZONE);
    assert.equal(await provider().zoneFor('_acme-challenge.other.test'), 'other.test');
  });

  it('no zone: DNS_ZONE_NOT_FOUND naming the name; an unknown hosted zone id: DNS_ZONE_NOT_FOUND', async () => {
    await assertFailure(
      provider().zoneFor('_acme-challenge.missing.test'),
      FailureType.dnsZoneNotFound,
      /missing\.test/,
    );
    await assertFailure(provider({ hostedZoneId: 'ZNOSUCHZONE' }).verify(), FailureType.dnsZoneNotFound, /ZNOSUCHZONE/);
  });
});

describe('present and cleanup', () => {
  it('present creates the value and returns only once GetChange says INSYNC; a retry changes nothing', async () => {
    const name = recordName();
    const { first, again } = await callsOfRetry(fake.calls, () => provider().present(name, 'value-one'));
    assert.deepEqual(fake.txt(name), ['"value-one"']);
    assert.equal(first.filter((c) => c.action === 'GetChange').length, 3, 'PENDING, PENDING, INSYNC');
    assert.equal(again.filter((c) => c.action === 'ChangeResourceRecordSets').length, 0, 'the retry changed nothing');
  });

  it('a wildcard and its base name at once: both values coexist, cleanup removes only its own', async () => {
    const name = recordName();
    fake.putSet(ZONE, { name, type: 'TXT', ttl: 300, values: ['"someone-elses"'] });
    await Promise.all([provider().present(name, 'wild'), provider().present(name, 'base')]);
    assert.deepEqual(fake.txt(name).sort(), ['"base"', '"someone-elses"', '"wild"']);
    await provider().cleanup(name, 'wild');
    assert.deepEqual(fake.txt(name).sort(), ['"base"', '"someone-elses"']);
    await provider().cleanup(name, 'wild'); // absent: nothing to do
    await provider().cleanup(name, 'base');
    assert.deepEqual(fake.txt(name), ['"someone-elses"']);
  });

  it('the last value removed deletes the set; cleanup of a name with no set is a no-op', async () => {
    const name = recordName();
    await provider().present(name, 'only');
    await provider().cleanup(name, 'only');
    assert.deepEqual(fake.txt(name), []);
    const calls = await callsDuring(fake.calls, () => provider().cleanup(name, 'only'));
    assert.equal(calls.filter((c) => c.action === 'ChangeResourceRecordSets').length, 0);
  });

  it('another writer changing the set between read and write: the batch is refused and redone, nothing is lost', async () => {
    const name = recordName();
    await provider().present(name, 'first');
    fake.beforeNextChange(() => fake.putSet(ZONE, { name, type: 'TXT', ttl: 60, values: ['"first"', '"racer"'] }));
    await provider().present(name, 'second');
    assert.deepEqual(fake.txt(name).sort(), ['"first"', '"racer"', '"second"']);
  });

  it('Route 53 answers InvalidChangeBatch to a DELETE of a value that is not there (the SDK sees it by name)', async () => {
    const sdk = new Route53Client({ region: 'us-east-1', endpoint: fake.endpoint, credentials: KEY, maxAttempts: 1 });
    const name = recordName();
    await assert.rejects(
      sdk.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: ZONE_ID,
          ChangeBatch: {
            Changes: [
              {
                Action: 'DELETE',
                ResourceRecordSet: { Name: name, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"x"' }] },
              },
            ],
          },
        }),
      ),
      (e: Error) => e.name === 'InvalidChangeBatch' && /but it was not found/.test(e.message),
    );
    sdk.destroy();
  });

  it('a key without route53:ChangeResourceRecordSets: DNS_AUTH_FAILED naming the action', async () => {
    await assertFailure(
      provider({}, READ_ONLY).present(recordName(), 'denied'),
      FailureType.dnsAuth,
      /AccessDenied.*route53:ChangeResourceRecordSets/,
    );
  });

  it('one Throttling answer is retried by the SDK; throttling that persists is a retryable DNS_PROVIDER_UNAVAILABLE', async () => {
    const name = recordName();
    fake.failNext('ChangeResourceRecordSets', 'Throttling', 1);
    await provider().present(name, 'after-throttle');
    assert.deepEqual(fake.txt(name), ['"after-throttle"']);
    fake.failNext('ListResourceRecordSets', 'PriorRequestNotComplete', 2);
    await assertFailure(
      provider().present(recordName(), 'busy'),
      FailureType.dnsUnavailable,
      /PriorRequestNotComplete/,
    );
  });
});
