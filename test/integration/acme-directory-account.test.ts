/**
 * getAcmeDirectoryWithAccount on a real PostgreSQL: one statement gives the directory and its account
 * as their own repositories do, with no account before the first registration.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { findAcmeAccount, insertAcmeAccountOnce } from '../../activities/db/repositories/acme-accounts';
import { getAcmeDirectory, getAcmeDirectoryWithAccount } from '../../activities/db/repositories/acme-directories';
import { createTestDatabase, type TestDatabase } from '../support/db';

let test: TestDatabase;
before(async () => {
  test = await createTestDatabase();
});
after(async () => {
  await test?.drop();
});

it('reads a directory with its account, none before registration, nothing for an unknown id', async () => {
  const [row] = await test.db.query<{ id: string }>('SELECT id::text AS id FROM acme_directories ORDER BY id LIMIT 1');
  const id = row?.id ?? '';
  const before = await getAcmeDirectoryWithAccount(test.db, id);
  assert.deepEqual(before.directory, await getAcmeDirectory(test.db, id));
  assert.equal(before.account, undefined);

  await insertAcmeAccountOnce(test.db, { directoryId: id, email: 'ops@msp.example', keySealed: 'sealed-key' });
  const after = await getAcmeDirectoryWithAccount(test.db, id);
  assert.deepEqual(after.directory, await getAcmeDirectory(test.db, id));
  assert.deepEqual(after.account, await findAcmeAccount(test.db, id));

  assert.deepEqual(await getAcmeDirectoryWithAccount(test.db, '999999'), { directory: undefined, account: undefined });
  assert.deepEqual(await getAcmeDirectoryWithAccount(test.db, 'x'), { directory: undefined, account: undefined });
});
