import type { DnsProviderFactory } from './types';

/**
 * Provider id (= folder = dns_providers.kind) → factory. Each provider's module (and its SDK: the
 * Cloudflare SDK alone is 1,166 modules, Azure's and AWS's about 250 more) is loaded when a provider of
 * that kind is first made, so a worker holds in memory only the SDKs of the providers its customers
 * use (docs/scaling.md, "Memory").
 */
export const dnsProviderFactories: Record<string, DnsProviderFactory> = {
  cloudflare: (input) => (require('./cloudflare') as typeof import('./cloudflare')).createCloudflareProvider(input),
  powerdns: (input) => (require('./powerdns') as typeof import('./powerdns')).createPowerDnsProvider(input),
  rfc2136: (input) => (require('./rfc2136') as typeof import('./rfc2136')).createRfc2136Provider(input),
  route53: (input) => (require('./route53') as typeof import('./route53')).createRoute53Provider(input),
  azure: (input) => (require('./azure') as typeof import('./azure')).createAzureDnsProvider(input),
};
