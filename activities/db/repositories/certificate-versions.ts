import type { Queryable } from '../pool';

export interface CertificateVersion {
  id: string;
  certificateId: string;
  orderId: string;
  serialHex: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  keyType: string;
  certPem: string;
  chainPem: string;
  keySealed: string;
  createdAt: Date;
  /** The ACME directory (by name) that issued it: the certificate's own, or a fallback. */
  issuedBy: string;
}

/** Every column under its field's name, so a row is the record as it stands. */
export const VERSION_COLUMNS = `id, certificate_id AS "certificateId", order_id AS "orderId", serial_hex AS "serialHex",
  fingerprint_sha256 AS "fingerprintSha256", not_before AS "notBefore", not_after AS "notAfter",
  key_type AS "keyType", cert_pem AS "certPem", chain_pem AS "chainPem", key_encrypted AS "keySealed",
  created_at AS "createdAt",
  (SELECT d.name FROM acme_orders o JOIN acme_directories d ON d.id = o.directory_id
    WHERE o.id = certificate_versions.order_id) AS "issuedBy"`;

/** A version with the ACME profile its order asked for (null: none, the CA's default). */
export type ListedVersion = CertificateVersion & { profile: string | null };

export async function listVersions(db: Queryable, certificateId: string): Promise<ListedVersion[]> {
  return await db.query<ListedVersion>(
    `SELECT ${VERSION_COLUMNS}, (SELECT o.profile FROM acme_orders o WHERE o.id = order_id) AS profile
       FROM certificate_versions WHERE certificate_id = $1 ORDER BY id DESC`,
    [certificateId],
  );
}

export async function getVersion(db: Queryable, id: string): Promise<CertificateVersion | undefined> {
  const rows = await db.query<CertificateVersion>(`SELECT ${VERSION_COLUMNS} FROM certificate_versions WHERE id = $1`, [
    id,
  ]);
  return rows[0];
}

export async function findVersionByOrder(db: Queryable, orderId: string): Promise<CertificateVersion | undefined> {
  const rows = await db.query<CertificateVersion>(
    `SELECT ${VERSION_COLUMNS} FROM certificate_versions WHERE order_id = $1`,
    [orderId],
  );
  return rows[0];
}

export type NewVersion = Omit<CertificateVersion, 'id' | 'createdAt' | 'issuedBy'>;

/** One version per ACME order: a retried finalize returns the row stored by the first attempt. */
export async function insertVersionOnce(db: Queryable, v: NewVersion): Promise<CertificateVersion> {
  await db.query(
    `INSERT INTO certificate_versions (certificate_id, order_id, serial_hex, fingerprint_sha256, not_before, not_after, key_type, cert_pem, chain_pem, key_encrypted)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (order_id) DO NOTHING`,
    [
      v.certificateId,
      v.orderId,
      v.serialHex,
      v.fingerprintSha256,
      v.notBefore,
      v.notAfter,
      v.keyType,
      v.certPem,
      v.chainPem,
      v.keySealed,
    ],
  );
  await db.query(
    `UPDATE certificates SET current_version_id = (SELECT id FROM certificate_versions WHERE order_id = $1), status = 'valid', last_error = NULL, updated_at = now()
      WHERE id = $2`,
    [v.orderId, v.certificateId],
  );
  return (await findVersionByOrder(db, v.orderId)) as CertificateVersion;
}
