import { azureDnsDescriptor } from './azure/descriptor';
import { cloudflareDescriptor } from './cloudflare/descriptor';
import { powerdnsDescriptor } from './powerdns/descriptor';
import { rfc2136Descriptor } from './rfc2136/descriptor';
import { route53Descriptor } from './route53/descriptor';
import type { DnsProviderDescriptor } from './types';

/** Web-safe: descriptors only, no provider code. */
export const dnsProviderDescriptors: Record<string, DnsProviderDescriptor> = {
  cloudflare: cloudflareDescriptor,
  powerdns: powerdnsDescriptor,
  rfc2136: rfc2136Descriptor,
  route53: route53Descriptor,
  azure: azureDnsDescriptor,
};
