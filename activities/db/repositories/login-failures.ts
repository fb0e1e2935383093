import type { Queryable } from '../pool';

/**
 * Sign-in failures per (user name as typed, client address). A pair that fails `maxFailures` times in a row
 * is locked for `lockMs`; other addresses are not affected. Unknown names are counted exactly like known ones.
 */
export async function lockedUntil(db: Queryable, username: string, address: string): Promise<Date | null> {
  const rows = await db.query<{ locked_until: Date | null }>(
    'SELECT locked_until FROM login_failures WHERE username = $1 AND address = $2 AND locked_until > now()',
    [username, address],
  );
  return rows[0]?.locked_until ?? null;
}

/** Counts one failure of the pair; returns until when the pair is locked, if this failure locked it. */
export async function recordLoginFailure(
  db: Queryable,
  username: string,
  address: string,
  maxFailures: number,
  lockMs: number,
): Promise<Date | null> {
  const rows = await db.query<{ locked_until: Date | null }>(
    `INSERT INTO login_failures AS f (username, address, failures, locked_until)
          VALUES ($1, $2, 1, CASE WHEN 1 >= $3 THEN now() + ($4::double precision * interval '1 millisecond') END)
     ON CONFLICT (username, address) DO UPDATE
        SET failures = CASE WHEN f.locked_until IS NOT NULL AND f.locked_until <= now() THEN 1 ELSE f.failures + 1 END,
            locked_until = CASE
              WHEN (CASE WHEN f.locked_until IS NOT NULL AND f.locked_until <= now() THEN 1 ELSE f.failures + 1 END) >= $3
              THEN now() + ($4::double precision * interval '1 millisecond') ELSE NULL END,
            updated_at = now()
     RETURNING locked_until`,
    [username, address, maxFailures, lockMs],
  );
  return rows[0]?.locked_until ?? null;
}

/** A successful sign-in from this address clears its count; pairs untouched for a day are forgotten. */
export async function clearLoginFailures(db: Queryable, username: string, address: string): Promise<void> {
  await db.query(
    `DELETE FROM login_failures
      WHERE (username = $1 AND address = $2)
         OR (updated_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now()))`,
    [username, address],
  );
}

/** The admin's unlock: every address of the name. */
export async function unlockUsername(db: Queryable, username: string): Promise<void> {
  await db.query('DELETE FROM login_failures WHERE username = $1', [username]);
}
