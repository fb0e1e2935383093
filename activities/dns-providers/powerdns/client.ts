/**
 * Thin wrapper: one method per PowerDNS Authoritative HTTP API call, no business logic.
 * Sources: https://doc.powerdns.com/authoritative/http-api/index.html (X-API-Key authentication,
 * JSON bodies, error objects), https://doc.powerdns.com/authoritative/http-api/zone.html (GET and
 * PATCH /api/v1/servers/{server_id}/zones/{zone_id}; RRSet changetype REPLACE / DELETE; a REPLACE
 * carries every record of the RRSet; TXT content in double quotes), and go-acme/lego
 * providers/dns/pdns (the same calls, field-proven). Checked against pdns-server 4.7 in our tests.
 */
export interface PowerDnsRRSet {
  name: string;
  type: string;
  ttl?: number;
  records: { content: string; disabled: boolean }[];
}

/** A non-2xx answer: the status and PowerDNS's `error` text (never the request headers). */
export class PowerDnsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`HTTP ${status}: ${detail}`);
  }
}

export class PowerDnsClient {
  constructor(private readonly options: { apiUrl: string; serverId: string; apiKey: string; timeoutMs?: number }) {}

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.options.apiUrl}/api/v1/servers/${encodeURIComponent(this.options.serverId)}${path}`;
    const response = await fetch(url, {
      method,
      headers: {
        'x-api-key': this.options.apiKey,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    if (!response.ok) {
      let detail = text.trim().slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { error?: unknown };
        if (typeof parsed.error === 'string') detail = parsed.error;
      } catch {
        // plain-text errors ("Unauthorized", "Not Found") are kept as they are
      }
      throw new PowerDnsHttpError(response.status, detail || response.statusText);
    }
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  /** GET /api/v1/servers/{server_id}: the server exists and the key is accepted. */
  async serverInfo(): Promise<{ version: string }> {
    const info = (await this.request('GET', '')) as { version?: unknown };
    return { version: typeof info.version === 'string' ? info.version : 'unknown' };
  }

  /** GET /zones/{zone_id}?rrsets=false: whether the zone exists (404: no). */
  async zoneExists(zone: string): Promise<boolean> {
    try {
      await this.request('GET', `/zones/${encodeURIComponent(`${zone}.`)}?rrsets=false`);
      return true;
    } catch (error) {
      if (error instanceof PowerDnsHttpError && error.status === 404) return false;
      throw error;
    }
  }

  /** GET /zones/{zone_id}?rrset_name=&rrset_type=TXT: the TXT RRSet of a name (filtered here too: older servers ignore the filter). */
  async txtRecords(zone: string, name: string): Promise<{ ttl: number | undefined; contents: string[] }> {
    const fqdn = `${name}.`;
    const query = `?rrset_name=${encodeURIComponent(fqdn)}&rrset_type=TXT`;
    const found = (await this.request('GET', `/zones/${encodeURIComponent(`${zone}.`)}${query}`)) as {
      rrsets?: PowerDnsRRSet[];
    };
    const rrset = (found.rrsets ?? []).find((r) => r.type === 'TXT' && r.name.toLowerCase() === fqdn.toLowerCase());
    return { ttl: rrset?.ttl, contents: (rrset?.records ?? []).map((r) => r.content) };
  }

  /** PATCH /zones/{zone_id} with one RRSet: REPLACE with these contents, or DELETE when there are none. */
  async replaceTxt(zone: string, name: string, contents: string[], ttl: number): Promise<void> {
    const rrset =
      contents.length > 0
        ? {
            name: `${name}.`,
            type: 'TXT',
            ttl,
            changetype: 'REPLACE',
            records: contents.map((content) => ({ content, disabled: false })),
          }
        : { name: `${name}.`, type: 'TXT', changetype: 'DELETE' };
    await this.request('PATCH', `/zones/${encodeURIComponent(`${zone}.`)}`, { rrsets: [rrset] });
  }
}
