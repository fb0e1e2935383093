import type { Database, Queryable } from '../activities/db/pool';
import { appendAudit } from '../activities/db/repositories/audit-log';
import type { Actor } from './operations/input';

/** Records who did what from where; returns the entry's id. `before`/`after` must already be redacted. */
export async function audit(
  db: Queryable,
  actor: Actor,
  entry: { action: string; entityType: string; entityId?: string; before?: unknown; after?: unknown },
): Promise<string> {
  return appendAudit(db, { actor: actor.user?.username ?? 'anonymous', actorIp: actor.ip, ...entry });
}

/**
 * A command to Temporal that a workflow checks against its audit entry (temporal/contract.ts,
 * CommandAction): the entry is written first and its id handed to `send`, in one transaction, so a
 * command that fails (Temporal unreachable, refused) leaves no entry behind. The worker waits for the
 * entry to be committed before it checks it (command-claims.ts).
 */
export function auditedCommand<T>(
  db: Database,
  actor: Actor,
  entry: { action: string; entityType: string; entityId: string; after?: unknown },
  send: (auditId: string) => Promise<T>,
): Promise<T> {
  return db.withTransaction(async (tx) => send(await audit(tx, actor, entry)));
}
