import type { Queryable } from '../activities/db/pool';
import { countUsers, insertUser } from '../activities/db/repositories/users';
import { generatePassword, hashPassword } from './passwords';

/** On first start (no users), creates `admin` with the given or a generated password. */
export async function bootstrapAdmin(db: Queryable, password: string | undefined): Promise<{ username: string; password: string } | undefined> {
  if ((await countUsers(db)) > 0) return undefined;
  const chosen = password ?? generatePassword();
  await db.query('SELECT pg_advisory_xact_lock(42)');
  if ((await countUsers(db)) > 0) return undefined;
  await insertUser(db, { username: 'admin', role: 'admin', passwordHash: await hashPassword(chosen) });
  return { username: 'admin', password: chosen };
}
