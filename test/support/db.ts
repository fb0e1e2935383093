/**
 * A fresh PostgreSQL database per test file, cloned from a template migrated once (graphile/worker style).
 *
 * - Admin connection: TEST_DATABASE_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres.
 * - Template: certfleet_template_<sha256 of the migration files' names and contents>, built once per
 *   process. Building it is serialised across processes with a session advisory lock, and it is built
 *   under a temporary name and renamed when complete, so a crashed build never leaves a half-migrated
 *   template behind.
 * - Each call: CREATE DATABASE certfleet_test_<random> TEMPLATE <template>; drop() closes the pool and
 *   drops the database WITH (FORCE).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { migrate } from '../../activities/db/migrate';
import { createDatabase, type Database } from '../../activities/db/pool';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'activities', 'db', 'migrations');
/** Arbitrary constant for pg_advisory_lock: "cftt" (CertFleet test template). */
const TEMPLATE_LOCK_KEY = 0x6366_7474;

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  db: Database;
  /** Closes the pool and drops the database (idempotent). */
  drop: () => Promise<void>;
}

function adminUrl(): string {
  return process.env['TEST_DATABASE_ADMIN_URL'] || DEFAULT_ADMIN_URL;
}

function urlFor(database: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

/** Identifiers built here are [a-z0-9_] only, so double quotes are enough. */
function ident(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`test/support/db: unsafe database name ${name}`);
  return `"${name}"`;
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl(), application_name: 'certfleet-test-admin' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function migrationsHash(): Promise<string> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(path.join(MIGRATIONS_DIR, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function databaseExists(client: Client, name: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (result.rowCount ?? 0) > 0;
}

async function buildTemplate(): Promise<string> {
  const template = `certfleet_template_${await migrationsHash()}`;
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      if (await databaseExists(admin, template)) return;
      const building = `${template}_build_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${ident(building)}`);
      try {
        const db = createDatabase({
          connectionString: urlFor(building),
          max: 2,
          applicationName: 'certfleet-test-migrate',
        });
        try {
          await migrate(db);
        } finally {
          await db.close();
        }
        await admin.query(`ALTER DATABASE ${ident(building)} RENAME TO ${ident(template)}`);
      } catch (error) {
        await admin.query(`DROP DATABASE IF EXISTS ${ident(building)} WITH (FORCE)`).catch(() => undefined);
        throw error;
      }
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]).catch(() => undefined);
    }
  });
  return template;
}

let templatePromise: Promise<string> | undefined;

function templateDatabase(): Promise<string> {
  templatePromise ??= buildTemplate().catch((error: unknown) => {
    templatePromise = undefined;
    throw error;
  });
  return templatePromise;
}

async function newDatabase(template: string | undefined): Promise<TestDatabase> {
  const name = `certfleet_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    await admin.query(
      template ? `CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}` : `CREATE DATABASE ${ident(name)}`,
    );
  });
  const url = urlFor(name);
  const db = createDatabase({ connectionString: url, max: 5, applicationName: 'certfleet-test' });
  let dropping: Promise<void> | undefined;
  return {
    url,
    db,
    drop() {
      dropping ??= (async () => {
        await db.close().catch(() => undefined);
        await withAdmin(async (admin) => {
          await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
        });
      })();
      return dropping;
    },
  };
}

/** A fresh, fully migrated database cloned from the template. Call drop() in `after`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return newDatabase(await templateDatabase());
}

/** A fresh, empty database (no migrations applied), for testing the migrator itself. */
export async function createEmptyTestDatabase(): Promise<TestDatabase> {
  return newDatabase(undefined);
}
