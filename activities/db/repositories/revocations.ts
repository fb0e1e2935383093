import type { Queryable } from '../pool';
import type { RevocationReason } from '../../domain/revocation-reasons';

export type RevocationStatus = 'requested' | 'replacing' | 'waiting' | 'revoked' | 'held' | 'failed';

export interface RevocationRecord {
  id: string;
  certificateId: string;
  versionId: string;
  reason: RevocationReason;
  replace: boolean;
  auditId: string;
  renewAuditId: string | null;
  status: RevocationStatus;
  detail: string | null;
  replacementVersionId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, certificate_id AS "certificateId", version_id AS "versionId", reason, replace,
  audit_id AS "auditId", renew_audit_id AS "renewAuditId", status, detail,
  replacement_version_id AS "replacementVersionId", created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function getRevocation(db: Queryable, id: string): Promise<RevocationRecord | undefined> {
  const rows = await db.query<RevocationRecord>(`SELECT ${COLUMNS} FROM revocations WHERE id = $1`, [id]);
  return rows[0];
}

/** The certificate's revocations, newest first. */
export async function listRevocations(db: Queryable, certificateId: string): Promise<RevocationRecord[]> {
  return db.query<RevocationRecord>(
    `SELECT ${COLUMNS} FROM revocations WHERE certificate_id = $1 ORDER BY id DESC LIMIT 50`,
    [certificateId],
  );
}

/** The revocation of this version still in progress, if any. */
export async function activeRevocationOf(db: Queryable, versionId: string): Promise<RevocationRecord | undefined> {
  const rows = await db.query<RevocationRecord>(
    `SELECT ${COLUMNS} FROM revocations WHERE version_id = $1 AND status IN ('requested', 'replacing', 'waiting')`,
    [versionId],
  );
  return rows[0];
}

/** Inserts a requested revocation; undefined when one of this version is in progress already. */
export async function insertRevocation(
  db: Queryable,
  r: Pick<RevocationRecord, 'certificateId' | 'versionId' | 'reason' | 'replace' | 'auditId' | 'renewAuditId'>,
): Promise<string | undefined> {
  const rows = await db.query<{ id: string }>(
    `INSERT INTO revocations (certificate_id, version_id, reason, replace, audit_id, renew_audit_id)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
    [r.certificateId, r.versionId, r.reason, r.replace, r.auditId, r.renewAuditId],
  );
  return rows[0]?.id;
}

export async function setRevocationStatus(
  db: Queryable,
  id: string,
  status: RevocationStatus,
  detail: string | null,
  replacementVersionId?: string,
): Promise<void> {
  await db.query(
    `UPDATE revocations SET status = $2, detail = $3, replacement_version_id = COALESCE($4, replacement_version_id),
            updated_at = now() WHERE id = $1`,
    [id, status, detail, replacementVersionId ?? null],
  );
}

/** Records what the CA confirmed; the first confirmation's time and reason stay. */
export async function markVersionRevoked(db: Queryable, versionId: string, reason: RevocationReason): Promise<void> {
  await db.query(
    `UPDATE certificate_versions SET revoked_at = COALESCE(revoked_at, now()),
            revocation_reason = COALESCE(revocation_reason, $2) WHERE id = $1`,
    [versionId, reason],
  );
}

/** Revocation facts of the certificate's versions, by version id. */
export async function versionRevocations(
  db: Queryable,
  certificateId: string,
): Promise<Map<string, { revokedAt: Date; reason: RevocationReason }>> {
  const rows = await db.query<{ id: string; revokedAt: Date; reason: RevocationReason }>(
    `SELECT id, revoked_at AS "revokedAt", revocation_reason AS reason FROM certificate_versions
      WHERE certificate_id = $1 AND revoked_at IS NOT NULL`,
    [certificateId],
  );
  return new Map(rows.map((r) => [r.id, { revokedAt: r.revokedAt, reason: r.reason }]));
}

/** The directory a version was issued through (also of a deleted certificate). */
export async function directoryOfVersion(db: Queryable, versionId: string): Promise<string | undefined> {
  const rows = await db.query<{ directoryId: string }>(
    `SELECT c.acme_directory_id AS "directoryId" FROM certificate_versions v
       JOIN certificates c ON c.id = v.certificate_id WHERE v.id = $1`,
    [versionId],
  );
  return rows[0]?.directoryId;
}
