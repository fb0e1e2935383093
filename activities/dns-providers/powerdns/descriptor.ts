import { checkApiBaseUrl } from '../../domain/api-base-url';
import type { DnsProviderDescriptor } from '../types';

export interface PowerDnsConfig {
  /** The webserver's base URL, e.g. https://pdns.example.net:8081 (the API lives under /api/v1). */
  apiUrl: string;
  /** The server id in the API path; "localhost" on every PowerDNS Authoritative Server. */
  serverId: string;
  /** The zone apex; empty: found from each certificate name by walking up its labels. */
  zoneName?: string;
}

const ZONE = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
const SERVER_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const powerdnsDescriptor: DnsProviderDescriptor = {
  id: 'powerdns',
  label: 'PowerDNS Authoritative (HTTP API)',
  fields: [
    {
      name: 'apiKey',
      label: 'API key',
      required: true,
      secret: true,
      help: "The server's api-key setting (sent as X-API-Key).",
    },
    {
      name: 'apiUrl',
      label: 'API URL',
      required: true,
      placeholder: 'https://pdns.example.net:8081',
      help: 'The PowerDNS webserver, https:// (plain http only to this machine). Only admins can change it.',
      endpoint: true,
    },
    {
      name: 'serverId',
      label: 'Server id',
      required: false,
      placeholder: 'localhost',
      help: 'Leave empty for "localhost", the id of every PowerDNS Authoritative Server.',
      endpoint: true,
    },
    {
      name: 'zoneName',
      label: 'Zone',
      required: false,
      placeholder: 'example.com',
      help: 'Leave empty to find the zone from each certificate name.',
    },
  ],
  summary: (config) =>
    `${typeof config['apiUrl'] === 'string' ? config['apiUrl'] : ''}${typeof config['zoneName'] === 'string' ? ` · zone ${config['zoneName']}` : ''}`,
  parseConfig(input) {
    const errors: Record<string, string> = {};
    const text = (key: string): string => (typeof input[key] === 'string' ? input[key].trim() : '');
    const apiUrl = text('apiUrl');
    const checked = apiUrl ? checkApiBaseUrl(apiUrl) : undefined;
    if (!checked) errors['apiUrl'] = 'Enter the URL of the PowerDNS webserver, e.g. https://pdns.example.net:8081.';
    else if (!checked.ok) errors['apiUrl'] = checked.error;
    const serverId = text('serverId') || 'localhost';
    if (!SERVER_ID.test(serverId)) errors['serverId'] = 'A server id is letters, digits, dots, dashes or underscores.';
    const zoneName = text('zoneName').toLowerCase().replace(/\.$/, '');
    if (zoneName && !ZONE.test(zoneName)) errors['zoneName'] = 'Enter a zone such as example.com.';
    const config: PowerDnsConfig = {
      apiUrl: checked?.ok ? checked.url.replace(/\/api\/v1$/, '') : '',
      serverId,
      ...(zoneName ? { zoneName } : {}),
    };
    return { config: config as unknown as Record<string, unknown>, errors };
  },
};
