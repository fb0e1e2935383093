import { azureDnsDescriptor } from './azure/descriptor';
import { cloudflareDescriptor } from './cloudflare/descriptor';
import { route53Descriptor } from './route53/descriptor';
import type { DnsProviderDescriptor } from './types';

/** Web-safe: descriptors only, no provider code. */
export const dnsProviderDescriptors: Record<string, DnsProviderDescriptor> = {
  cloudflare: cloudflareDescriptor,
  route53: route53Descriptor,
  azure: azureDnsDescriptor,
};
