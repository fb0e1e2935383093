import type { Queryable } from '../activities/db/pool';
import { putSetting, SECURITY_SETTING_KEY, type SecuritySettings } from '../activities/db/repositories/settings';
import { countUsers, insertUser } from '../activities/db/repositories/users';
import { passwordProblem } from './password-policy';
import { generatePassword, hashPassword } from './passwords';

const USERNAME = 'admin';

/**
 * On first start (no users), creates `admin` with the given or a generated password. A first start is a
 * new install, so it also turns on "require MFA for admins" (installs from before the setting keep it off).
 */
export async function bootstrapAdmin(
  db: Queryable,
  password: string | undefined,
): Promise<{ username: string; password: string } | undefined> {
  if ((await countUsers(db)) > 0) return undefined;
  const problem = password !== undefined ? passwordProblem(password, USERNAME) : undefined;
  if (problem) throw new Error(`CERTFLEET_ADMIN_PASSWORD is not accepted: ${problem}`);
  const chosen = password ?? generatePassword();
  await db.query('SELECT pg_advisory_xact_lock(42)');
  if ((await countUsers(db)) > 0) return undefined;
  await insertUser(db, { username: USERNAME, role: 'admin', passwordHash: await hashPassword(chosen) });
  await putSetting(db, SECURITY_SETTING_KEY, { requireAdminMfa: true } satisfies SecuritySettings);
  return { username: USERNAME, password: chosen };
}
