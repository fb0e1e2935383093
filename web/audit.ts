import type { Queryable } from '../activities/db/pool';
import { appendAudit } from '../activities/db/repositories/audit-log';
import type { Actor } from './operations/input';

/** Records who did what from where. `before`/`after` must already be redacted. */
export async function audit(
  db: Queryable,
  actor: Actor,
  entry: { action: string; entityType: string; entityId?: string; before?: unknown; after?: unknown },
): Promise<string> {
  return appendAudit(db, { actor: actor.user?.username ?? 'anonymous', actorIp: actor.ip, ...entry });
}
