/**
 * The shared DNS provider contract against the strict Route 53 fake (test/fakes/route53), driven by the
 * official @aws-sdk/client-route-53 through the registry's factory, as the worker builds it.
 */
import { CONTRACT_ZONE, runDnsProviderContract } from '../support/dns-provider-contract';
import { freePort } from '../support/free-port';
import { startFakeRoute53 } from '../fakes/route53/server';

const KEY = { accessKeyId: 'AKIAFAKECONTRACT0001', secretAccessKey: 'r53-contract-SECRET-0123456789abcdefghij' };
const WRONG = 'r53-contract-WRONG-SECRET-zyxwvutsrqponmlk';

runDnsProviderContract({
  id: 'route53',
  async setup() {
    const fake = await startFakeRoute53({
      keys: [KEY],
      zones: [{ name: CONTRACT_ZONE }, { name: 'other.test' }],
      syncAfterPolls: 0,
    });
    const config = { apiEndpoint: fake.endpoint };
    const closed = `http://127.0.0.1:${await freePort()}`;
    return {
      input: { config, secrets: { ...KEY } },
      withWrongCredentials: () => ({ config, secrets: { ...KEY, secretAccessKey: WRONG } }),
      withNothingListening: () => ({ config: { apiEndpoint: closed }, secrets: { ...KEY } }),
      zone: CONTRACT_ZONE,
      // The fake keeps TXT values as Route 53 does: each in double quotes.
      txtValues: async (name) => fake.txt(name).map((v) => v.replace(/^"|"$/g, '')),
      secrets: [KEY.secretAccessKey, WRONG],
      stop: () => fake.close(),
    };
  },
});
