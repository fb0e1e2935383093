/**
 * `npm run backup` / `npm run restore` as commands, against the real PostgreSQL: three databases
 * dumped and restored under other names, refusals (a connected stack, a damaged file, a database that
 * already has tables, a data directory in use), and the master key kept out of every file.
 * The restore onto a fresh Temporal server with runs in flight is test/integration/backup-restore.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { databaseNameArgs } from '../support/backup-args';
import { createEmptyTestDatabase, type TestDatabase } from '../support/db';

const ROOT = path.join(__dirname, '..', '..');
const ADMIN_URL = process.env['TEST_DATABASE_ADMIN_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';
const KEY = randomBytes(32).toString('base64');

function run(script: 'backup' | 'restore', args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CERTFLEET_MASTER_KEY: KEY, ...env },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

let tmp: string;
const created: TestDatabase[] = [];
const names = (dbs: TestDatabase[]): string[] => dbs.map((d) => new URL(d.url).pathname.slice(1));

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'certfleet-backup-'));
});
after(async () => {
  for (const db of created) await db.drop();
  await rm(tmp, { recursive: true, force: true });
});

describe('backup and restore of the three databases', () => {
  let sources: TestDatabase[];
  before(async () => {
    sources = [await createEmptyTestDatabase(), await createEmptyTestDatabase(), await createEmptyTestDatabase()];
    created.push(...sources);
    for (const [i, db] of sources.entries()) {
      await db.db.query('CREATE TABLE rows_of_part (part int, note text)');
      await db.db.query('INSERT INTO rows_of_part VALUES ($1, $2)', [i, `part ${i}`]);
    }
  });

  it('refuses while other clients are connected (the stack runs), naming them', () => {
    // The test databases' pools are open: that is a running stack to the script.
    const r = run('backup', ['--out', path.join(tmp, 'refused'), ...databaseNameArgs(names(sources))], {
      BACKUP_POSTGRES_URL: ADMIN_URL,
    });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /the stack is running/);
    assert.equal(existsSync(path.join(tmp, 'refused', 'manifest.json')), false);
  });

  it('dumps all three once quiesced, restores them under new names, and refuses to restore over data', async () => {
    for (const db of sources) await db.db.close();
    const out = path.join(tmp, 'dumps');
    const b = run('backup', ['--out', out, ...databaseNameArgs(names(sources))], { BACKUP_POSTGRES_URL: ADMIN_URL });
    assert.equal(b.code, 0, b.out);
    assert.match(b.out, /master key is NOT in it/);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as {
      quiesced: boolean;
      files: { part: string }[];
      masterKey: string;
    };
    assert.equal(manifest.quiesced, true);
    assert.deepEqual(
      manifest.files.map((f) => f.part),
      ['temporal', 'temporal_visibility', 'certfleet'],
    );
    assert.match(manifest.masterKey, /^not included/);
    for (const f of ['manifest.json', 'certfleet.dump', 'temporal.dump', 'temporal_visibility.dump'])
      assert.equal((await readFile(path.join(out, f))).includes(Buffer.from(KEY)), false, f);

    const targets = [await createEmptyTestDatabase(), await createEmptyTestDatabase(), await createEmptyTestDatabase()];
    created.push(...targets);
    for (const db of targets) await db.db.close();
    const r = run('restore', ['--from', out, ...databaseNameArgs(names(targets))], { RESTORE_POSTGRES_URL: ADMIN_URL });
    assert.equal(r.code, 0, r.out);
    for (const [i, url] of targets.map((t) => t.url).entries()) {
      const rows = execFileSync('psql', [url, '-tAc', 'SELECT part, note FROM rows_of_part'], { encoding: 'utf8' });
      assert.equal(rows.trim(), `${i}|part ${i}`);
    }
    const again = run('restore', ['--from', out, ...databaseNameArgs(names(targets))], {
      RESTORE_POSTGRES_URL: ADMIN_URL,
    });
    assert.equal(again.code, 1, again.out);
    assert.match(again.out, /already has tables/);
  });

  it('refuses a damaged backup before restoring anything', async () => {
    const out = path.join(tmp, 'dumps');
    const dump = path.join(out, 'certfleet.dump');
    const original = await readFile(dump);
    await writeFile(dump, Buffer.concat([original, Buffer.from('x')]));
    try {
      const r = run('restore', ['--from', out, ...databaseNameArgs(['never_a', 'never_b', 'never_c'])], {
        RESTORE_POSTGRES_URL: ADMIN_URL,
      });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /certfleet\.dump is missing or damaged/);
      const exists = execFileSync(
        'psql',
        [ADMIN_URL, '-tAc', "SELECT count(*) FROM pg_database WHERE datname = 'never_a'"],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(exists.trim(), '0');
    } finally {
      await writeFile(dump, original);
    }
  });
});

describe("backup of npm start's data directory", () => {
  let dataDir: string;
  before(async () => {
    dataDir = path.join(tmp, 'data');
    await mkdir(path.join(dataDir, 'postgres'), { recursive: true });
    await writeFile(path.join(dataDir, 'postgres', 'PG_VERSION'), '18\n');
    await writeFile(path.join(dataDir, 'temporal.sqlite'), 'sqlite bytes');
    await writeFile(path.join(dataDir, 'master.key'), `${KEY}\n`, { mode: 0o600 });
  });

  it('refuses while its PostgreSQL runs', async () => {
    await writeFile(path.join(dataDir, 'postgres', 'postmaster.pid'), `${process.pid}\n${dataDir}\n`);
    try {
      const r = run('backup', ['--data-dir', dataDir, '--out', path.join(tmp, 'running')], {
        CERTFLEET_MASTER_KEY: '',
      });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /stop npm start/);
    } finally {
      await rm(path.join(dataDir, 'postgres', 'postmaster.pid'));
    }
  });

  it('refuses a backup directory that holds the key file, or one inside the data directory', () => {
    const beside = run('backup', ['--data-dir', dataDir, '--out', dataDir], { CERTFLEET_MASTER_KEY: '' });
    assert.equal(beside.code, 1, beside.out);
    assert.match(beside.out, /holds the master key file/);
    const inside = run('backup', ['--data-dir', dataDir, '--out', path.join(dataDir, 'backups')], {
      CERTFLEET_MASTER_KEY: '',
    });
    assert.equal(inside.code, 1, inside.out);
    assert.match(inside.out, /inside/);
  });

  it('archives everything but the master key, and restores it into a new directory only', async () => {
    const out = path.join(tmp, 'data-backup');
    const b = run('backup', ['--data-dir', dataDir, '--out', out], { CERTFLEET_MASTER_KEY: '' });
    assert.equal(b.code, 0, b.out);
    const listing = execFileSync('tar', ['-tzf', path.join(out, 'data-dir.tar.gz')], { encoding: 'utf8' });
    assert.match(listing, /temporal\.sqlite/);
    assert.doesNotMatch(listing, /master\.key/);
    const restored = path.join(tmp, 'restored-data');
    const r = run('restore', ['--from', out, '--data-dir', restored]);
    assert.equal(r.code, 0, r.out);
    assert.equal(await readFile(path.join(restored, 'temporal.sqlite'), 'utf8'), 'sqlite bytes');
    assert.equal(existsSync(path.join(restored, 'master.key')), false);
    const again = run('restore', ['--from', out, '--data-dir', restored]);
    assert.equal(again.code, 1, again.out);
    assert.match(again.out, /not empty/);
  });

  it('deletes an archive that carries the key in any other file, and fails', async () => {
    const leaky = path.join(tmp, 'leaky-data');
    await mkdir(path.join(leaky, 'postgres'), { recursive: true });
    await writeFile(path.join(leaky, 'postgres', 'PG_VERSION'), '18\n');
    await writeFile(path.join(leaky, 'notes.txt'), `the key, pasted: ${KEY}\n`);
    const out = path.join(tmp, 'leaky-backup');
    const r = run('backup', ['--data-dir', leaky, '--out', out]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /contains the master key/);
    assert.equal(existsSync(path.join(out, 'data-dir.tar.gz')), false);
    assert.equal(existsSync(path.join(out, 'manifest.json')), false);
  });
});
