/**
 * "Expires within N days" in SQL, scaled to each certificate's lifetime by the function
 * expiry_threshold (migration 0017; the rule is activities/domain/expiry-threshold.ts). The plain
 * `current_not_after <= now() + N days` comes first, so the expiry index still narrows the rows.
 */
export function expiresWithinSql(alias: string, days: string): string {
  return `(${alias}.current_not_after <= now() + ${days} * interval '1 day'
    AND ${alias}.current_not_after <= now() + expiry_threshold(${alias}.current_not_before, ${alias}.current_not_after, ${days}))`;
}
