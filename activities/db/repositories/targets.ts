import type { Queryable } from '../pool';

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
  createdAt: Date;
}

interface Row {
  id: string; name: string; vendor: string; host: string; port: number; credentials_encrypted: string; options: Record<string, unknown>;
  trust_ca_pem: string | null; trust_fingerprint: string | null; session_key_encrypted: string | null; created_at: Date;
}
const COLUMNS = 'id, name, vendor, host, port, credentials_encrypted, options, trust_ca_pem, trust_fingerprint, session_key_encrypted, created_at';
const toTarget = (r: Row): TargetRecord => ({
  id: r.id, name: r.name, vendor: r.vendor, host: r.host, port: r.port, credentialsSealed: r.credentials_encrypted, options: r.options,
  trustCaPem: r.trust_ca_pem, trustFingerprint: r.trust_fingerprint, sessionKeySealed: r.session_key_encrypted, createdAt: r.created_at,
});
const isId = (id: string): boolean => /^\d{1,18}$/.test(id);

export async function listTargets(db: Queryable): Promise<TargetRecord[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM targets WHERE deleted_at IS NULL ORDER BY name`)).map(toTarget);
}

export async function getTarget(db: Queryable, id: string): Promise<TargetRecord | undefined> {
  if (!isId(id)) return undefined;
  const rows = await db.query<Row>(`SELECT ${COLUMNS} FROM targets WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return rows[0] && toTarget(rows[0]);
}

export async function liveTargetNameExists(db: Queryable, name: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM targets WHERE name = $1 AND deleted_at IS NULL', [name])).length > 0;
}

export type NewTarget = Omit<TargetRecord, 'id' | 'sessionKeySealed' | 'createdAt'>;

export async function insertTarget(db: Queryable, t: NewTarget): Promise<string> {
  const rows = await db.query<{ id: string }>(
    `INSERT INTO targets (name, vendor, host, port, credentials_encrypted, options, trust_ca_pem, trust_fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [t.name, t.vendor, t.host, t.port, t.credentialsSealed, JSON.stringify(t.options), t.trustCaPem, t.trustFingerprint],
  );
  return (rows[0] as { id: string }).id;
}

export async function setTargetSessionKey(db: Queryable, id: string, sealed: string | null): Promise<void> {
  await db.query('UPDATE targets SET session_key_encrypted = $2, updated_at = now() WHERE id = $1', [id, sealed]);
}

/** After a verified deploy that replaced the management certificate, pin the new one. */
export async function setTargetFingerprint(db: Queryable, id: string, fingerprint: string): Promise<void> {
  await db.query('UPDATE targets SET trust_fingerprint = $2, updated_at = now() WHERE id = $1 AND trust_fingerprint IS NOT NULL', [id, fingerprint]);
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
  await db.query('UPDATE targets SET busy_since = NULL, busy_alerted_at = NULL WHERE id = $1 AND busy_since IS NOT NULL', [id]);
}

/** What pages and the audit log may show of a target: never credentials. */
export function redactTarget(t: TargetRecord): Record<string, unknown> {
  return {
    id: t.id, name: t.name, vendor: t.vendor, host: t.host, port: t.port, options: t.options,
    trust: t.trustFingerprint ? { fingerprintSha256: t.trustFingerprint } : { caPem: 'set' }, credentials: '(sealed)',
  };
}
