import { createAzureDnsProvider } from './azure';
import { createCloudflareProvider } from './cloudflare';
import { createPowerDnsProvider } from './powerdns';
import { createRfc2136Provider } from './rfc2136';
import { createRoute53Provider } from './route53';
import type { DnsProviderFactory } from './types';

/** Provider id (= folder = dns_providers.kind) → factory. */
export const dnsProviderFactories: Record<string, DnsProviderFactory> = {
  cloudflare: createCloudflareProvider,
  powerdns: createPowerDnsProvider,
  rfc2136: createRfc2136Provider,
  route53: createRoute53Provider,
  azure: createAzureDnsProvider,
};
