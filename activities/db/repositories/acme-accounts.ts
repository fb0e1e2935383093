import type { Queryable } from '../pool';

export interface AcmeAccount {
  id: string;
  directoryId: string;
  email: string | null;
  keySealed: string;
  accountUrl: string | null;
}

interface Row {
  id: string;
  directory_id: string;
  email: string | null;
  key_encrypted: string;
  account_url: string | null;
}
const toAccount = (r: Row): AcmeAccount => ({
  id: r.id,
  directoryId: r.directory_id,
  email: r.email,
  keySealed: r.key_encrypted,
  accountUrl: r.account_url,
});

export async function findAcmeAccount(db: Queryable, directoryId: string): Promise<AcmeAccount | undefined> {
  const rows = await db.query<Row>(
    'SELECT id, directory_id, email, key_encrypted, account_url FROM acme_accounts WHERE directory_id = $1',
    [directoryId],
  );
  return rows[0] && toAccount(rows[0]);
}

/** Inserts the account key once per directory; a concurrent insert loses and gets the winner's row. */
export async function insertAcmeAccountOnce(
  db: Queryable,
  a: { directoryId: string; email: string | null; keySealed: string },
): Promise<AcmeAccount> {
  await db.query(
    'INSERT INTO acme_accounts (directory_id, email, key_encrypted) VALUES ($1, $2, $3) ON CONFLICT (directory_id) DO NOTHING',
    [a.directoryId, a.email, a.keySealed],
  );
  return (await findAcmeAccount(db, a.directoryId)) as AcmeAccount;
}

export async function setAcmeAccountUrl(db: Queryable, id: string, accountUrl: string): Promise<void> {
  await db.query('UPDATE acme_accounts SET account_url = $2 WHERE id = $1', [id, accountUrl]);
}

/** The accounts as Settings shows them: never the key. */
export async function listAcmeAccounts(db: Queryable): Promise<
  {
    id: string;
    directoryId: string;
    directoryName: string;
    directoryUrl: string;
    email: string | null;
    accountUrl: string | null;
    createdAt: Date;
  }[]
> {
  return db.query(
    `SELECT a.id, a.directory_id AS "directoryId", d.name AS "directoryName", d.url AS "directoryUrl", a.email, a.account_url AS "accountUrl", a.created_at AS "createdAt"
       FROM acme_accounts a JOIN acme_directories d ON d.id = a.directory_id ORDER BY d.name`,
  );
}
