/**
 * A change of where a secret is sent (target address/trust/endpoint options, DNS API URL, SMTP
 * server) is audited with both endpoints (never secrets) and mailed to the admins by a workflow:
 * the web never sends mail itself.
 */
import type { Queryable } from '../activities/db/pool';
import { describeEndpoint } from '../activities/domain/secret-endpoints';
import { audit } from './audit';
import type { WebDeps } from './deps';
import type { Actor } from './operations/input';

const ACTIONS = {
  target: 'target.endpoint-change',
  dns_provider: 'dns-provider.endpoint-change',
  settings: 'settings.smtp-endpoint-change',
} as const;

/** Audits the change when the endpoint differs; returns the audit id to notify about. */
export async function auditEndpointChange(
  db: Queryable,
  actor: Actor,
  change: { entityType: keyof typeof ACTIONS; entityId: string; name: string; before: string; after: string },
): Promise<string | undefined> {
  if (change.before === change.after) return undefined;
  return audit(db, actor, {
    action: ACTIONS[change.entityType],
    entityType: change.entityType,
    entityId: change.entityId,
    before: { endpoint: describeEndpoint(change.before) },
    after: { name: change.name, endpoint: describeEndpoint(change.after) },
  });
}

/** Starts the notice after the change is committed. A failure to start it is logged: the change and its audit row stand. */
export async function notifyEndpointChange(deps: WebDeps, auditId: string | undefined): Promise<void> {
  if (auditId === undefined) return;
  try {
    await deps.commands.startEndpointChangeNotice(auditId);
  } catch (error) {
    deps.log.warn({ err: error, auditId }, 'cannot start the endpoint change notice');
  }
}
