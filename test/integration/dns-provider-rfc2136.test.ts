/**
 * The shared DNS provider contract against a real BIND 9 (Debian's named) on a loopback port: RFC 2136
 * updates signed with TSIG (HMAC-SHA256), read back from named itself as the CA would see them.
 */
import { CONTRACT_ZONE, oneSecretCases, runDnsProviderContract } from '../support/dns-provider-contract';
import { newBindKey, startBind } from '../support/bind';
import { freePort } from '../support/free-port';

const key = newBindKey('certfleet-contract', 'hmac-sha256');
const wrongSecret = newBindKey('certfleet-contract', 'hmac-sha256').secret;

runDnsProviderContract({
  id: 'rfc2136',
  async setup() {
    const bind = await startBind({ keys: [key], zones: [{ name: CONTRACT_ZONE, updateKeys: [key.name] }] });
    const config = { server: bind.address, keyName: key.name, algorithm: key.algorithm };
    const closed = `127.0.0.1:${await freePort()}`;
    return {
      ...oneSecretCases({
        config,
        closedConfig: { ...config, server: closed },
        secretName: 'tsigSecret',
        secret: key.secret,
        wrongSecret,
      }),
      zone: CONTRACT_ZONE,
      txtValues: (name) => bind.txt(name),
      stop: () => bind.stop(),
    };
  },
});
