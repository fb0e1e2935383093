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

/** An edit of a row whose sealed secret is bound to its endpoint (a target, a DNS provider). */
export interface SecretHolderEdit<R extends { id: string; name: string }> {
  entityType: 'target' | 'dns_provider';
  /** The audit action of the edit, e.g. "target.update". */
  action: string;
  before: R;
  /** Writes the edit, then reads the row back. */
  save: (tx: Queryable) => Promise<R>;
  /** The row as the audit log keeps it (no secrets). */
  redact: (row: R) => Record<string, unknown>;
  endpoints: (saved: R) => { before: string; after: string };
  /**
   * The field naming the secret in the entry, and whether the edit replaced it; or, for a row with
   * several secrets, each secret field's note ("(replaced, sealed)" / "(kept, sealed)").
   */
  secret: { field: string; replaced: (saved: R) => boolean | Record<string, string> };
}

const secretNote = (replaced: boolean | Record<string, string>): string | Record<string, string> =>
  typeof replaced === 'boolean' ? (replaced ? '(replaced, sealed)' : '(kept, sealed)') : replaced;

/**
 * Saves the edit, its audit entry and (when the endpoint moved) the endpoint-change entry in one
 * transaction, then starts the admins' notice. Returns the saved row.
 */
export async function saveSecretHolder<R extends { id: string; name: string }>(
  deps: WebDeps,
  actor: Actor,
  edit: SecretHolderEdit<R>,
): Promise<R> {
  const { before, redact, secret } = edit;
  const { saved, notice } = await deps.db.withTransaction(async (tx) => {
    const saved = await edit.save(tx);
    await audit(tx, actor, {
      action: edit.action,
      entityType: edit.entityType,
      entityId: before.id,
      before: redact(before),
      after: { ...redact(saved), [secret.field]: secretNote(secret.replaced(saved)) },
    });
    const notice = await auditEndpointChange(tx, actor, {
      entityType: edit.entityType,
      entityId: before.id,
      name: saved.name,
      ...edit.endpoints(saved),
    });
    return { saved, notice };
  });
  await notifyEndpointChange(deps, notice);
  return saved;
}
