import type { Queryable } from '../../activities/db/pool';
import { auditedChange, type AuditEntry } from '../audit';
import type { WebDeps } from '../deps';
import { confirmationErrors, done, invalid, type Actor, type Body, type OpResult } from './input';

export interface ConfirmedDeletion {
  /** The name to type, and what it names in the message, e.g. "target". */
  name: string;
  what: string;
  /** The console's form with the typed name; undefined for the API's DELETE, which is explicit. */
  confirmation: Body | undefined;
  remove: (tx: Queryable) => Promise<unknown>;
  /** The audit entry (its `before`: what the log keeps of the row). */
  entry: AuditEntry;
}

/** Deletes what the user confirmed by its name, with its audit entry in one transaction. */
export async function deleteConfirmed(
  deps: WebDeps,
  actor: Actor,
  deletion: ConfirmedDeletion,
): Promise<OpResult<void>> {
  const { confirmation, name, what } = deletion;
  const unconfirmed = confirmation && confirmationErrors(confirmation, name, what);
  if (unconfirmed) return invalid(unconfirmed);
  await auditedChange(deps.db, actor, deletion.remove, deletion.entry);
  return done(undefined);
}
