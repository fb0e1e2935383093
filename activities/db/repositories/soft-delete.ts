import type { Queryable } from '../pool';

/** Tables whose rows are soft-deleted: audit entries, runs and versions keep pointing at them. */
type SoftDeletedTable = 'customers' | 'deployments' | 'dns_providers' | 'targets';

/** Marks a live row deleted; a row deleted already keeps its first `deleted_at`. */
export async function softDelete(db: Queryable, table: SoftDeletedTable, id: string): Promise<void> {
  await db.query(`UPDATE ${table} SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL`, [
    id,
  ]);
}
