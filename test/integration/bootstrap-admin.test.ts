/**
 * The first start's admin (issue 11, items 6 and 7): its password passes the same policy as every other
 * one, and a first start is a new install, so it turns on "require two-factor sign-in for admins".
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  getSetting,
  putSetting,
  SECURITY_SETTING_KEY,
  type SecuritySettings,
} from '../../activities/db/repositories/settings';
import { countUsers } from '../../activities/db/repositories/users';
import { bootstrapAdmin } from '../../web/bootstrap-admin';
import { createTestDatabase } from '../support/db';
import { suiteResource } from '../support/suite-resource';

const testDb = suiteResource(createTestDatabase, (db) => db.drop());

it('refuses a common or short password for the first admin, and creates nothing', async () => {
  const db = testDb();
  for (const [password, why] of [
    ['1q2w3e4r5t', /most common passwords/],
    ['short', /10 to 128 characters/],
  ] as const) {
    await assert.rejects(
      db.db.withTransaction((tx) => bootstrapAdmin(tx, password)),
      (error: Error) => why.test(error.message) && /^CERTFLEET_ADMIN_PASSWORD is not accepted/.test(error.message),
    );
  }
  assert.equal(await countUsers(db.db), 0);
});

it('a first start requires MFA for admins; a later start leaves the setting alone', async () => {
  const db = testDb();
  const created = await db.db.withTransaction((tx) => bootstrapAdmin(tx, 'first-admin-secret-1'));
  assert.equal(created?.username, 'admin');
  assert.equal((await getSetting<SecuritySettings>(db.db, SECURITY_SETTING_KEY))?.requireAdminMfa, true);
  await putSetting(db.db, SECURITY_SETTING_KEY, { requireAdminMfa: false });
  assert.equal(await db.db.withTransaction((tx) => bootstrapAdmin(tx, 'first-admin-secret-1')), undefined);
  assert.equal((await getSetting<SecuritySettings>(db.db, SECURITY_SETTING_KEY))?.requireAdminMfa, false);
});
