import type { Queryable } from '../pool';
import type { KeyType } from '../../domain/key-types';
import type { RenewalMode } from '../../domain/renewal-policy';

export type CertificateStatus = 'pending' | 'issuing' | 'valid' | 'failed';

export interface CertificateRecord {
  id: string;
  commonName: string;
  dnsProviderId: string;
  dnsProviderName: string;
  acmeDirectoryId: string;
  acmeDirectoryName: string;
  /** The certificate's own ACME profile (null: the directory's default). */
  acmeProfile: string | null;
  /** The profile that applies: its own, else the directory's default (null: the CA's default). */
  effectiveProfile: string | null;
  /** The zone `_acme-challenge.<name>` must be a CNAME into (delegation required), or null. */
  delegationZone: string | null;
  /** Its own fallback ACME directories, in order (null: its directory's list). */
  fallbackDirectoryIds: string[] | null;
  customerId: string;
  customerName: string;
  keyType: KeyType;
  renewalMode: RenewalMode;
  renewalValue: number | null;
  enabled: boolean;
  status: CertificateStatus;
  lastError: string | null;
  lastCheckedAt: Date | null;
  currentVersionId: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  createdAt: Date;
}

export interface CertificateRow {
  id: string;
  common_name: string;
  dns_provider_id: string;
  dns_provider_name: string;
  acme_directory_id: string;
  acme_directory_name: string;
  acme_profile: string | null;
  effective_profile: string | null;
  delegation_zone: string | null;
  fallback_directory_ids: string[] | null;
  customer_id: string;
  customer_name: string;
  key_type: KeyType;
  renewal_mode: RenewalMode;
  renewal_value: number | null;
  enabled: boolean;
  status: CertificateStatus;
  last_error: string | null;
  last_checked_at: Date | null;
  current_version_id: string | null;
  not_before: Date | null;
  not_after: Date | null;
  created_at: Date;
}

export const CERTIFICATE_SELECT = `
  SELECT c.id, c.common_name, c.dns_provider_id, p.name AS dns_provider_name, c.acme_directory_id, d.name AS acme_directory_name,
         c.acme_profile, coalesce(c.acme_profile, d.default_profile) AS effective_profile, c.delegation_zone,
         c.fallback_directory_ids::text[] AS fallback_directory_ids,
         c.customer_id, cu.name AS customer_name, c.key_type, c.renewal_mode, c.renewal_value, c.enabled, c.status, c.last_error, c.last_checked_at, c.current_version_id,
         c.current_not_before AS not_before, c.current_not_after AS not_after, c.created_at
    FROM certificates c
    JOIN dns_providers p ON p.id = c.dns_provider_id
    JOIN acme_directories d ON d.id = c.acme_directory_id
    JOIN customers cu ON cu.id = c.customer_id`;

export const toCertificate = (r: CertificateRow): CertificateRecord => ({
  id: r.id,
  commonName: r.common_name,
  dnsProviderId: r.dns_provider_id,
  dnsProviderName: r.dns_provider_name,
  acmeDirectoryId: r.acme_directory_id,
  acmeDirectoryName: r.acme_directory_name,
  acmeProfile: r.acme_profile,
  effectiveProfile: r.effective_profile,
  delegationZone: r.delegation_zone,
  fallbackDirectoryIds: r.fallback_directory_ids,
  customerId: r.customer_id,
  customerName: r.customer_name,
  keyType: r.key_type,
  renewalMode: r.renewal_mode,
  renewalValue: r.renewal_value,
  enabled: r.enabled,
  status: r.status,
  lastError: r.last_error,
  lastCheckedAt: r.last_checked_at,
  currentVersionId: r.current_version_id,
  notBefore: r.not_before,
  notAfter: r.not_after,
  createdAt: r.created_at,
});

export const isId = (id: string): boolean => /^\d{1,18}$/.test(id);

/** The certificate's current version id, deleted certificates included (null before the first issuance). */
export async function currentVersionIdOf(db: Queryable, id: string): Promise<string | null | undefined> {
  const rows = await db.query<{ current_version_id: string | null }>(
    'SELECT current_version_id FROM certificates WHERE id = $1',
    [id],
  );
  return rows[0]?.current_version_id;
}

export async function getCertificate(db: Queryable, id: string): Promise<CertificateRecord | undefined> {
  if (!isId(id)) return undefined;
  const rows = await db.query<CertificateRow>(`${CERTIFICATE_SELECT} WHERE c.id = $1 AND c.deleted_at IS NULL`, [id]);
  return rows[0] && toCertificate(rows[0]);
}

export async function liveCertificateExists(db: Queryable, commonName: string): Promise<boolean> {
  return (
    (await db.query('SELECT 1 FROM certificates WHERE common_name = $1 AND deleted_at IS NULL', [commonName])).length >
    0
  );
}

export interface NewCertificate {
  commonName: string;
  customerId: string;
  dnsProviderId: string;
  acmeDirectoryId: string;
  keyType: KeyType;
  renewalMode: RenewalMode;
  renewalValue: number | null;
  acmeProfile: string | null;
  delegationZone: string | null;
}

export async function insertCertificate(db: Queryable, c: NewCertificate): Promise<string> {
  const rows = await db.query<{ id: string }>(
    `INSERT INTO certificates (common_name, customer_id, dns_provider_id, acme_directory_id, key_type, renewal_mode, renewal_value, acme_profile, delegation_zone)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      c.commonName,
      c.customerId,
      c.dnsProviderId,
      c.acmeDirectoryId,
      c.keyType,
      c.renewalMode,
      c.renewalValue,
      c.acmeProfile,
      c.delegationZone,
    ],
  );
  return (rows[0] as { id: string }).id;
}

export interface CertificateSettings {
  customerId: string;
  dnsProviderId: string;
  keyType: KeyType;
  renewalMode: RenewalMode;
  renewalValue: number | null;
  enabled: boolean;
  acmeProfile: string | null;
  delegationZone: string | null;
  fallbackDirectoryIds: string[] | null;
}

export async function updateCertificateSettings(db: Queryable, id: string, s: CertificateSettings): Promise<void> {
  await db.query(
    `UPDATE certificates SET customer_id = $2, dns_provider_id = $3, key_type = $4, renewal_mode = $5, renewal_value = $6, enabled = $7,
            acme_profile = $8, delegation_zone = $9, fallback_directory_ids = $10::bigint[], updated_at = now()
      WHERE id = $1 AND deleted_at IS NULL`,
    [
      id,
      s.customerId,
      s.dnsProviderId,
      s.keyType,
      s.renewalMode,
      s.renewalValue,
      s.enabled,
      s.acmeProfile,
      s.delegationZone,
      s.fallbackDirectoryIds,
    ],
  );
}

/** Soft delete: versions and history stay; the name becomes free again. */
export async function deleteCertificate(db: Queryable, id: string): Promise<void> {
  await db.query(
    'UPDATE certificates SET deleted_at = now(), enabled = false, updated_at = now() WHERE id = $1 AND deleted_at IS NULL',
    [id],
  );
}

export async function setCertificateStatus(
  db: Queryable,
  id: string,
  status: CertificateStatus,
  lastError: string | null,
): Promise<void> {
  await db.query('UPDATE certificates SET status = $2, last_error = $3, updated_at = now() WHERE id = $1', [
    id,
    status,
    lastError,
  ]);
}

export async function recordRenewalCheck(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE certificates SET last_checked_at = now() WHERE id = $1', [id]);
}

/** Ids of live certificates, for reconciling schedules. */
/** The live certificates' ids, names and switches, `pageSize` rows at a time in id order (keyset, no OFFSET). */
export async function* liveCertificatePages(
  db: Queryable,
  pageSize = 500,
): AsyncGenerator<{ certificateId: string; commonName: string; enabled: boolean }[]> {
  let afterId: string | null = null;
  for (;;) {
    const page: { certificateId: string; commonName: string; enabled: boolean }[] = await db.query(
      `SELECT id::text AS "certificateId", common_name AS "commonName", enabled FROM certificates
        WHERE deleted_at IS NULL AND ($1::bigint IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [afterId, pageSize],
    );
    if (page.length) yield page;
    if (page.length < pageSize) return;
    afterId = page[page.length - 1]?.certificateId ?? null;
  }
}

/** Which of `ids` are live certificates (ids that are not numbers are not). */
export async function liveCertificateIdsAmong(db: Queryable, ids: string[]): Promise<Set<string>> {
  const numeric = ids.filter((id) => /^\d{1,18}$/.test(id));
  if (!numeric.length) return new Set();
  const rows = await db.query<{ id: string }>(
    'SELECT id::text AS id FROM certificates WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL',
    [numeric],
  );
  return new Set(rows.map((r) => r.id));
}

export async function countByStatus(db: Queryable, customerId?: string): Promise<Record<CertificateStatus, number>> {
  const rows = await db.query<{ status: CertificateStatus; n: string }>(
    'SELECT status, count(*) AS n FROM certificates WHERE deleted_at IS NULL AND ($1::bigint IS NULL OR customer_id = $1) GROUP BY status',
    [customerId ?? null],
  );
  const counts: Record<CertificateStatus, number> = { pending: 0, issuing: 0, valid: 0, failed: 0 };
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}
