/**
 * A signal's payload is whatever its sender wrote (the Temporal API, a forged UI action): take only
 * the audit entry id from it, as received, for claimCommand to check. Never a name, never a flag.
 */
export function auditIdOf(payload: unknown): unknown {
  return typeof payload === 'object' && payload !== null ? (payload as { auditId?: unknown }).auditId : undefined;
}
