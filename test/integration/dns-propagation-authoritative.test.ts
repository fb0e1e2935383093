/**
 * The propagation check's own path (no fixed resolvers): the zone's NS records are looked up, then
 * every IPv4 and IPv6 address of each nameserver, and the TXT values are asked of those servers.
 * Against a real PowerDNS server that serves both the lookups and the zones; one zone's only
 * nameserver has only an IPv6 address (::1), so it must be asked over IPv6.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nameServersFor, waitForTxtPropagation } from '../../activities/dns-propagation';
import { createPowerDnsProvider } from '../../activities/dns-providers/powerdns';
import type { DnsProvider } from '../../activities/dns-providers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { rejection } from '../support/assertions';
import { startPowerDns, type PowerDns } from '../support/pdns';

let pdns: PowerDns;
let provider: DnsProvider;

before(async () => {
  pdns = await startPowerDns({ apiKey: 'propagation-key', ipv6: true });
  await pdns.createZone('v4.test');
  await pdns.setRecord('v4.test', 'ns1.v4.test', 'A', '127.0.0.1');
  await pdns.createZone('v6only.test');
  await pdns.setRecord('v6only.test', 'ns1.v6only.test', 'AAAA', '::1');
  provider = createPowerDnsProvider({
    config: { apiUrl: pdns.apiUrl, serverId: 'localhost' },
    secrets: { apiKey: 'propagation-key' },
  });
});

after(async () => {
  await pdns?.stop();
});

const lookup = () => ({ via: [pdns.dnsAddress], port: pdns.dnsPort });

describe('propagation at the authoritative nameservers', () => {
  for (const [zone, expected] of [
    ['v4.test', () => `127.0.0.1:${pdns.dnsPort}`],
    ['v6only.test', () => `[::1]:${pdns.dnsPort}`],
  ] as const) {
    it(`${zone}: finds its nameserver, waits until it serves both values, and names it when it does not`, async () => {
      const record = `_acme-challenge.www.${zone}`;
      const servers = await nameServersFor(await provider.zoneFor(record), [], lookup());
      assert.deepEqual(servers, [{ name: `ns1.${zone}`, address: expected() }]);

      await provider.present(record, 'wildcard-value');
      await provider.present(record, 'base-value');
      const seen = await waitForTxtPropagation(record, ['wildcard-value', 'base-value'], servers, {
        intervalMs: 50,
        timeoutMs: 5_000,
      });
      assert.ok(seen.rounds >= 1);

      await provider.cleanup(record, 'base-value');
      const error = await rejection(
        waitForTxtPropagation(record, ['wildcard-value', 'base-value'], servers, { intervalMs: 0, timeoutMs: 0 }),
        ClassifiedError,
      );
      assert.equal(error.type, FailureType.propagationTimeout);
      assert.match(error.message, new RegExp(`ns1\\.${zone.replace('.', '\\.')} \\(`));
      assert.match(error.message, /other values \(1\)/);
      await provider.cleanup(record, 'wildcard-value');
    });
  }

  it('a zone without nameserver addresses: DNS_PROVIDER_UNAVAILABLE naming the zone', async () => {
    await pdns.createZone('noaddr.test');
    const error = await rejection(nameServersFor('noaddr.test', [], lookup()), ClassifiedError);
    assert.equal(error.type, FailureType.dnsUnavailable);
    assert.match(error.message, /noaddr\.test \(ns1\.noaddr\.test\) have no IPv4 or IPv6 addresses/);
  });
});
