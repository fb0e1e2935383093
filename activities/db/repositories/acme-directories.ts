import type { AcmeAccount } from './acme-accounts';
import type { AcmeProfiles } from '../../domain/acme-options';
import type { Queryable } from '../pool';

/** A directory as pages, the API and the worker see it: never the sealed EAB HMAC key. */
export interface AcmeDirectory {
  id: string;
  name: string;
  url: string;
  caBundlePem: string | null;
  builtin: boolean;
  /** `meta.profiles` as the worker last read it; null until read. */
  profiles: AcmeProfiles | null;
  /** `meta.externalAccountRequired` as last read; null until read. */
  eabRequired: boolean | null;
  profilesCheckedAt: Date | null;
  /** Why the last read failed (null when it worked). */
  profilesError: string | null;
  /** The profile new orders send unless the certificate names its own (null: the CA's default). */
  defaultProfile: string | null;
  /** External Account Binding key id; its HMAC key is stored sealed and never read back here. */
  eabKeyId: string | null;
  hasEabHmacKey: boolean;
}

interface Row {
  id: string;
  name: string;
  url: string;
  ca_bundle_pem: string | null;
  builtin: boolean;
  profiles: AcmeProfiles | null;
  eab_required: boolean | null;
  profiles_checked_at: Date | null;
  profiles_error: string | null;
  default_profile: string | null;
  eab_key_id: string | null;
  has_eab_hmac_key: boolean;
}
const COLUMNS = `id, name, url, ca_bundle_pem, builtin, profiles, eab_required, profiles_checked_at, profiles_error,
  default_profile, eab_key_id, eab_hmac_key_encrypted IS NOT NULL AS has_eab_hmac_key`;
const toDirectory = (r: Row): AcmeDirectory => ({
  id: r.id,
  name: r.name,
  url: r.url,
  caBundlePem: r.ca_bundle_pem,
  builtin: r.builtin,
  profiles: r.profiles,
  eabRequired: r.eab_required,
  profilesCheckedAt: r.profiles_checked_at,
  profilesError: r.profiles_error,
  defaultProfile: r.default_profile,
  eabKeyId: r.eab_key_id,
  hasEabHmacKey: r.has_eab_hmac_key,
});

export async function listAcmeDirectories(db: Queryable): Promise<AcmeDirectory[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM acme_directories ORDER BY builtin DESC, id`)).map(toDirectory);
}

export async function getAcmeDirectory(db: Queryable, id: string): Promise<AcmeDirectory | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const rows = await db.query<Row>(`SELECT ${COLUMNS} FROM acme_directories WHERE id = $1`, [id]);
  return rows[0] && toDirectory(rows[0]);
}

/**
 * A directory and its ACME account (undefined before the first registration), in one statement
 * instead of two: every ACME step builds (or finds) its client from both.
 */
export async function getAcmeDirectoryWithAccount(
  db: Queryable,
  id: string,
): Promise<{ directory: AcmeDirectory | undefined; account: AcmeAccount | undefined }> {
  if (!/^\d{1,18}$/.test(id)) return { directory: undefined, account: undefined };
  const [row] = await db.query<
    Row & {
      account_id: string | null;
      account_directory_id: string;
      account_email: string | null;
      account_key_encrypted: string;
      account_url: string | null;
    }
  >(
    `SELECT d.*, a.*
       FROM (SELECT ${COLUMNS} FROM acme_directories WHERE id = $1) d
       LEFT JOIN (SELECT id AS account_id, directory_id AS account_directory_id, email AS account_email,
                         key_encrypted AS account_key_encrypted, account_url FROM acme_accounts) a
         ON a.account_directory_id = d.id`,
    [id],
  );
  if (!row) return { directory: undefined, account: undefined };
  const account: AcmeAccount | undefined =
    row.account_id === null
      ? undefined
      : {
          id: row.account_id,
          directoryId: row.account_directory_id,
          email: row.account_email,
          keySealed: row.account_key_encrypted,
          accountUrl: row.account_url,
        };
  return { directory: toDirectory(row), account };
}

/** Adds a custom directory, or updates name/CA bundle of an existing URL. */
export async function upsertAcmeDirectory(
  db: Queryable,
  d: { name: string; url: string; caBundlePem: string | null },
): Promise<AcmeDirectory> {
  const rows = await db.query<Row>(
    `INSERT INTO acme_directories (name, url, ca_bundle_pem) VALUES ($1, $2, $3)
       ON CONFLICT (url) DO UPDATE SET name = EXCLUDED.name, ca_bundle_pem = EXCLUDED.ca_bundle_pem
     RETURNING ${COLUMNS}`,
    [d.name, d.url, d.caBundlePem],
  );
  return toDirectory(rows[0] as Row);
}

/** What the worker read from the directory document (or why it could not). */
export async function recordDirectoryMeta(
  db: Queryable,
  id: string,
  read: { profiles: AcmeProfiles; eabRequired: boolean } | { error: string },
): Promise<void> {
  if ('error' in read) {
    await db.query('UPDATE acme_directories SET profiles_checked_at = now(), profiles_error = $2 WHERE id = $1', [
      id,
      read.error,
    ]);
    return;
  }
  await db.query(
    `UPDATE acme_directories SET profiles = $2, eab_required = $3, profiles_checked_at = now(), profiles_error = NULL
      WHERE id = $1`,
    [id, JSON.stringify(read.profiles), read.eabRequired],
  );
}

/** The default profile and External Account Binding of a directory; `eab: 'keep'` leaves the binding as it is. */
export async function setDirectoryOptions(
  db: Queryable,
  id: string,
  o: { defaultProfile: string | null; eab: 'keep' | null | { keyId: string; hmacKeySealed: string } },
): Promise<void> {
  if (o.eab === 'keep') {
    await db.query('UPDATE acme_directories SET default_profile = $2 WHERE id = $1', [id, o.defaultProfile]);
    return;
  }
  await db.query(
    'UPDATE acme_directories SET default_profile = $2, eab_key_id = $3, eab_hmac_key_encrypted = $4 WHERE id = $1',
    [id, o.defaultProfile, o.eab?.keyId ?? null, o.eab?.hmacKeySealed ?? null],
  );
}

/** The sealed EAB HMAC key, for the worker creating the directory's account. */
export async function directoryEabSealed(
  db: Queryable,
  id: string,
): Promise<{ keyId: string; hmacKeySealed: string } | undefined> {
  const rows = await db.query<{ eab_key_id: string | null; eab_hmac_key_encrypted: string | null }>(
    'SELECT eab_key_id, eab_hmac_key_encrypted FROM acme_directories WHERE id = $1',
    [id],
  );
  const row = rows[0];
  return row?.eab_key_id && row.eab_hmac_key_encrypted
    ? { keyId: row.eab_key_id, hmacKeySealed: row.eab_hmac_key_encrypted }
    : undefined;
}
