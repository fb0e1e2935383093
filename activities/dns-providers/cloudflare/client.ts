import { createCloudflareSdk, type CloudflareSdk } from './sdk';

/** Thin wrapper: one method per Cloudflare API v4 call (https://developers.cloudflare.com/api/). No business logic. */
export interface CloudflareTxtRecord {
  id: string;
  name: string;
  content: string;
}

export class CloudflareClient {
  private readonly sdk: CloudflareSdk;

  constructor(options: { token: string; baseUrl?: string; timeoutMs?: number }) {
    this.sdk = createCloudflareSdk({
      apiToken: options.token,
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs ?? 30_000,
      maxRetries: 2, // the SDK honours Retry-After on 429 and retries 5xx/connection errors
    });
  }

  /** GET /user/tokens/verify */
  async verifyToken(): Promise<string> {
    const result = await this.sdk.user.tokens.verify();
    return result.status;
  }

  /** GET /zones?name= */
  async findZoneId(name: string): Promise<string | undefined> {
    for await (const zone of this.sdk.zones.list({ name })) {
      if (zone.name === name) return zone.id;
    }
    return undefined;
  }

  /** GET /zones/{zone_id} */
  async getZoneName(zoneId: string): Promise<string> {
    return (await this.sdk.zones.get({ zone_id: zoneId })).name;
  }

  /** GET /zones/{zone_id}/dns_records?type=TXT&name.exact= */
  async listTxt(zoneId: string, name: string): Promise<CloudflareTxtRecord[]> {
    const records: CloudflareTxtRecord[] = [];
    for await (const r of this.sdk.dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name } })) {
      if (r.type === 'TXT') records.push({ id: r.id, name: r.name, content: r.content ?? '' });
    }
    return records;
  }

  /** POST /zones/{zone_id}/dns_records */
  async createTxt(zoneId: string, name: string, content: string, ttl: number): Promise<string> {
    const created = await this.sdk.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content, ttl });
    return created.id;
  }

  /** DELETE /zones/{zone_id}/dns_records/{id} */
  async deleteRecord(zoneId: string, recordId: string): Promise<void> {
    await this.sdk.dns.records.delete(recordId, { zone_id: zoneId });
  }
}
