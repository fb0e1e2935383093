import type { MaintenanceWindows } from '../../domain/maintenance-window';
import { likePattern } from '../like';
import type { Queryable } from '../pool';
import { softDelete } from './soft-delete';

export interface TargetRecord {
  id: string;
  name: string;
  vendor: string;
  host: string;
  port: number;
  credentialsSealed: string;
  options: Record<string, unknown>;
  trustCaPem: string | null;
  trustFingerprint: string | null;
  sessionKeySealed: string | null;
  customerId: string;
  customerName: string;
  /** Weekly windows deploys wait for; null: any time. */
  maintenance: MaintenanceWindows | null;
  createdAt: Date;
}

export interface TargetRow {
  id: string;
  name: string;
  vendor: string;
  host: string;
  port: number;
  credentials_encrypted: string;
  options: Record<string, unknown>;
  trust_ca_pem: string | null;
  trust_fingerprint: string | null;
  session_key_encrypted: string | null;
  customer_id: string;
  customer_name: string;
  maintenance: MaintenanceWindows | null;
  created_at: Date;
}
export const TARGET_SELECT = `SELECT t.id, t.name, t.vendor, t.host, t.port, t.credentials_encrypted, t.options, t.trust_ca_pem, t.trust_fingerprint,
                       t.session_key_encrypted, t.customer_id, cu.name AS customer_name, t.maintenance, t.created_at
                  FROM targets t JOIN customers cu ON cu.id = t.customer_id`;
export const toTarget = (r: TargetRow): TargetRecord => ({
  id: r.id,
  name: r.name,
  vendor: r.vendor,
  host: r.host,
  port: r.port,
  credentialsSealed: r.credentials_encrypted,
  options: r.options,
  trustCaPem: r.trust_ca_pem,
  trustFingerprint: r.trust_fingerprint,
  sessionKeySealed: r.session_key_encrypted,
  customerId: r.customer_id,
  customerName: r.customer_name,
  maintenance: r.maintenance,
  createdAt: r.created_at,
});
const isId = (id: string): boolean => /^\d{1,18}$/.test(id);

export interface TargetFilter {
  customerId?: string;
  vendor?: string;
  /** Part of the name or host. */
  q?: string;
}

export async function listTargets(db: Queryable, f: TargetFilter = {}): Promise<TargetRecord[]> {
  const q = f.q ? likePattern(f.q) : null;
  return (
    await db.query<TargetRow>(
      `${TARGET_SELECT} WHERE t.deleted_at IS NULL AND ($1::bigint IS NULL OR t.customer_id = $1) AND ($2::text IS NULL OR t.vendor = $2)
         AND ($3::text IS NULL OR t.name ILIKE $3 OR t.host ILIKE $3) ORDER BY t.name`,
      [f.customerId ?? null, f.vendor ?? null, q],
    )
  ).map(toTarget);
}

export async function getTarget(db: Queryable, id: string): Promise<TargetRecord | undefined> {
  if (!isId(id)) return undefined;
  const rows = await db.query<TargetRow>(`${TARGET_SELECT} WHERE t.id = $1 AND t.deleted_at IS NULL`, [id]);
  return rows[0] && toTarget(rows[0]);
}

export async function liveTargetNameExists(db: Queryable, name: string, exceptId?: string): Promise<boolean> {
  return (
    (
      await db.query(
        'SELECT 1 FROM targets WHERE name = $1 AND deleted_at IS NULL AND id IS DISTINCT FROM $2::bigint',
        [name, exceptId ?? null],
      )
    ).length > 0
  );
}

export type NewTarget = Omit<TargetRecord, 'id' | 'sessionKeySealed' | 'createdAt' | 'customerName'>;

/** The parameters of the columns an edit may change, in the order both statements list them (after vendor or id). */
const editableValues = (t: Omit<NewTarget, 'vendor'>): unknown[] => [
  t.name,
  t.host,
  t.port,
  t.credentialsSealed,
  JSON.stringify(t.options),
  t.trustCaPem,
  t.trustFingerprint,
  t.customerId,
  t.maintenance === null ? null : JSON.stringify(t.maintenance),
];

export async function insertTarget(db: Queryable, t: NewTarget): Promise<string> {
  const rows = await db.query<{ id: string }>(
    `INSERT INTO targets (vendor, name, host, port, credentials_encrypted, options, trust_ca_pem, trust_fingerprint, customer_id, maintenance)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [t.vendor, ...editableValues(t)],
  );
  return (rows[0] as { id: string }).id;
}

/** Edits a target; a cached device session key is forgotten (it may belong to the old address or credentials). */
export async function updateTarget(db: Queryable, id: string, t: Omit<NewTarget, 'vendor'>): Promise<void> {
  await db.query(
    `UPDATE targets
        SET session_key_encrypted = NULL, name = $2, host = $3, port = $4, credentials_encrypted = $5, options = $6, trust_ca_pem = $7, trust_fingerprint = $8,
            customer_id = $9, maintenance = $10, updated_at = now()
      WHERE id = $1 AND deleted_at IS NULL`,
    [id, ...editableValues(t)],
  );
}

/** Soft delete: deployment history keeps pointing at it. */
export const deleteTarget = (db: Queryable, id: string): Promise<void> => softDelete(db, 'targets', id);

export async function setTargetSessionKey(db: Queryable, id: string, sealed: string | null): Promise<void> {
  await db.query('UPDATE targets SET session_key_encrypted = $2, updated_at = now() WHERE id = $1', [id, sealed]);
}

/** Replaces the sealed secrets, only while they are still the ones read (a concurrent edit wins). */
export async function replaceTargetSecrets(
  db: Queryable,
  before: Pick<TargetRecord, 'id' | 'credentialsSealed' | 'sessionKeySealed'>,
  after: { credentialsSealed: string; sessionKeySealed: string | null },
): Promise<void> {
  await db.query(
    `UPDATE targets SET credentials_encrypted = $2, session_key_encrypted = $3
      WHERE id = $1 AND credentials_encrypted = $4 AND session_key_encrypted IS NOT DISTINCT FROM $5`,
    [before.id, after.credentialsSealed, after.sessionKeySealed, before.credentialsSealed, before.sessionKeySealed],
  );
}

/**
 * After a verified deploy that replaced the management certificate, pin the new one (a CA-trusted
 * target's CA is replaced by the pin), with the secrets sealed again for the new pin. Applies only
 * while the row still has the trust and credentials it was read with; returns whether it did.
 */
export async function repinTarget(
  db: Queryable,
  before: Pick<TargetRecord, 'id' | 'trustFingerprint' | 'trustCaPem' | 'credentialsSealed'>,
  after: { trustFingerprint: string; credentialsSealed: string; sessionKeySealed: string | null },
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE targets SET trust_fingerprint = $2, trust_ca_pem = NULL, credentials_encrypted = $3, session_key_encrypted = $4, updated_at = now()
      WHERE id = $1 AND deleted_at IS NULL AND trust_fingerprint IS NOT DISTINCT FROM $5 AND trust_ca_pem IS NOT DISTINCT FROM $6 AND credentials_encrypted = $7
      RETURNING id`,
    [
      before.id,
      after.trustFingerprint,
      after.credentialsSealed,
      after.sessionKeySealed,
      before.trustFingerprint,
      before.trustCaPem,
      before.credentialsSealed,
    ],
  );
  return rows.length > 0;
}

/**
 * Records that the device refused our session (someone else holds it). Returns since when it has
 * been busy, and whether an alert was already sent for this busy spell.
 */
export async function markTargetBusy(db: Queryable, id: string): Promise<{ busySince: Date; alerted: boolean }> {
  const rows = await db.query<{ busy_since: Date; busy_alerted_at: Date | null }>(
    'UPDATE targets SET busy_since = COALESCE(busy_since, now()) WHERE id = $1 RETURNING busy_since, busy_alerted_at',
    [id],
  );
  const row = rows[0];
  return { busySince: row?.busy_since ?? new Date(), alerted: Boolean(row?.busy_alerted_at) };
}

export async function markTargetBusyAlerted(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE targets SET busy_alerted_at = now() WHERE id = $1', [id]);
}

/** A session was obtained: the busy spell is over. */
export async function clearTargetBusy(db: Queryable, id: string): Promise<void> {
  await db.query(
    'UPDATE targets SET busy_since = NULL, busy_alerted_at = NULL WHERE id = $1 AND busy_since IS NOT NULL',
    [id],
  );
}

/** What pages and the audit log may show of a target: never credentials. */
export function redactTarget(t: TargetRecord): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    vendor: t.vendor,
    host: t.host,
    port: t.port,
    options: t.options,
    customerId: t.customerId,
    customerName: t.customerName,
    maintenance: t.maintenance,
    trust: t.trustFingerprint ? { fingerprintSha256: t.trustFingerprint } : t.trustCaPem ? { caPem: 'set' } : {},
    credentials: '(sealed)',
  };
}
