/**
 * The shared DNS provider contract against the strict Azure DNS fake (test/fakes/azure-dns), driven by
 * the official @azure/arm-dns and @azure/identity. The fake serves HTTPS with its own CA, which the
 * registry's factory cannot be told to trust (the form has no such field), so the harness builds the
 * provider with that trust; the registry must still list it.
 */
import { buildAzureDnsProvider } from '../../activities/dns-providers/azure/index';
import { CONTRACT_ZONE, runDnsProviderContract } from '../support/dns-provider-contract';
import { freePort } from '../support/free-port';
import { startFakeAzureDns } from '../fakes/azure-dns/server';
import { AZURE_TEST } from '../fakes/azure-dns/test-identities';

const WRONG = 'az~CONTRACT~WRONG-SECRET-zyxwvutsrqpon';
const { tenantId, clientId, clientSecret, subscriptionId, resourceGroup } = AZURE_TEST;

let caPem = '';

runDnsProviderContract({
  id: 'azure',
  create: (input) => buildAzureDnsProvider(input, { trustedCaPem: caPem, maxRetries: 1, retryDelayMs: 10 }),
  async setup() {
    const fake = await startFakeAzureDns({
      subscriptionId,
      resourceGroups: [{ name: resourceGroup, zones: [CONTRACT_ZONE, 'other.test'] }],
      principals: [{ tenantId, clientId, clientSecret, role: 'DNS Zone Contributor' }],
    });
    caPem = fake.caPem;
    const base = { tenantId, clientId, subscriptionId, resourceGroup };
    const config = { ...base, authorityHost: fake.url, resourceManagerUrl: fake.url };
    const closed = `https://127.0.0.1:${await freePort()}`;
    return {
      input: { config, secrets: { clientSecret } },
      withWrongCredentials: () => ({ config, secrets: { clientSecret: WRONG } }),
      withNothingListening: () => ({
        config: { ...base, authorityHost: closed, resourceManagerUrl: closed },
        secrets: { clientSecret },
      }),
      zone: CONTRACT_ZONE,
      txtValues: async (name) => fake.txt(name),
      secrets: [clientSecret, WRONG],
      stop: () => fake.close(),
    };
  },
});
