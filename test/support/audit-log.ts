import assert from 'node:assert/strict';
import type { Database } from '../../activities/db/pool';

/**
 * Asserts that each of `actions` is in the audit log, among the entries `where` (an SQL condition)
 * selects when given.
 */
export async function assertAudited(db: Database, actions: readonly string[], where = 'true'): Promise<void> {
  const found = await db.query<{ action: string }>(
    `SELECT DISTINCT action FROM audit_log WHERE (${where}) AND action = ANY($1::text[])`,
    [actions],
  );
  for (const action of actions)
    assert.ok(
      found.some((r) => r.action === action),
      `${action} audited`,
    );
}
