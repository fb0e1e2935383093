import type { Queryable } from '../pool';

export interface AuditEntry {
  actor: string;
  actorIp?: string | undefined;
  action: string;
  entityType: string;
  entityId?: string | undefined;
  /** Never secrets: callers pass redacted views. */
  before?: unknown;
  after?: unknown;
}

export interface AuditRow extends AuditEntry {
  id: string;
  at: Date;
}

export async function appendAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    'INSERT INTO audit_log (actor, actor_ip, action, entity_type, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [
      entry.actor,
      entry.actorIp ?? null,
      entry.action,
      entry.entityType,
      entry.entityId ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
    ],
  );
}

export async function listAudit(db: Queryable, filter: { entityType?: string; entityId?: string; limit?: number } = {}): Promise<AuditRow[]> {
  const rows = await db.query<{
    id: string; at: Date; actor: string; actor_ip: string | null; action: string; entity_type: string; entity_id: string | null; before: unknown; after: unknown;
  }>(
    `SELECT id, at, actor, actor_ip, action, entity_type, entity_id, before, after FROM audit_log
      WHERE ($1::text IS NULL OR entity_type = $1) AND ($2::text IS NULL OR entity_id = $2)
      ORDER BY id DESC LIMIT $3`,
    [filter.entityType ?? null, filter.entityId ?? null, filter.limit ?? 100],
  );
  return rows.map((r) => ({
    id: r.id, at: r.at, actor: r.actor, actorIp: r.actor_ip ?? undefined, action: r.action, entityType: r.entity_type,
    entityId: r.entity_id ?? undefined, before: r.before, after: r.after,
  }));
}
