import type { Queryable } from '../pool';

/** Tables whose live (not soft-deleted) rows have a name a user picks. */
type NamedTable = 'customers' | 'dns_providers';

/**
 * Whether another live row of `table` has this name (`exceptId`: the row being renamed). Customers
 * compare names without case; a DNS provider's name must be unique as typed.
 */
export async function liveNameTaken(
  db: Queryable,
  table: NamedTable,
  name: string,
  exceptId: string | undefined,
  ignoreCase: boolean,
): Promise<boolean> {
  const nameMatches = ignoreCase ? 'lower(name) = lower($1)' : 'name = $1';
  const rows = await db.query(
    `SELECT 1 FROM ${table} WHERE ${nameMatches} AND deleted_at IS NULL AND id IS DISTINCT FROM $2::bigint`,
    [name, exceptId ?? null],
  );
  return rows.length > 0;
}
