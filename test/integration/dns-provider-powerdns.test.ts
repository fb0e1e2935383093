/**
 * The shared DNS provider contract against a real PowerDNS Authoritative Server (Debian pdns-server,
 * sqlite3 backend): records are written through its HTTP API and read back over DNS from the
 * server itself, as the propagation check and the CA would.
 */
import { promises as dns } from 'node:dns';
import { CONTRACT_ZONE, oneSecretCases, runDnsProviderContract } from '../support/dns-provider-contract';
import { freePort } from '../support/free-port';
import { startPowerDns } from '../support/pdns';

const API_KEY = 'pdns-contract-key-SECRET-0123456789';
const WRONG_KEY = 'pdns-contract-wrong-SECRET-9876543210';

runDnsProviderContract({
  id: 'powerdns',
  async setup() {
    const pdns = await startPowerDns({ apiKey: API_KEY });
    await pdns.createZone(CONTRACT_ZONE);
    await pdns.createZone('other.test');
    const resolver = new dns.Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([pdns.dnsAddress]);
    const config = { apiUrl: pdns.apiUrl, serverId: 'localhost' };
    const closed = `http://127.0.0.1:${await freePort()}`;
    return {
      ...oneSecretCases({
        config,
        closedConfig: { ...config, apiUrl: closed },
        secretName: 'apiKey',
        secret: API_KEY,
        wrongSecret: WRONG_KEY,
      }),
      zone: CONTRACT_ZONE,
      async txtValues(name) {
        try {
          return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
        } catch (error) {
          if (['ENODATA', 'ENOTFOUND'].includes((error as NodeJS.ErrnoException).code ?? '')) return [];
          throw error;
        }
      },
      stop: () => pdns.stop(),
    };
  },
});
