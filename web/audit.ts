import type { Database, Queryable } from '../activities/db/pool';
import { appendAudit } from '../activities/db/repositories/audit-log';
import { commandMayHaveArrived } from './http-error';
import type { Actor } from './operations/input';

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId?: string;
  before?: unknown;
  after?: unknown;
}

/** Records who did what from where; returns the entry's id. `before`/`after` must already be redacted. */
export async function audit(db: Queryable, actor: Actor, entry: AuditEntry): Promise<string> {
  return appendAudit(db, { actor: actor.user?.username ?? 'anonymous', actorIp: actor.ip, ...entry });
}

/**
 * A change and its audit entry in one transaction: both are written, or neither. The entry may be
 * built from what the change returns (a created row's id).
 */
export async function auditedChange<T>(
  db: Database,
  actor: Actor,
  change: (tx: Queryable) => Promise<T>,
  entry: AuditEntry | ((result: T) => AuditEntry),
): Promise<T> {
  return db.withTransaction(async (tx) => {
    const result = await change(tx);
    await audit(tx, actor, typeof entry === 'function' ? entry(result) : entry);
    return result;
  });
}

/**
 * A command to Temporal that a workflow checks against its audit entry (temporal/contract.ts,
 * CommandAction): the entry is written first and its id handed to `send`, in one transaction, so a
 * command that fails (Temporal unreachable, refused) leaves no entry behind (nor what `send` wrote with `tx`); one that may have arrived
 * (no answer in time) keeps it. The worker waits for the entry to be committed before it checks it
 * (command-claims.ts).
 */
export async function auditedCommand<T>(
  db: Database,
  actor: Actor,
  entry: { action: string; entityType: string; entityId: string; after?: unknown },
  send: (auditId: string, tx: Queryable) => Promise<T>,
): Promise<T> {
  const sent = await db.withTransaction(async (tx) => {
    const auditId = await audit(tx, actor, entry);
    try {
      return { ok: true, value: await send(auditId, tx) } as const;
    } catch (error) {
      // No answer in time: the command may have arrived, and its run must find its entry. Keep it.
      if (commandMayHaveArrived(error)) return { ok: false, error } as const;
      throw error;
    }
  });
  if (!sent.ok) throw sent.error;
  return sent.value;
}
