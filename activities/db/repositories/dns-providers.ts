import type { Queryable } from '../pool';
import { softDelete } from './soft-delete';
import { liveNameTaken } from './live-name-taken';

/** A DNS provider as the web and activities see it. Its secrets stay sealed here. */
export interface DnsProviderRecord {
  id: string;
  name: string;
  kind: string;
  /** The customer it belongs to; null: shared by every customer. */
  customerId: string | null;
  config: Record<string, unknown>;
  /** Secret field name → its sealed value (each sealed on its own). */
  secretsSealed: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns, named as the record's fields: a row is a DnsProviderRecord as it comes. */
const COLUMNS =
  'id, name, kind, customer_id AS "customerId", config, secrets_encrypted AS "secretsSealed", created_at AS "createdAt", updated_at AS "updatedAt"';

/** Every live provider; with `usableBy`, only the shared ones and those of that customer. */
export async function listDnsProviders(db: Queryable, usableBy?: string): Promise<DnsProviderRecord[]> {
  if (usableBy === undefined)
    return db.query<DnsProviderRecord>(`SELECT ${COLUMNS} FROM dns_providers WHERE deleted_at IS NULL ORDER BY name`);
  return db.query<DnsProviderRecord>(
    `SELECT ${COLUMNS} FROM dns_providers WHERE deleted_at IS NULL AND (customer_id IS NULL OR customer_id = $1)
      ORDER BY name`,
    [usableBy],
  );
}

/** Whether a certificate of `customerId` may use the provider: it is shared or that customer's own. */
export const providerServesCustomer = (p: DnsProviderRecord, customerId: string): boolean =>
  p.customerId === null || p.customerId === customerId;

export async function getDnsProvider(db: Queryable, id: string): Promise<DnsProviderRecord | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const rows = await db.query<DnsProviderRecord>(
    `SELECT ${COLUMNS} FROM dns_providers WHERE id = $1 AND deleted_at IS NULL`,
    [id],
  );
  return rows[0];
}

/** Whether another live DNS provider has this name (exactly as typed). */
export const dnsProviderNameTaken = (db: Queryable, name: string, exceptId?: string): Promise<boolean> =>
  liveNameTaken(db, 'dns_providers', name, exceptId, false);

export async function insertDnsProvider(
  db: Queryable,
  p: {
    name: string;
    kind: string;
    customerId: string | null;
    config: Record<string, unknown>;
    secretsSealed: Record<string, string>;
  },
): Promise<DnsProviderRecord> {
  const rows = await db.query<DnsProviderRecord>(
    `INSERT INTO dns_providers (name, kind, customer_id, config, secrets_encrypted) VALUES ($1, $2, $3, $4, $5)
      RETURNING ${COLUMNS}`,
    [p.name, p.kind, p.customerId, JSON.stringify(p.config), JSON.stringify(p.secretsSealed)],
  );
  return rows[0] as DnsProviderRecord;
}

/** A new name, customer or configuration; `secretsSealed` holds only the secrets entered anew (the others stay). */
export async function updateDnsProvider(
  db: Queryable,
  id: string,
  p: {
    name: string;
    customerId: string | null;
    config: Record<string, unknown>;
    secretsSealed: Record<string, string>;
  },
): Promise<void> {
  await db.query(
    `UPDATE dns_providers SET name = $2, customer_id = $3, config = $4, secrets_encrypted = secrets_encrypted || $5::jsonb,
        updated_at = now()
      WHERE id = $1 AND deleted_at IS NULL`,
    [id, p.name, p.customerId, JSON.stringify(p.config), JSON.stringify(p.secretsSealed)],
  );
}

/** Replaces one sealed secret, only while it is still the one read (a concurrent edit wins). */
export async function replaceDnsSecret(
  db: Queryable,
  id: string,
  field: string,
  before: string,
  after: string,
): Promise<void> {
  await db.query(
    `UPDATE dns_providers SET secrets_encrypted = jsonb_set(secrets_encrypted, ARRAY[$2::text], to_jsonb($4::text))
      WHERE id = $1 AND secrets_encrypted ->> $2 = $3`,
    [id, field, before, after],
  );
}

/** Live certificates of other customers than `customerId` that use the provider (it cannot become that customer's own). */
export async function foreignCertificatesUsingDnsProvider(
  db: Queryable,
  id: string,
  customerId: string,
): Promise<{ id: string; commonName: string }[]> {
  return db.query<{ id: string; commonName: string }>(
    `SELECT id, common_name AS "commonName" FROM certificates
      WHERE dns_provider_id = $1 AND customer_id <> $2 AND deleted_at IS NULL ORDER BY common_name LIMIT 20`,
    [id, customerId],
  );
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
export const deleteDnsProvider = (db: Queryable, id: string): Promise<void> => softDelete(db, 'dns_providers', id);

/** Redacted view for audit entries, pages and the API: never a secret, only which fields are stored (sealed). */
export function redactDnsProvider(p: DnsProviderRecord): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    kind: p.kind,
    customerId: p.customerId,
    config: p.config,
    secrets: Object.fromEntries(Object.keys(p.secretsSealed).map((field) => [field, '(sealed)'])),
  };
}
