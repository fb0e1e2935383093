import { createCloudflareProvider } from './cloudflare';
import { createPowerDnsProvider } from './powerdns';
import type { DnsProviderFactory } from './types';

/** Provider id (= folder = dns_providers.kind) → factory. */
export const dnsProviderFactories: Record<string, DnsProviderFactory> = {
  cloudflare: createCloudflareProvider,
  powerdns: createPowerDnsProvider,
};
