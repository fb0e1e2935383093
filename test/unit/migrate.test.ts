/**
 * The SQL migrator and the schema's guarantees, against real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../../activities/db/migrate';
import { createEmptyTestDatabase, createTestDatabase, type TestDatabase } from '../support/db';

const MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'activities', 'db', 'migrations');

async function migrationFiles(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
}

describe('migrate', () => {
  const dbs: TestDatabase[] = [];
  after(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('applies every migration on an empty database, then nothing the second time', async () => {
    const t = await createEmptyTestDatabase();
    dbs.push(t);
    const files = await migrationFiles();
    assert.ok(files.length > 0);
    assert.deepEqual(await migrate(t.db), files);
    assert.deepEqual(await migrate(t.db), []);
    const versions = await t.db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      versions.map((v) => v.version),
      files,
    );
    const tables = await t.db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    for (const table of ['audit_log', 'certificates', 'settings', 'users', 'web_sessions']) {
      assert.ok(
        tables.some((r) => r.table_name === table),
        `table ${table} missing`,
      );
    }
  });

  it('two migrators at once: the migrations are applied exactly once', async () => {
    const t = await createEmptyTestDatabase();
    dbs.push(t);
    const files = await migrationFiles();
    const [a, b] = await Promise.all([migrate(t.db), migrate(t.db)]);
    assert.deepEqual([...(a ?? []), ...(b ?? [])].sort(), files);
    const count = await t.db.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    assert.equal(Number(count[0]?.n), files.length);
  });

  it('a database cloned from the template is already up to date', async () => {
    const t = await createTestDatabase();
    dbs.push(t);
    assert.deepEqual(await migrate(t.db), []);
  });

  it('a failing migration is rolled back entirely and not recorded', async () => {
    const t = await createEmptyTestDatabase();
    dbs.push(t);
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-migrations-'));
    try {
      await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE first_table (id int);');
      await writeFile(path.join(dir, '0002_bad.sql'), 'CREATE TABLE second_table (id int); SELECT no_such_function();');
      await writeFile(path.join(dir, 'README.md'), 'not a migration');
      await assert.rejects(migrate(t.db, dir), /no_such_function/);
      const tables = await t.db.query<{ n: string }>(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN ('first_table', 'second_table', 'schema_migrations')",
      );
      assert.equal(Number(tables[0]?.n), 0, 'the whole run is one transaction');
      await writeFile(path.join(dir, '0002_bad.sql'), 'CREATE TABLE second_table (id int);');
      assert.deepEqual(await migrate(t.db, dir), ['0001_ok.sql', '0002_bad.sql']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('audit_log is append-only', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.drop();
  });

  it('accepts INSERT, refuses UPDATE, DELETE and TRUNCATE', async () => {
    await t.db.query(
      "INSERT INTO audit_log (actor, action, entity_type, entity_id, after) VALUES ('alice', 'certificate.create', 'certificate', '1', '{\"name\":\"www.example.com\"}')",
    );
    await assert.rejects(t.db.query("UPDATE audit_log SET actor = 'mallory'"), /audit_log is append-only/);
    await assert.rejects(t.db.query('DELETE FROM audit_log'), /audit_log is append-only/);
    await assert.rejects(t.db.query('TRUNCATE audit_log'), /audit_log is append-only/);
    const rows = await t.db.query<{ actor: string; action: string }>('SELECT actor, action FROM audit_log');
    assert.deepEqual(rows, [{ actor: 'alice', action: 'certificate.create' }]);
  });
});
