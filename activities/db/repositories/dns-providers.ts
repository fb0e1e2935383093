import type { Queryable } from '../pool';
import { liveNameTaken } from './live-name-taken';

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

interface Row {
  id: string;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  token_encrypted: string;
  created_at: Date;
  updated_at: Date;
}
const COLUMNS = 'id, name, kind, config, token_encrypted, created_at, updated_at';
const toProvider = (r: Row): DnsProviderRecord => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  config: r.config,
  tokenSealed: r.token_encrypted,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function listDnsProviders(db: Queryable): Promise<DnsProviderRecord[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM dns_providers WHERE deleted_at IS NULL ORDER BY name`)).map(
    toProvider,
  );
}

export async function getDnsProvider(db: Queryable, id: string): Promise<DnsProviderRecord | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const rows = await db.query<Row>(`SELECT ${COLUMNS} FROM dns_providers WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return rows[0] && toProvider(rows[0]);
}

/** Whether another live DNS provider has this name (exactly as typed). */
export const dnsProviderNameTaken = (db: Queryable, name: string, exceptId?: string): Promise<boolean> =>
  liveNameTaken(db, 'dns_providers', name, exceptId, false);

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

/** A new name or configuration; the token only when a new one was entered. */
export async function updateDnsProvider(
  db: Queryable,
  id: string,
  p: { name: string; config: Record<string, unknown>; tokenSealed?: string },
): Promise<void> {
  await db.query(
    `UPDATE dns_providers SET name = $2, config = $3, token_encrypted = COALESCE($4, token_encrypted), updated_at = now()
      WHERE id = $1 AND deleted_at IS NULL`,
    [id, p.name, JSON.stringify(p.config), p.tokenSealed ?? null],
  );
}

/** Replaces the sealed token, only while it is still the one read (a concurrent edit wins). */
export async function replaceDnsToken(db: Queryable, id: string, before: string, after: string): Promise<void> {
  await db.query('UPDATE dns_providers SET token_encrypted = $3 WHERE id = $1 AND token_encrypted = $2', [
    id,
    before,
    after,
  ]);
}

/** Live certificates that use the provider (a provider in use cannot be deleted). */
export async function certificatesUsingDnsProvider(
  db: Queryable,
  id: string,
): Promise<{ id: string; commonName: string }[]> {
  return db.query<{ id: string; commonName: string }>(
    'SELECT id, common_name AS "commonName" FROM certificates WHERE dns_provider_id = $1 AND deleted_at IS NULL ORDER BY common_name LIMIT 20',
    [id],
  );
}

/** Soft delete: certificates deleted earlier keep pointing at the row. */
export async function deleteDnsProvider(db: Queryable, id: string): Promise<void> {
  await db.query(
    'UPDATE dns_providers SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL',
    [id],
  );
}

/** Redacted view for audit entries and pages: never the token. */
export function redactDnsProvider(p: DnsProviderRecord): Record<string, unknown> {
  return { id: p.id, name: p.name, kind: p.kind, config: p.config, token: '(sealed)' };
}
