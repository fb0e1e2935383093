/**
 * The shared DNS provider contract against the strict Azure DNS fake (test/fakes/azure-dns), driven by
 * the official @azure/arm-dns and @azure/identity. The fake serves HTTPS with its own CA, which the
 * registry's factory cannot be told to trust (the form has no such field), so the harness builds the
 * provider with that trust; the registry must still list it.
 */
import { buildAzureDnsProvider } from '../../activities/dns-providers/azure/index';
import { runDnsProviderContract } from '../support/dns-provider-contract';
import { freePort } from '../support/free-port';
import { startFakeAzureDns } from '../fakes/azure-dns/server';

const TENANT = '11111111-2222-3333-4444-666666666666';
const SUBSCRIPTION = '99999999-8888-7777-6666-444444444444';
const CLIENT = 'aaaaaaaa-0000-0000-0000-00000000c0de';
const SECRET = 'az~CONTRACT~SECRET-0123456789abcdefghij';
const WRONG = 'az~CONTRACT~WRONG-SECRET-zyxwvutsrqpon';
const RG = 'contract-rg';
const ZONE = 'contract.test';

let caPem = '';

runDnsProviderContract({
  id: 'azure',
  create: (input) => buildAzureDnsProvider(input, { trustedCaPem: caPem, maxRetries: 1, retryDelayMs: 10 }),
  async setup() {
    const fake = await startFakeAzureDns({
      subscriptionId: SUBSCRIPTION,
      resourceGroups: [{ name: RG, zones: [ZONE, 'other.test'] }],
      principals: [{ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, role: 'DNS Zone Contributor' }],
    });
    caPem = fake.caPem;
    const base = { tenantId: TENANT, clientId: CLIENT, subscriptionId: SUBSCRIPTION, resourceGroup: RG };
    const config = { ...base, authorityHost: fake.url, resourceManagerUrl: fake.url };
    const closed = `https://127.0.0.1:${await freePort()}`;
    return {
      input: { config, secrets: { clientSecret: SECRET } },
      withWrongCredentials: () => ({ config, secrets: { clientSecret: WRONG } }),
      withNothingListening: () => ({
        config: { ...base, authorityHost: closed, resourceManagerUrl: closed },
        secrets: { clientSecret: SECRET },
      }),
      zone: ZONE,
      txtValues: async (name) => fake.txt(name),
      secrets: [SECRET, WRONG],
      stop: () => fake.close(),
    };
  },
});
