/**
 * The contract every DNS provider passes, run against its peer: a real server where one runs here
 * (PowerDNS, BIND), otherwise its strict fake under test/fakes/ (cert-manager's DNS-solver
 * conformance suite is the model). A provider's test file supplies a harness and calls
 * runDnsProviderContract(); the factory is taken from the registry, so an unregistered provider fails.
 *
 *   runDnsProviderContract({ id: 'powerdns', setup: async () => ({ … }) });
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
import { dnsProviderFactories } from '../../activities/dns-providers/registry';
import type { DnsProvider, DnsProviderFactory, DnsProviderFactoryInput } from '../../activities/dns-providers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../temporal/contract';
import { rejection } from './assertions';

/** The zone every contract peer serves and the credentials may edit. */
export const CONTRACT_ZONE = 'contract.test';

export interface DnsContractSetup {
  /** Config and secrets that work, as the worker would pass them (config as the descriptor parsed it). */
  input: DnsProviderFactoryInput;
  /** The same with a wrong credential (a wrong token, key or TSIG secret). */
  withWrongCredentials(): DnsProviderFactoryInput;
  /** The same pointed at an address where nothing answers (a closed loopback port). */
  withNothingListening(): DnsProviderFactoryInput;
  /** A zone the peer serves and the credentials may edit, e.g. example.test. */
  zone: string;
  /** The TXT values the peer publishes now for a name (its record store, or a DNS query to the real server). */
  txtValues(name: string): Promise<string[]>;
  /** Every secret value in play (right and wrong): none may appear in an error message. */
  secrets: string[];
  stop(): Promise<void>;
}

/** The right, wrong and unreachable cases of a provider that takes one secret (a token, an API key, a TSIG secret). */
export function oneSecretCases(c: {
  config: Record<string, unknown>;
  /** `config` pointed at a closed loopback port. */
  closedConfig: Record<string, unknown>;
  secretName: string;
  secret: string;
  wrongSecret: string;
}): Pick<DnsContractSetup, 'input' | 'withWrongCredentials' | 'withNothingListening' | 'secrets'> {
  const withSecret = (config: Record<string, unknown>, secret: string): DnsProviderFactoryInput => ({
    config,
    secrets: { [c.secretName]: secret },
  });
  return {
    input: withSecret(c.config, c.secret),
    withWrongCredentials: () => withSecret(c.config, c.wrongSecret),
    withNothingListening: () => withSecret(c.closedConfig, c.secret),
    secrets: [c.secret, c.wrongSecret],
  };
}

export interface DnsContractHarness {
  /** Provider id: folder = registry key = dns_providers.kind. */
  id: string;
  /**
   * Builds the provider instead of the registry's factory, for a peer the factory cannot reach as
   * configured (a fake that serves HTTPS with its own CA); the registry must still list the provider.
   */
  create?: DnsProviderFactory;
  setup(): Promise<DnsContractSetup>;
}

/** Runs the shared contract against one provider and its peer. */
export function runDnsProviderContract(harness: DnsContractHarness): void {
  describe(`DNS provider contract: ${harness.id}`, () => {
    let s: DnsContractSetup;
    let counter = 0;
    /** A fresh challenge name per test, so the tests never see each other's records. */
    const fresh = (): string => `_acme-challenge.c${++counter}-${process.pid}.${s.zone}`;
    const build = (input: DnsProviderFactoryInput): DnsProvider => {
      const factory = dnsProviderFactories[harness.id];
      assert.ok(factory, `${harness.id} is in activities/dns-providers/registry.ts`);
      return (harness.create ?? factory)(input);
    };
    const provider = (): DnsProvider => build(s.input);
    const sorted = async (name: string): Promise<string[]> => (await s.txtValues(name)).sort();
    const assertSafeMessage = (error: ClassifiedError): void => {
      assert.ok(error.message.startsWith(`${harness.id}: `), `starts with the provider id: ${error.message}`);
      for (const secret of s.secrets) assert.ok(!error.message.includes(secret), `no secret in: ${error.message}`);
    };

    before(async () => {
      s = await harness.setup();
    });
    after(async () => {
      await s?.stop();
    });

    it('is registered, and its descriptor names every secret it is given', () => {
      const descriptor = dnsProviderDescriptors[harness.id];
      assert.ok(descriptor, `${harness.id} is in activities/dns-providers/descriptors.ts`);
      assert.equal(descriptor.id, harness.id);
      const secretNames = descriptor.fields.filter((f) => f.secret).map((f) => f.name);
      assert.ok(secretNames.length > 0, 'at least one secret field');
      for (const name of Object.keys(s.input.secrets)) assert.ok(secretNames.includes(name), `secret field ${name}`);
      const parsed = descriptor.parseConfig(s.input.config);
      assert.deepEqual(parsed.errors, {}, 'the harness config passes the descriptor');
    });

    it('verify: the credentials work', async () => {
      const result = await provider().verify();
      assert.equal(typeof result.detail, 'string');
    });

    it('zoneFor: the zone apex that holds a challenge name', async () => {
      assert.equal(await provider().zoneFor(fresh()), s.zone);
    });

    it('present publishes the value; a retry (even from a new instance) adds no second copy', async () => {
      const name = fresh();
      await provider().present(name, 'contract-value-1');
      assert.deepEqual(await sorted(name), ['contract-value-1']);
      await provider().present(name, 'contract-value-1');
      await build(s.input).present(name, 'contract-value-1');
      assert.deepEqual(await sorted(name), ['contract-value-1'], 'idempotent');
      await provider().cleanup(name, 'contract-value-1');
      assert.deepEqual(await sorted(name), []);
    });

    it('several TXT values on one name (a wildcard and its base name) coexist; cleanup removes only its own', async () => {
      const name = fresh();
      const p = provider();
      await p.present(name, 'wildcard-value');
      await p.present(name, 'base-value');
      assert.deepEqual(await sorted(name), ['base-value', 'wildcard-value']);
      await p.cleanup(name, 'wildcard-value');
      assert.deepEqual(await sorted(name), ['base-value']);
      await p.cleanup(name, 'wildcard-value');
      assert.deepEqual(await sorted(name), ['base-value'], 'a second cleanup changes nothing');
      await build(s.input).cleanup(name, 'base-value');
      assert.deepEqual(await sorted(name), []);
    });

    it('cleanup of a value that was never published succeeds and changes nothing', async () => {
      const name = fresh();
      await provider().present(name, 'kept');
      await provider().cleanup(name, 'never-published');
      await provider().cleanup(fresh(), 'never-published');
      assert.deepEqual(await sorted(name), ['kept']);
      await provider().cleanup(name, 'kept');
    });

    it('a wrong credential: DNS_AUTH_FAILED, non-retryable, without the secret', async () => {
      const wrong = build(s.withWrongCredentials());
      for (const attempt of [() => wrong.verify(), () => wrong.present(fresh(), 'never')]) {
        const error = await rejection(attempt(), ClassifiedError);
        assert.equal(error.type, FailureType.dnsAuth, error.message);
        assert.ok(NON_RETRYABLE_FAILURES.includes(error.type));
        assertSafeMessage(error);
      }
    });

    it('a name in no zone of the peer: DNS_ZONE_NOT_FOUND, non-retryable, naming the name', async () => {
      const name = `_acme-challenge.www.absent-zone-${process.pid}.invalid`;
      for (const attempt of [() => provider().zoneFor(name), () => provider().present(name, 'never')]) {
        const error = await rejection(attempt(), ClassifiedError);
        assert.equal(error.type, FailureType.dnsZoneNotFound, error.message);
        assert.ok(NON_RETRYABLE_FAILURES.includes(error.type));
        assert.ok(error.message.includes(`absent-zone-${process.pid}.invalid`), error.message);
        assertSafeMessage(error);
      }
    });

    it('nothing listening: DNS_PROVIDER_UNAVAILABLE, retryable, without the secret', async () => {
      const error = await rejection(build(s.withNothingListening()).present(fresh(), 'never'), ClassifiedError);
      assert.equal(error.type, FailureType.dnsUnavailable, error.message);
      assert.ok(!NON_RETRYABLE_FAILURES.includes(error.type));
      assertSafeMessage(error);
    });
  });
}
