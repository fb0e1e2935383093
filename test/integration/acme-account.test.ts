/**
 * One ACME account per directory on a real Pebble: registrations racing each other (several new
 * certificates at once on a new directory) and a retry after a registration whose URL was not saved
 * both end with the one account, not a failed run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { acmeClientForDirectory } from '../../activities/acme/accounts';
import { createSecretBox } from '../../activities/crypto/secret-box';
import { upsertAcmeDirectory } from '../../activities/db/repositories/acme-directories';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startPebble, type PebbleStack } from '../support/pebble';

let t: TestDatabase;
let pebble: PebbleStack;
const box = createSecretBox(randomBytes(32));
const settings = { backoffMinMs: 100, backoffMaxMs: 500, backoffAttempts: 10 };

before(async () => {
  [t, pebble] = await Promise.all([createTestDatabase(), startPebble()]);
});
after(async () => {
  await Promise.all([t?.drop(), pebble?.stop()]);
});

it('registrations racing on a new directory all get the one account', async () => {
  const directory = await upsertAcmeDirectory(t.db, {
    name: 'Pebble race',
    url: pebble.directoryUrl,
    caBundlePem: pebble.caBundlePem,
  });
  const clients = await Promise.all(
    Array.from({ length: 6 }, () => acmeClientForDirectory(t.db, box, settings, directory.id)),
  );
  const urls = new Set(clients.map((c) => c.getAccountUrl()));
  assert.equal(urls.size, 1, 'one account URL');
  const rows = await t.db.query<{ account_url: string }>(
    'SELECT account_url FROM acme_accounts WHERE directory_id = $1',
    [directory.id],
  );
  assert.deepEqual(
    rows.map((r) => r.account_url),
    [...urls],
  );
});

it('a retry after a registration whose URL was lost finds the account again', async () => {
  const directory = (
    await t.db.query<{ id: string }>('SELECT id FROM acme_directories WHERE name = $1', ['Pebble race'])
  )[0];
  const [before] = await t.db.query<{ account_url: string }>(
    'SELECT account_url FROM acme_accounts WHERE directory_id = $1',
    [directory?.id],
  );
  await t.db.query('UPDATE acme_accounts SET account_url = NULL WHERE directory_id = $1', [directory?.id]);
  const client = await acmeClientForDirectory(t.db, box, settings, directory?.id as string);
  assert.equal(client.getAccountUrl(), before?.account_url);
  const [after] = await t.db.query<{ account_url: string }>(
    'SELECT account_url FROM acme_accounts WHERE directory_id = $1',
    [directory?.id],
  );
  assert.equal(after?.account_url, before?.account_url);
});
