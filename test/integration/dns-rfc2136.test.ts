/**
 * The RFC 2136 + TSIG provider against a real BIND 9 (Debian's named) on a loopback port: updates
 * signed with HMAC-SHA256 and HMAC-SHA512, read back from named, and named's own refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rfc2136Descriptor } from '../../activities/dns-providers/rfc2136/descriptor';
import { createRfc2136Provider } from '../../activities/dns-providers/rfc2136/index';
import type { DnsProvider } from '../../activities/dns-providers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { rejection } from '../support/assertions';
import { newBindKey, startBind, type BindKey, type BindServer } from '../support/bind';
import { freePort } from '../support/free-port';

const ZONE = 'dyn.test';
const OTHER = 'other.test';
const key256 = newBindKey('certfleet-256', 'hmac-sha256');
const key512 = newBindKey('certfleet-512', 'hmac-sha512');
const otherKey = newBindKey('other-key', 'hmac-sha256');

let bind: BindServer;

before(async () => {
  bind = await startBind({
    keys: [key256, key512, otherKey],
    zones: [
      { name: ZONE, updateKeys: [key256.name, key512.name] },
      { name: OTHER, updateKeys: [otherKey.name] },
    ],
  });
});
after(async () => {
  await bind?.stop();
});

function provider(key: BindKey = key256, extra: Record<string, unknown> = {}, secret = key.secret): DnsProvider {
  const parsed = rfc2136Descriptor.parseConfig({
    server: bind.address,
    keyName: key.name,
    algorithm: key.algorithm,
    ...extra,
  });
  assert.deepEqual(parsed.errors, {});
  return createRfc2136Provider({ config: parsed.config, secrets: { tsigSecret: secret } });
}

const failure = async (work: Promise<unknown>, type: FailureType): Promise<string> => {
  const error = await rejection(work, ClassifiedError);
  assert.equal(error.type, type, error.message);
  return error.message;
};

describe('rfc2136 against BIND 9', () => {
  it('adds a TXT value that named then serves, and a retry adds nothing', async () => {
    const dns = provider();
    await dns.present('_acme-challenge.www.dyn.test', 'value-one');
    await dns.present('_acme-challenge.www.dyn.test', 'value-one');
    assert.deepEqual(await bind.txt('_acme-challenge.www.dyn.test'), ['value-one']);
    await dns.cleanup('_acme-challenge.www.dyn.test', 'value-one');
    assert.deepEqual(await bind.txt('_acme-challenge.www.dyn.test'), []);
  });

  it('keeps several values on one name (a wildcard and its base name) and removes only its own', async () => {
    const dns = provider(key512);
    const name = '_acme-challenge.shop.dyn.test';
    await dns.present(name, 'for-wildcard');
    await dns.present(name, 'for-base-name');
    assert.deepEqual(await bind.txt(name), ['for-base-name', 'for-wildcard']);
    await dns.cleanup(name, 'for-wildcard');
    assert.deepEqual(await bind.txt(name), ['for-base-name']);
    await dns.cleanup(name, 'for-wildcard');
    await dns.cleanup(name, 'for-base-name');
    assert.deepEqual(await bind.txt(name), []);
  });

  it('finds the zone with a SOA query, or uses the configured one', async () => {
    assert.equal(await provider().zoneFor('_acme-challenge.a.b.dyn.test'), ZONE);
    assert.equal(await provider(otherKey).zoneFor('_acme-challenge.other.test'), OTHER);
    const configured = provider(key256, { zone: ZONE });
    assert.equal(await configured.zoneFor('_acme-challenge.x.dyn.test'), ZONE);
    assert.match(
      await failure(configured.zoneFor('_acme-challenge.x.other.test'), FailureType.dnsZoneNotFound),
      /not inside the configured zone dyn\.test/,
    );
  });

  it('verify proves the key may update the configured zone, and changes nothing', async () => {
    const result = await provider(key256, { zone: ZONE }).verify();
    assert.equal(result.zone, ZONE);
    assert.match(result.detail, /certfleet-256 may update zone dyn\.test/);
    assert.match((await provider().verify()).detail, /accepted/);
    assert.match(
      await failure(provider(key256, { zone: OTHER }).verify(), FailureType.dnsAuth),
      /refused key "certfleet-256" on zone other\.test \(REFUSED\)/,
    );
  });

  it('a wrong secret is a non-retryable auth failure that never shows the secret', async () => {
    const wrong = newBindKey(key256.name).secret;
    const message = await failure(
      provider(key256, {}, wrong).present('_acme-challenge.dyn.test', 'v'),
      FailureType.dnsAuth,
    );
    assert.match(message, /rejected TSIG key "certfleet-256" \(BADSIG\)/);
    assert.ok(!message.includes(wrong) && !message.includes(key256.secret));
    assert.match(await failure(provider(key256, { zone: ZONE }, wrong).verify(), FailureType.dnsAuth), /BADSIG/);
    assert.match(
      await failure(
        Promise.resolve().then(() => provider(key256, {}, 'not base64 at all!')),
        FailureType.dnsAuth,
      ),
      /not a base64 key/,
    );
  });

  it('an unknown key name or the wrong algorithm is refused by named as BADKEY', async () => {
    const unknown = { ...key256, name: 'nobody' };
    assert.match(
      await failure(provider(unknown).present('_acme-challenge.dyn.test', 'v'), FailureType.dnsAuth),
      /BADKEY/,
    );
    const wrongAlgorithm: BindKey = { ...key256, algorithm: 'hmac-sha512' };
    assert.match(await failure(provider(wrongAlgorithm).verify(), FailureType.dnsAuth), /BADKEY|BADSIG/);
  });

  it('a key that may not update the zone is refused (REFUSED), and nothing is written', async () => {
    const message = await failure(
      provider(otherKey, { zone: ZONE }).present('_acme-challenge.dyn.test', 'x'),
      FailureType.dnsAuth,
    );
    assert.match(message, /allow-update or update-policy/);
    assert.deepEqual(await bind.txt('_acme-challenge.dyn.test'), []);
  });

  it('a zone the server does not serve fails naming the name', async () => {
    const message = await failure(
      provider().present('_acme-challenge.www.missing.test', 'x'),
      FailureType.dnsZoneNotFound,
    );
    assert.match(message, /www\.missing\.test/);
  });

  it('an unreachable server is a retryable failure', async () => {
    const deadPort = await freePort();
    const parsed = rfc2136Descriptor.parseConfig({ server: `127.0.0.1:${deadPort}`, keyName: key256.name });
    const dns = createRfc2136Provider({ config: parsed.config, secrets: { tsigSecret: key256.secret } });
    assert.match(
      await failure(dns.present('_acme-challenge.dyn.test', 'x'), FailureType.dnsUnavailable),
      /cannot reach/,
    );
  });
});

describe('rfc2136 descriptor', () => {
  it('parses servers with ports, IPv6 and defaults, and refuses bad input', () => {
    const ok = (input: Record<string, unknown>) => rfc2136Descriptor.parseConfig({ keyName: 'k', ...input });
    assert.equal(ok({ server: 'ns1.example.com' }).config['server'], 'ns1.example.com:53');
    assert.equal(ok({ server: '[2001:db8::53]:5353' }).config['server'], '[2001:db8::53]:5353');
    assert.equal(ok({ server: '2001:db8::53' }).config['server'], '[2001:db8::53]:53');
    assert.equal(ok({ server: '192.0.2.1:53', algorithm: 'HMAC-SHA512' }).config['algorithm'], 'hmac-sha512');
    assert.equal(ok({ server: '192.0.2.1' }).config['algorithm'], 'hmac-sha256');
    assert.ok(ok({ server: 'ns1.example.com:99999' }).errors['server']);
    assert.ok(ok({ server: 'http://ns1.example.com' }).errors['server']);
    assert.ok(ok({ server: '192.0.2.1', algorithm: 'hmac-md5' }).errors['algorithm']);
    assert.ok(ok({ server: '192.0.2.1', zone: 'bad zone' }).errors['zone']);
    assert.ok(rfc2136Descriptor.parseConfig({ server: '192.0.2.1', keyName: '' }).errors['keyName']);
  });
});
