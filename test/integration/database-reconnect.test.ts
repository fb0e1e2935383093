/**
 * The worker's database calls wait for a PostgreSQL that is restarting (connectRetryMs) instead of
 * failing at once, and only while it cannot be reached: a private server (Debian's binaries) is
 * stopped and started under a pool.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDatabase, isDatabaseUnreachable, type Database } from '../../activities/db/pool';
import { freePort } from '../support/free-port';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';

let dir: string;
let postgres: PrivatePostgres;
const opened: Database[] = [];
const open = (options: { connectRetryMs?: number; database?: string } = {}): Database => {
  const url = new URL(postgres.adminUrl);
  if (options.database) url.pathname = `/${options.database}`;
  const db = createDatabase({
    connectionString: url.toString(),
    max: 2,
    ...(options.connectRetryMs === undefined ? {} : { connectRetryMs: options.connectRetryMs }),
  });
  opened.push(db);
  return db;
};

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-db-reconnect-'));
  postgres = await startPrivatePostgres(dir, await freePort());
});
after(async () => {
  for (const db of opened) await db.close().catch(() => undefined);
  await postgres?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a database call while PostgreSQL restarts', () => {
  it('without connectRetryMs it fails at once, naming the refused connection', async () => {
    const db = open();
    await postgres.stop();
    try {
      const started = Date.now();
      await assert.rejects(
        db.query('SELECT 1'),
        (error: Error) => isDatabaseUnreachable(error) && /ECONNREFUSED/.test(error.message),
      );
      assert.ok(Date.now() - started < 2_000);
    } finally {
      await postgres.start();
    }
  });

  it('with connectRetryMs a query and a transaction wait for the server and then succeed', async () => {
    const db = open({ connectRetryMs: 20_000 });
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
    await postgres.stop();
    const started = Date.now();
    const query = db.query<{ two: number }>('SELECT 2 AS two');
    const transaction = db.withTransaction((tx) => tx.query<{ three: number }>('SELECT 3 AS three'));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await postgres.start();
    assert.deepEqual(await query, [{ two: 2 }]);
    assert.deepEqual(await transaction, [{ three: 3 }]);
    assert.ok(Date.now() - started >= 1_500, 'they waited for the restart');
  });

  it('gives up when the server stays away longer than connectRetryMs', async () => {
    const db = open({ connectRetryMs: 1_000 });
    await postgres.stop();
    try {
      const started = Date.now();
      await assert.rejects(db.query('SELECT 1'), (error: Error) => isDatabaseUnreachable(error));
      const waited = Date.now() - started;
      assert.ok(waited >= 500 && waited < 5_000, `waited ${waited} ms`);
    } finally {
      await postgres.start();
    }
  });

  it('a connection lost inside a transaction fails that transaction, not the process', async () => {
    // Before the fix, PostgreSQL's FATAL 57P01 reached a checked-out client with no 'error'
    // listener: an unhandled 'error' event ended the worker process.
    const db = open();
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => (proceed = resolve));
    let begun!: () => void;
    const inTransaction = new Promise<void>((resolve) => (begun = resolve));
    const transaction = db.withTransaction(async (tx) => {
      await tx.query('SELECT 1');
      begun();
      await gate;
      return tx.query('SELECT 2');
    });
    await inTransaction;
    await postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    proceed();
    await assert.rejects(transaction, (error: Error) => /terminat|not queryable|ECONNREFUSED/i.test(error.message));
    await postgres.start();
    assert.deepEqual(await db.query('SELECT 5 AS five'), [{ five: 5 }]);
  });

  it('does not wait on errors that another try cannot fix (a missing database, a bad statement)', async () => {
    const missing = open({ connectRetryMs: 20_000, database: 'no_such_database' });
    let started = Date.now();
    await assert.rejects(
      missing.query('SELECT 1'),
      (error: Error) => !isDatabaseUnreachable(error) && /no_such_database/.test(error.message),
    );
    assert.ok(Date.now() - started < 2_000);
    const db = open({ connectRetryMs: 20_000 });
    started = Date.now();
    await assert.rejects(db.query('SELECT * FROM no_such_table'), /no_such_table/);
    assert.ok(Date.now() - started < 2_000);
    // The pool still works after a failed statement.
    assert.deepEqual(await db.query('SELECT 4 AS four'), [{ four: 4 }]);
  });
});
