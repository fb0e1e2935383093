import { optionalApiBaseUrl } from '../../domain/api-base-url';
import type { DnsProviderDescriptor } from '../types';

export interface CloudflareConfig {
  /** The zone apex, e.g. example.com. Looked up by name unless zoneId is set. */
  zoneName?: string;
  /** Skips the zone lookup (and the Zone:Read permission it needs). */
  zoneId?: string;
  /** API base URL; default https://api.cloudflare.com/client/v4 (tests point it at the fake, users at a proxy). */
  apiBaseUrl?: string;
}

const ZONE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
const ZONE_ID = /^[0-9a-f]{32}$/;

export const cloudflareDescriptor: DnsProviderDescriptor = {
  id: 'cloudflare',
  label: 'Cloudflare',
  fields: [
    {
      name: 'token',
      label: 'API token',
      required: true,
      secret: true,
      help: 'A token with Zone:DNS:Edit (and Zone:Zone:Read unless you give the zone id).',
    },
    {
      name: 'zoneName',
      label: 'Zone',
      required: false,
      placeholder: 'example.com',
      help: 'Leave empty to find the zone from each certificate name.',
    },
    {
      name: 'zoneId',
      label: 'Zone id',
      required: false,
      help: 'Optional: 32 hex characters from the zone overview page.',
    },
    {
      name: 'apiBaseUrl',
      label: 'API base URL',
      required: false,
      placeholder: 'https://api.cloudflare.com/client/v4',
      help: 'Only for a proxy: https:// (plain http only to this machine). Only admins can change it.',
      endpoint: true,
    },
  ],
  summary: (config) => (typeof config['zoneName'] === 'string' ? `zone ${config['zoneName']}` : 'zone from each name'),
  parseConfig(input) {
    const errors: Record<string, string> = {};
    const config: CloudflareConfig = {};
    const text = (key: string): string => (typeof input[key] === 'string' ? input[key].trim() : '');
    const zoneName = text('zoneName').toLowerCase().replace(/\.$/, '');
    if (zoneName) {
      if (ZONE.test(zoneName)) config.zoneName = zoneName;
      else errors['zoneName'] = 'Enter a zone such as example.com.';
    }
    const zoneId = text('zoneId').toLowerCase();
    if (zoneId) {
      if (ZONE_ID.test(zoneId)) config.zoneId = zoneId;
      else errors['zoneId'] = 'A Cloudflare zone id is 32 hexadecimal characters.';
    }
    if (zoneId && !zoneName) errors['zoneName'] = 'Give the zone name together with its id.';
    const apiBaseUrl = optionalApiBaseUrl(input, 'apiBaseUrl', errors);
    if (apiBaseUrl) config.apiBaseUrl = apiBaseUrl;
    return { config: config as Record<string, unknown>, errors };
  },
};
