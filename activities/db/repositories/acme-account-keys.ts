/** The key rollover's state of an ACME account: the current key, a pending new one, when it last rolled over. */
import type { Queryable } from '../pool';

export interface AccountKeys {
  id: string;
  accountUrl: string | null;
  keySealed: string;
  pendingKeySealed: string | null;
  keyRolledOverAt: Date | null;
}

export async function getAccountKeys(db: Queryable, directoryId: string): Promise<AccountKeys | undefined> {
  const rows = await db.query<AccountKeys>(
    `SELECT id, account_url AS "accountUrl", key_encrypted AS "keySealed", pending_key_encrypted AS "pendingKeySealed",
            key_rolled_over_at AS "keyRolledOverAt" FROM acme_accounts WHERE directory_id = $1`,
    [directoryId],
  );
  return rows[0];
}

/** Stores the new key (sealed) before the CA hears of it; a pending key stored earlier wins. */
export async function setPendingAccountKey(db: Queryable, accountId: string, pendingKeySealed: string): Promise<void> {
  await db.query(
    'UPDATE acme_accounts SET pending_key_encrypted = $2 WHERE id = $1 AND pending_key_encrypted IS NULL',
    [accountId, pendingKeySealed],
  );
}

/** The CA has the new key: it becomes the account's key. */
export async function promotePendingAccountKey(db: Queryable, accountId: string): Promise<void> {
  await db.query(
    `UPDATE acme_accounts SET key_encrypted = pending_key_encrypted, pending_key_encrypted = NULL, key_rolled_over_at = now()
      WHERE id = $1 AND pending_key_encrypted IS NOT NULL`,
    [accountId],
  );
}

/** When each directory's account key last rolled over (Settings). */
export async function keyRolloversByDirectory(db: Queryable): Promise<Map<string, Date>> {
  const rows = await db.query<{ directoryId: string; at: Date }>(
    `SELECT directory_id AS "directoryId", key_rolled_over_at AS at FROM acme_accounts WHERE key_rolled_over_at IS NOT NULL`,
  );
  return new Map(rows.map((r) => [r.directoryId, r.at]));
}
