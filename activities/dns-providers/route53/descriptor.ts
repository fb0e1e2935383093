import { optionalApiBaseUrl } from '../../domain/api-base-url';
import type { DnsProviderDescriptor } from '../types';

export interface Route53Config {
  /** Skips the zone lookup by name (and the route53:ListHostedZonesByName permission it needs). */
  hostedZoneId?: string;
  /** API endpoint; default the SDK's (https://route53.amazonaws.com). Tests point it at the fake. */
  apiEndpoint?: string;
}

/** Hosted zone ids are upper-case letters and digits, e.g. Z1D633PJN98FT9 (the console also shows `/hostedzone/` before it). */
const HOSTED_ZONE_ID = /^[A-Z0-9]{1,32}$/;

export const route53Descriptor: DnsProviderDescriptor = {
  id: 'route53',
  label: 'Amazon Route 53',
  fields: [
    {
      name: 'accessKeyId',
      label: 'Access key id',
      required: true,
      secret: true,
      help: 'Of an IAM user whose policy allows route53:ListHostedZonesByName, GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets and GetChange.',
    },
    { name: 'secretAccessKey', label: 'Secret access key', required: true, secret: true },
    {
      name: 'hostedZoneId',
      label: 'Hosted zone id',
      required: false,
      placeholder: 'Z1D633PJN98FT9',
      help: 'Optional: leave empty to find the public hosted zone from each certificate name.',
    },
    {
      name: 'apiEndpoint',
      label: 'API endpoint',
      required: false,
      placeholder: 'https://route53.amazonaws.com',
      help: 'Only for a proxy or a VPC endpoint: https:// (plain http only to this machine). Only admins can change it.',
      endpoint: true,
    },
  ],
  parseConfig(input) {
    const errors: Record<string, string> = {};
    const config: Route53Config = {};
    const text = (key: string): string => (typeof input[key] === 'string' ? input[key].trim() : '');
    const hostedZoneId = text('hostedZoneId')
      .replace(/^\/?hostedzone\//i, '')
      .toUpperCase();
    if (hostedZoneId) {
      if (HOSTED_ZONE_ID.test(hostedZoneId)) config.hostedZoneId = hostedZoneId;
      else errors['hostedZoneId'] = 'A hosted zone id is letters and digits, such as Z1D633PJN98FT9.';
    }
    const apiEndpoint = optionalApiBaseUrl(input, 'apiEndpoint', errors);
    if (apiEndpoint) config.apiEndpoint = apiEndpoint;
    return { config: config as Record<string, unknown>, errors };
  },
};
