/**
 * loadMasterKey against a real PostgreSQL database (fresh per file, cloned from the migrated template).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { QueryResultRow } from 'pg';
import { loadMasterKey, MasterKeyError } from '../../activities/crypto/master-key';
import { createSecretBox, SecretPurpose } from '../../activities/crypto/secret-box';
import type { Queryable } from '../../activities/db/pool';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { rejection } from '../support/assertions';

let testDb: TestDatabase;
let tmp: string;
let keyFile: string;

before(async () => {
  testDb = await createTestDatabase();
});

after(async () => {
  await testDb?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  // every test starts from a database that has never seen a master key, and no key file
  await testDb.db.query("DELETE FROM settings WHERE key = 'master_key_check'");
  if (tmp) await rm(tmp, { recursive: true, force: true });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'certfleet-master-key-'));
  keyFile = path.join(tmp, 'data', 'master.key');
});

async function checkRow(): Promise<string | undefined> {
  const rows = await testDb.db.query<{ value: string }>(
    "SELECT value #>> '{}' AS value FROM settings WHERE key = 'master_key_check'",
  );
  return rows[0]?.value;
}

/**
 * `n` Queryables on the test database whose first SELECT each waits until all `n` first SELECTs have
 * been answered: a deterministic stand-in for `n` processes starting at the same moment.
 */
function simultaneousStarts(n: number): Queryable[] {
  let arrived = 0;
  let release: () => void = () => undefined;
  const allArrived = new Promise<void>((resolve) => {
    release = resolve;
  });
  return Array.from({ length: n }, () => {
    let first = true;
    return {
      async query<Row extends QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
        const rows = await testDb.db.query<Row>(sql, params);
        if (first && /^\s*SELECT/i.test(sql)) {
          first = false;
          arrived += 1;
          if (arrived === n) release();
          await allArrived;
        }
        return rows;
      },
    };
  });
}

async function masterKeyError(promise: Promise<unknown>): Promise<MasterKeyError> {
  const caught = await rejection(promise, MasterKeyError);
  assert.equal(caught.name, 'MasterKeyError');
  return caught;
}

describe('loadMasterKey', () => {
  it('first start without env or key file creates a 0600 key file and a check row', async () => {
    assert.equal(await checkRow(), undefined);
    const box = await loadMasterKey({ envValue: undefined, keyFile }, testDb.db);
    const info = await stat(keyFile);
    assert.equal(info.mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(keyFile))).mode & 0o777, 0o700);
    const key = Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'base64');
    assert.equal(key.length, 32);
    const check = await checkRow();
    assert.ok(check, 'no master_key_check row');
    assert.match(check, /^v1\./);
    // the check row is sealed with the key in the file, and the returned box uses that key
    assert.equal(createSecretBox(key).openText(check, SecretPurpose.masterKeyCheck), 'certfleet-master-key-check');
    assert.equal(createSecretBox(key).openText(box.seal('x', 'p'), 'p'), 'x');
  });

  it('second start with the same key file works and uses the same key', async () => {
    const first = await loadMasterKey({ keyFile }, testDb.db);
    const sealed = first.seal('dns token', SecretPurpose.dnsProviderToken);
    const fileBefore = await readFile(keyFile, 'utf8');
    const checkBefore = await checkRow();
    const second = await loadMasterKey({ envValue: '', keyFile }, testDb.db);
    assert.equal(second.openText(sealed, SecretPurpose.dnsProviderToken), 'dns token');
    assert.equal(await readFile(keyFile, 'utf8'), fileBefore);
    assert.equal(await checkRow(), checkBefore);
  });

  it('the env key wins over the key file, as 64 hex characters or base64', async () => {
    const key = randomBytes(32);
    const box = await loadMasterKey({ envValue: key.toString('hex'), keyFile }, testDb.db);
    assert.equal(existsSync(keyFile), false, 'no key file is written when the env var is set');
    const again = await loadMasterKey({ envValue: `  ${key.toString('base64')}\n`, keyFile }, testDb.db);
    assert.equal(again.openText(box.seal('s', 'p'), 'p'), 's');
    assert.equal(createSecretBox(key).openText(box.seal('s', 'p'), 'p'), 's');
  });

  it('a different env key: MasterKeyError "wrong master key"', async () => {
    await loadMasterKey({ keyFile }, testDb.db);
    const error = await masterKeyError(
      loadMasterKey({ envValue: randomBytes(32).toString('base64'), keyFile }, testDb.db),
    );
    assert.match(error.message, /wrong master key/);
  });

  it('a different key file: MasterKeyError "wrong master key"', async () => {
    await loadMasterKey({ keyFile }, testDb.db);
    await writeFile(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    const error = await masterKeyError(loadMasterKey({ keyFile }, testDb.db));
    assert.match(error.message, /wrong master key/);
  });

  it('key file deleted after the first start: MasterKeyError "no master key", and no new file', async () => {
    await loadMasterKey({ keyFile }, testDb.db);
    const checkBefore = await checkRow();
    await unlink(keyFile);
    const error = await masterKeyError(loadMasterKey({ keyFile }, testDb.db));
    assert.match(error.message, /no master key/);
    assert.ok(error.message.includes(keyFile), error.message);
    assert.equal(existsSync(keyFile), false, 'a new key file was created');
    assert.equal(await checkRow(), checkBefore);
  });

  it('no env key and a key file that cannot be created (read-only file system): a MasterKeyError that says to set CERTFLEET_MASTER_KEY', async () => {
    // /sys refuses new files even to root, as a read-only container file system does.
    const error = await rejection(
      loadMasterKey({ envValue: undefined, keyFile: '/sys/kernel/certfleet-test/master.key' }, testDb.db),
      MasterKeyError,
    );
    assert.match(
      error.message,
      /CERTFLEET_MASTER_KEY is not set and the key file \/sys\/kernel\/certfleet-test\/master\.key cannot be created \(E[A-Z]+\)\. Set CERTFLEET_MASTER_KEY/,
    );
    assert.equal(await checkRow(), undefined, 'nothing recorded');
  });

  it('a key file readable by others (0644) is refused', async () => {
    await loadMasterKey({ keyFile }, testDb.db);
    await chmod(keyFile, 0o644);
    const error = await masterKeyError(loadMasterKey({ keyFile }, testDb.db));
    assert.match(error.message, /readable by other users/);
    assert.ok(error.message.includes(`chmod 600 ${keyFile}`));
  });

  it('a key file that is readable by others is refused even on first start', async () => {
    const loose = path.join(tmp, 'loose.key');
    await writeFile(loose, randomBytes(32).toString('base64'));
    await chmod(loose, 0o640);
    await masterKeyError(loadMasterKey({ keyFile: loose }, testDb.db));
    assert.equal(await checkRow(), undefined);
  });

  it('a malformed env key is refused without touching the database', async () => {
    for (const envValue of [
      'not-a-key',
      'abcd',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('hex'),
      'g'.repeat(64),
    ]) {
      const error = await masterKeyError(loadMasterKey({ envValue, keyFile }, testDb.db));
      assert.match(error.message, /CERTFLEET_MASTER_KEY is not a valid master key/, envValue);
      assert.ok(!error.message.includes(envValue), 'the message echoes the key');
    }
    assert.equal(await checkRow(), undefined);
    assert.equal(existsSync(keyFile), false);
  });

  it('a malformed key file is refused', async () => {
    await loadMasterKey({ keyFile }, testDb.db);
    await writeFile(keyFile, 'garbage\n', { mode: 0o600 });
    const error = await masterKeyError(loadMasterKey({ keyFile }, testDb.db));
    assert.match(error.message, /is not a valid master key/);
  });

  it('two first starts at once with separate key files never both succeed with different keys', async () => {
    // e.g. web and worker starting together on a fresh database, each with its own data directory
    const fileA = path.join(tmp, 'a', 'master.key');
    const fileB = path.join(tmp, 'b', 'master.key');
    // Each "process" gets its own connection wrapper; both first reads complete before either goes on,
    // which is what happens when two processes start at the same moment.
    const [dbA, dbB] = simultaneousStarts(2);
    assert.ok(dbA && dbB);
    const results = await Promise.allSettled([
      loadMasterKey({ keyFile: fileA }, dbA),
      loadMasterKey({ keyFile: fileB }, dbB),
    ]);
    const check = await checkRow();
    assert.ok(check);
    for (const [i, r] of results.entries()) {
      if (r.status !== 'fulfilled') continue;
      let opens = true;
      try {
        r.value.openText(check, SecretPurpose.masterKeyCheck);
      } catch {
        opens = false;
      }
      assert.ok(
        opens,
        `master-key.ts: start ${i === 0 ? 'A' : 'B'} resolved with a key that does not match the database's master_key_check row ` +
          '(the INSERT … ON CONFLICT DO NOTHING lost the race and the result was not re-checked); secrets it seals cannot be opened by the other process',
      );
    }
  });
});
