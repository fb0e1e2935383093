import { DnsManagementClient, type RecordSet } from '@azure/arm-dns';
import { ClientSecretCredential } from '@azure/identity';

/**
 * Thin wrapper over the official SDKs, one method per call of the Azure DNS REST API 2018-05-01
 * (https://learn.microsoft.com/en-us/rest/api/dns/), authenticated as a service principal through
 * the Microsoft identity platform's client-credentials grant
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow). No business logic.
 */
export interface AzureTxtSet {
  etag: string;
  ttl: number;
  /** One entry per TXT record; a record's strings joined (ACME values are one string). */
  values: string[];
}

export interface AzureDnsClientOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscriptionId: string;
  resourceGroup: string;
  authorityHost?: string;
  resourceManagerUrl?: string;
  /** Extra CA certificates to trust (PEM), for a TLS-inspecting proxy or a test double. */
  trustedCaPem?: string;
  /** Retries of 429/5xx by the SDK pipeline (it honours Retry-After); default 3. */
  maxRetries?: number;
  retryDelayMs?: number;
}

export const PUBLIC_AUTHORITY = 'https://login.microsoftonline.com';
const PUBLIC_ARM = 'https://management.azure.com';
/** Authorities MSAL knows (instance discovery needs no network); others are used as given (Azure Stack style). */
const KNOWN_AUTHORITIES = new Set([
  PUBLIC_AUTHORITY,
  'https://login.microsoftonline.us',
  'https://login.chinacloudapi.cn',
]);

export class AzureDnsClient {
  private readonly sdk: DnsManagementClient;
  private readonly rg: string;

  constructor(o: AzureDnsClientOptions) {
    const authorityHost = o.authorityHost ?? PUBLIC_AUTHORITY;
    const arm = o.resourceManagerUrl ?? PUBLIC_ARM;
    const transport = {
      retryOptions: { maxRetries: o.maxRetries ?? 3, retryDelayInMs: o.retryDelayMs ?? 1_000 },
      ...(o.trustedCaPem ? { tlsOptions: { ca: o.trustedCaPem } } : {}),
    };
    const credential = new ClientSecretCredential(o.tenantId, o.clientId, o.clientSecret, {
      authorityHost,
      disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(authorityHost),
      ...transport,
    });
    this.sdk = new DnsManagementClient(credential, o.subscriptionId, {
      endpoint: arm,
      $host: arm,
      credentialScopes: [`${arm}/.default`],
      ...transport,
    });
    this.rg = o.resourceGroup;
  }

  /** GET .../dnsZones/{zoneName}: the zone's name, or a RestError (404 when absent). Zones - Get */
  async zone(name: string): Promise<string> {
    return (await this.sdk.zones.get(this.rg, name)).name ?? name;
  }

  /** GET .../dnsZones?$top=1 in the resource group: proves the token and the read permission. Zones - List By Resource Group */
  async firstZone(): Promise<string | undefined> {
    for await (const zone of this.sdk.zones.listByResourceGroup(this.rg, { top: 1 })) return zone.name;
    return undefined;
  }

  /** GET .../dnsZones/{zone}/TXT/{relativeName}; undefined on 404. Record Sets - Get */
  async txtSet(zone: string, relativeName: string): Promise<AzureTxtSet | undefined> {
    let set: RecordSet;
    try {
      set = await this.sdk.recordSets.get(this.rg, zone, relativeName, 'TXT');
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404 && (error as { code?: string }).code === 'NotFound')
        return undefined;
      throw error;
    }
    return {
      etag: set.etag ?? '',
      ttl: set.ttl ?? 0,
      values: (set.txtRecords ?? []).map((r) => (r.value ?? []).join('')),
    };
  }

  /**
   * PUT .../dnsZones/{zone}/TXT/{relativeName} with If-Match (the etag read) or If-None-Match: * (create
   * only): 412 when another writer changed the set in between. Record Sets - Create Or Update
   */
  async putTxt(
    zone: string,
    relativeName: string,
    ttl: number,
    values: string[],
    etag: string | undefined,
  ): Promise<void> {
    await this.sdk.recordSets.createOrUpdate(
      this.rg,
      zone,
      relativeName,
      'TXT',
      { ttl, txtRecords: values.map((v) => ({ value: [v] })) },
      etag ? { ifMatch: etag } : { ifNoneMatch: '*' },
    );
  }

  /** DELETE .../dnsZones/{zone}/TXT/{relativeName} with If-Match. Record Sets - Delete */
  async deleteTxt(zone: string, relativeName: string, etag: string): Promise<void> {
    await this.sdk.recordSets.delete(this.rg, zone, relativeName, 'TXT', { ifMatch: etag });
  }
}
