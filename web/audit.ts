import type { Request } from 'express';
import type { Queryable } from '../activities/db/pool';
import { appendAudit } from '../activities/db/repositories/audit-log';

/** Records who did what from where. `before`/`after` must already be redacted. */
export async function audit(
  db: Queryable,
  req: Request,
  entry: { action: string; entityType: string; entityId?: string; before?: unknown; after?: unknown },
): Promise<void> {
  await appendAudit(db, { actor: req.user?.username ?? 'anonymous', actorIp: req.ip, ...entry });
}
