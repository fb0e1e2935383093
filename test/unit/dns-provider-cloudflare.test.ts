/**
 * The shared DNS provider contract, run against Cloudflare through the official SDK and
 * test/fakes/cloudflare (the cases only Cloudflare has are in cloudflare.test.ts).
 */
import { startFakeCloudflare } from '../fakes/cloudflare/server';
import { CONTRACT_ZONE, oneSecretCases, runDnsProviderContract } from '../support/dns-provider-contract';
import { freePort } from '../support/free-port';

const TOKEN = 'cf-contract-token-SECRET-0123456789';
const WRONG_TOKEN = 'cf-contract-wrong-SECRET-9876543210';

runDnsProviderContract({
  id: 'cloudflare',
  async setup() {
    const fake = await startFakeCloudflare({ token: TOKEN, zones: [{ name: CONTRACT_ZONE }, { name: 'other.test' }] });
    const closed = `http://127.0.0.1:${await freePort()}/client/v4`;
    const config = { apiBaseUrl: fake.baseUrl };
    return {
      ...oneSecretCases({
        config,
        closedConfig: { apiBaseUrl: closed },
        secretName: 'token',
        secret: TOKEN,
        wrongSecret: WRONG_TOKEN,
      }),
      zone: CONTRACT_ZONE,
      txtValues: async (name) =>
        fake
          .records()
          .filter((r) => r.type === 'TXT' && r.name === name)
          .map((r) => r.content.replace(/^"(.*)"$/, '$1')),
      stop: () => fake.close(),
    };
  },
});
