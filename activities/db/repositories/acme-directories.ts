import type { Queryable } from '../pool';

export interface AcmeDirectory {
  id: string;
  name: string;
  url: string;
  caBundlePem: string | null;
  builtin: boolean;
}

interface Row {
  id: string;
  name: string;
  url: string;
  ca_bundle_pem: string | null;
  builtin: boolean;
}
const toDirectory = (r: Row): AcmeDirectory => ({
  id: r.id,
  name: r.name,
  url: r.url,
  caBundlePem: r.ca_bundle_pem,
  builtin: r.builtin,
});

export async function listAcmeDirectories(db: Queryable): Promise<AcmeDirectory[]> {
  return (
    await db.query<Row>('SELECT id, name, url, ca_bundle_pem, builtin FROM acme_directories ORDER BY builtin DESC, id')
  ).map(toDirectory);
}

export async function getAcmeDirectory(db: Queryable, id: string): Promise<AcmeDirectory | undefined> {
  const rows = await db.query<Row>('SELECT id, name, url, ca_bundle_pem, builtin FROM acme_directories WHERE id = $1', [
    id,
  ]);
  return rows[0] && toDirectory(rows[0]);
}

/** Adds a custom directory, or updates name/CA bundle of an existing URL. */
export async function upsertAcmeDirectory(
  db: Queryable,
  d: { name: string; url: string; caBundlePem: string | null },
): Promise<AcmeDirectory> {
  const rows = await db.query<Row>(
    `INSERT INTO acme_directories (name, url, ca_bundle_pem) VALUES ($1, $2, $3)
       ON CONFLICT (url) DO UPDATE SET name = EXCLUDED.name, ca_bundle_pem = EXCLUDED.ca_bundle_pem
     RETURNING id, name, url, ca_bundle_pem, builtin`,
    [d.name, d.url, d.caBundlePem],
  );
  return toDirectory(rows[0] as Row);
}
