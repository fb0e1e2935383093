import { optionalApiBaseUrl } from '../../domain/api-base-url';
import type { DnsProviderDescriptor } from '../types';

export interface AzureDnsConfig {
  tenantId: string;
  clientId: string;
  subscriptionId: string;
  resourceGroup: string;
  /** The zone apex; empty: found from each certificate name among the zones of the resource group. */
  zoneName?: string;
  /** Microsoft Entra authority; default https://login.microsoftonline.com (sovereign clouds have their own). */
  authorityHost?: string;
  /** Azure Resource Manager; default https://management.azure.com. */
  resourceManagerUrl?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A tenant is a GUID or a verified domain such as contoso.onmicrosoft.com. */
const TENANT_DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** Resource group names: 1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period. */
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/u;
const ZONE = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

export const azureDnsDescriptor: DnsProviderDescriptor = {
  id: 'azure',
  label: 'Azure DNS',
  fields: [
    { name: 'tenantId', label: 'Tenant id', required: true, placeholder: '00000000-0000-0000-0000-000000000000' },
    {
      name: 'clientId',
      label: 'Client (application) id',
      required: true,
      help: 'Of an app registration (service principal) with the DNS Zone Contributor role on the zone or its resource group.',
    },
    {
      name: 'clientSecret',
      label: 'Client secret',
      required: true,
      secret: true,
      help: 'The secret value (not the secret id) from Certificates & secrets.',
    },
    { name: 'subscriptionId', label: 'Subscription id', required: true },
    {
      name: 'resourceGroup',
      label: 'Resource group',
      required: true,
      help: 'The resource group that holds the DNS zone.',
    },
    {
      name: 'zoneName',
      label: 'Zone',
      required: false,
      placeholder: 'example.com',
      help: 'Leave empty to find the zone from each certificate name.',
    },
    {
      name: 'authorityHost',
      label: 'Authority host',
      required: false,
      placeholder: 'https://login.microsoftonline.com',
      help: 'Only for a sovereign cloud (e.g. https://login.microsoftonline.us). Only admins can change it.',
      endpoint: true,
    },
    {
      name: 'resourceManagerUrl',
      label: 'Resource Manager URL',
      required: false,
      placeholder: 'https://management.azure.com',
      help: 'Only for a sovereign cloud (e.g. https://management.usgovcloudapi.net). Only admins can change it.',
      endpoint: true,
    },
  ],
  parseConfig(input) {
    const errors: Record<string, string> = {};
    const text = (key: string): string => (typeof input[key] === 'string' ? input[key].trim() : '');
    const tenantId = text('tenantId').toLowerCase();
    if (!GUID.test(tenantId) && !TENANT_DOMAIN.test(tenantId))
      errors['tenantId'] = 'Enter the directory (tenant) id, a GUID, or its domain such as contoso.onmicrosoft.com.';
    const clientId = text('clientId').toLowerCase();
    if (!GUID.test(clientId)) errors['clientId'] = 'Enter the application (client) id, a GUID.';
    const subscriptionId = text('subscriptionId').toLowerCase();
    if (!GUID.test(subscriptionId)) errors['subscriptionId'] = 'Enter the subscription id, a GUID.';
    const resourceGroup = text('resourceGroup');
    if (!RESOURCE_GROUP.test(resourceGroup))
      errors['resourceGroup'] = 'Enter the resource group name (letters, digits, - _ . ( ), not ending in a period).';
    const config: AzureDnsConfig = { tenantId, clientId, subscriptionId, resourceGroup };
    const zoneName = text('zoneName').toLowerCase().replace(/\.$/, '');
    if (zoneName) {
      if (ZONE.test(zoneName)) config.zoneName = zoneName;
      else errors['zoneName'] = 'Enter a zone such as example.com.';
    }
    for (const key of ['authorityHost', 'resourceManagerUrl'] as const) {
      const url = optionalApiBaseUrl(input, key, errors);
      if (url) config[key] = url;
    }
    return { config: config as unknown as Record<string, unknown>, errors };
  },
};
