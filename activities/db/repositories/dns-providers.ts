import type { Queryable } from '../pool';

/** A DNS provider as the web and activities see it. The token stays sealed here. */
export interface DnsProviderRecord {
  id: string;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  tokenSealed: string;
  createdAt: Date;
  updatedAt: Date;
}

interface Row { id: string; name: string; kind: string; config: Record<string, unknown>; token_encrypted: string; created_at: Date; updated_at: Date }
const COLUMNS = 'id, name, kind, config, token_encrypted, created_at, updated_at';
const toProvider = (r: Row): DnsProviderRecord => ({
  id: r.id, name: r.name, kind: r.kind, config: r.config, tokenSealed: r.token_encrypted, createdAt: r.created_at, updatedAt: r.updated_at,
});

export async function listDnsProviders(db: Queryable): Promise<DnsProviderRecord[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM dns_providers ORDER BY name`)).map(toProvider);
}

export async function getDnsProvider(db: Queryable, id: string): Promise<DnsProviderRecord | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const rows = await db.query<Row>(`SELECT ${COLUMNS} FROM dns_providers WHERE id = $1`, [id]);
  return rows[0] && toProvider(rows[0]);
}

export async function findDnsProviderByName(db: Queryable, name: string): Promise<DnsProviderRecord | undefined> {
  const rows = await db.query<Row>(`SELECT ${COLUMNS} FROM dns_providers WHERE name = $1`, [name]);
  return rows[0] && toProvider(rows[0]);
}

export async function insertDnsProvider(
  db: Queryable,
  p: { name: string; kind: string; config: Record<string, unknown>; tokenSealed: string },
): Promise<DnsProviderRecord> {
  const rows = await db.query<Row>(
    `INSERT INTO dns_providers (name, kind, config, token_encrypted) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [p.name, p.kind, JSON.stringify(p.config), p.tokenSealed],
  );
  return toProvider(rows[0] as Row);
}

/** Redacted view for audit entries and pages: never the token. */
export function redactDnsProvider(p: DnsProviderRecord): Record<string, unknown> {
  return { id: p.id, name: p.name, kind: p.kind, config: p.config, token: '(sealed)' };
}
