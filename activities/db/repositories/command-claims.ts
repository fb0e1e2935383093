import { pollUntil } from '../../poll-until';
import type { Queryable } from '../pool';
import { appendAudit } from './audit-log';

/** An audit entry older than this no longer authorises a command. */
export const COMMAND_MAX_AGE_MS = 60 * 60 * 1000;

export interface ClaimCheck {
  claimId: string;
  /** Digits only (checked by the caller); undefined when the command named none. */
  auditId: string | undefined;
  action: string;
  entityType: string;
  entityId: string;
}

export type StoredClaim = { accepted: true; actor: string } | { accepted: false; reason: string };

/** The result of a claim made before (a retried activity), if any. */
export async function findClaim(db: Queryable, claimId: string): Promise<StoredClaim | undefined> {
  const [row] = await db.query<{ accepted: boolean; reason: string | null; actor: string | null }>(
    'SELECT c.accepted, c.reason, a.actor FROM command_claims c LEFT JOIN audit_log a ON a.id = c.audit_id WHERE c.claim_id = $1',
    [claimId],
  );
  if (!row) return undefined;
  return row.accepted
    ? { accepted: true, actor: row.actor ?? 'unknown' }
    : { accepted: false, reason: row.reason ?? 'rejected' };
}

/**
 * The console writes an entry and sends its command in one transaction, so the command may arrive
 * before the entry is committed: wait (up to timeoutMs) while the id was handed out but is not visible.
 * An id the sequence never handed out, or one whose transaction rolled back, is simply not there.
 */
export async function waitForAuditEntry(
  db: Queryable,
  auditId: string,
  timeoutMs: number,
  pollMs = 200,
): Promise<void> {
  const settled = async (): Promise<boolean> => {
    const [row] = await db.query<{ visible: boolean; issued: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM audit_log WHERE id = $1) AS visible,
              $1::bigint <= (SELECT last_value FROM audit_log_id_seq) AS issued`,
      [auditId],
    );
    return !row || row.visible || !row.issued;
  };
  await pollUntil(settled, { timeoutMs, pollMs });
}

/** Why the entry does not authorise the command, or undefined (with its actor) when it does. */
async function checkEntry(db: Queryable, c: ClaimCheck): Promise<{ reason: string } | { actor: string }> {
  if (c.auditId === undefined) return { reason: 'it names no audit entry (commands come from the CertFleet console)' };
  const [entry] = await db.query<{
    actor: string;
    action: string;
    entity_type: string;
    entity_id: string | null;
    age_ms: number;
    used: boolean;
  }>(
    `SELECT actor, action, entity_type, entity_id, (extract(epoch FROM now() - at) * 1000)::float8 AS age_ms,
            EXISTS (SELECT 1 FROM command_claims WHERE audit_id = audit_log.id AND accepted) AS used
       FROM audit_log WHERE id = $1`,
    [c.auditId],
  );
  if (!entry) return { reason: `audit entry ${c.auditId} does not exist` };
  if (entry.action !== c.action) return { reason: `audit entry ${c.auditId} records ${entry.action}, not ${c.action}` };
  if (entry.entity_type !== c.entityType || entry.entity_id !== c.entityId) {
    return {
      reason: `audit entry ${c.auditId} is about ${entry.entity_type} ${entry.entity_id ?? '-'}, not ${c.entityType} ${c.entityId}`,
    };
  }
  if (entry.used) return { reason: `audit entry ${c.auditId} was used already` };
  if (entry.age_ms > COMMAND_MAX_AGE_MS)
    return { reason: `audit entry ${c.auditId} is too old (over ${COMMAND_MAX_AGE_MS / 60_000} minutes)` };
  return { actor: entry.actor };
}

/**
 * Checks the audit entry against the command and claims it, in one transaction (the caller's): the
 * entry's action and object match, it is recent and no command used it. Idempotent per claimId. A
 * rejection is stored under the claim id and recorded in the audit log (`rejection` describes it).
 */
export async function claimAuditEntry(
  tx: Queryable,
  c: ClaimCheck,
  rejection: { action: string; after: Record<string, unknown> },
): Promise<StoredClaim> {
  const earlier = await findClaim(tx, c.claimId);
  if (earlier) return earlier;
  const checked = await checkEntry(tx, c);
  if ('actor' in checked) {
    // The partial unique index turns a concurrent second claim of the same entry into no row.
    const inserted = await tx.query(
      'INSERT INTO command_claims (claim_id, audit_id, accepted) VALUES ($1, $2, true) ON CONFLICT DO NOTHING RETURNING claim_id',
      [c.claimId, c.auditId],
    );
    if (inserted.length > 0) return { accepted: true, actor: checked.actor };
  }
  const reason = 'reason' in checked ? checked.reason : `audit entry ${c.auditId ?? '-'} was used already`;
  return rejectCommand(tx, c, reason, { ...rejection, after: { ...rejection.after, auditId: c.auditId ?? null } });
}

/**
 * Stores the rejection under the claim id and records it in the audit log (actor certfleet-worker),
 * once per claim id: a retried activity records nothing twice.
 */
export async function rejectCommand(
  tx: Queryable,
  c: Pick<ClaimCheck, 'claimId' | 'entityType' | 'entityId'>,
  reason: string,
  rejection: { action: string; after: Record<string, unknown> },
): Promise<{ accepted: false; reason: string }> {
  const inserted = await tx.query(
    'INSERT INTO command_claims (claim_id, accepted, reason) VALUES ($1, false, $2) ON CONFLICT DO NOTHING RETURNING claim_id',
    [c.claimId, reason],
  );
  if (inserted.length > 0) {
    await appendAudit(tx, {
      actor: 'certfleet-worker',
      action: rejection.action,
      entityType: c.entityType,
      entityId: c.entityId,
      after: { ...rejection.after, reason },
    });
  }
  return { accepted: false, reason };
}
