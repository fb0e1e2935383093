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

/** Appends the entry; returns its id (a command to Temporal names it, see command-claims.ts). */
export async function appendAudit(db: Queryable, entry: AuditEntry): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    'INSERT INTO audit_log (actor, actor_ip, action, entity_type, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
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
  return (row as { id: string }).id;
}

export interface AuditFilter {
  actor?: string;
  /** An exact action, or a prefix ending in "." (certificate. = every certificate action). */
  action?: string;
  entityType?: string;
  entityId?: string;
  /** Inclusive bounds. */
  from?: Date;
  to?: Date;
  /** Rows with an id below this one (keyset paging, newest first). */
  beforeId?: string;
  /** Leave out entries about these entity types (what a role may not read). */
  hiddenEntityTypes?: readonly string[];
  limit: number;
}

interface AuditDbRow {
  id: string;
  at: Date;
  actor: string;
  actor_ip: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  before: unknown;
  after: unknown;
}

/** Newest first. Keyset paging through `beforeId` keeps deep pages as fast as the first. */
export async function listAudit(db: Queryable, f: AuditFilter): Promise<AuditRow[]> {
  const action = f.action ?? null;
  const rows = await db.query<AuditDbRow>(
    `SELECT id, at, actor, actor_ip, action, entity_type, entity_id, before, after FROM audit_log
      WHERE ($1::text IS NULL OR actor = $1)
        AND ($2::text IS NULL OR (CASE WHEN right($2, 1) = '.' THEN left(action, length($2)) = $2 ELSE action = $2 END))
        AND ($3::text IS NULL OR entity_type = $3) AND ($4::text IS NULL OR entity_id = $4)
        AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at <= $6)
        AND ($7::bigint IS NULL OR id < $7)
        AND NOT (entity_type = ANY ($9::text[]))
      ORDER BY id DESC LIMIT $8`,
    [
      f.actor ?? null,
      action,
      f.entityType ?? null,
      f.entityId ?? null,
      f.from ?? null,
      f.to ?? null,
      f.beforeId ?? null,
      f.limit,
      f.hiddenEntityTypes ?? [],
    ],
  );
  return rows.map(toAuditRow);
}

const toAuditRow = (r: AuditDbRow): AuditRow => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  actorIp: r.actor_ip ?? undefined,
  action: r.action,
  entityType: r.entity_type,
  entityId: r.entity_id ?? undefined,
  before: r.before,
  after: r.after,
});

export async function getAuditEntry(db: Queryable, id: string): Promise<AuditRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const rows = await db.query<AuditDbRow>(
    'SELECT id, at, actor, actor_ip, action, entity_type, entity_id, before, after FROM audit_log WHERE id = $1',
    [id],
  );
  return rows[0] && toAuditRow(rows[0]);
}

/** Distinct values of an indexed column by a loose index scan: one index probe per value, not a scan of the log. */
const distinct = (column: 'action' | 'entity_type') => `
  WITH RECURSIVE v AS (
    (SELECT ${column} AS v FROM audit_log ORDER BY ${column} LIMIT 1)
    UNION ALL
    SELECT (SELECT ${column} FROM audit_log WHERE ${column} > v.v ORDER BY ${column} LIMIT 1) FROM v WHERE v.v IS NOT NULL
  ) SELECT v FROM v WHERE v IS NOT NULL`;

/**
 * Distinct actions and entity types, for the viewer's filter lists; without the hidden entity types,
 * nor the actions of entries about them.
 */
export async function auditFacets(
  db: Queryable,
  hiddenEntityTypes: readonly string[] = [],
): Promise<{ actions: string[]; entityTypes: string[] }> {
  const [actions, types] = await Promise.all([
    db.query<{ v: string }>(distinct('action')),
    db.query<{ v: string }>(distinct('entity_type')),
  ]);
  const hiddenActions = hiddenEntityTypes.length
    ? new Set(
        (
          await db.query<{ action: string }>(
            'SELECT DISTINCT action FROM audit_log WHERE entity_type = ANY ($1::text[])',
            [hiddenEntityTypes],
          )
        ).map((r) => r.action),
      )
    : new Set<string>();
  return {
    actions: actions.map((r) => r.v).filter((a) => !hiddenActions.has(a)),
    entityTypes: types.map((r) => r.v).filter((t) => !hiddenEntityTypes.includes(t)),
  };
}
