import { createAzureDnsProvider } from './azure';
import { createCloudflareProvider } from './cloudflare';
import { createRoute53Provider } from './route53';
import type { DnsProviderFactory } from './types';

/** Provider id (= folder = dns_providers.kind) → factory. */
export const dnsProviderFactories: Record<string, DnsProviderFactory> = {
  cloudflare: createCloudflareProvider,
  route53: createRoute53Provider,
  azure: createAzureDnsProvider,
};
