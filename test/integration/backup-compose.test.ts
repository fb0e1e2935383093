/**
 * The compose path of `npm run backup` / `npm run restore` (docs/backup-restore.md), with no Docker engine:
 * a fake `docker` CLI (test/fakes/docker-compose/docker, as strict as the commands it answers) on PATH runs
 * the dumps with this machine's PostgreSQL tools against the real server. Checked: the writers are stopped
 * before the first dump and started again (in reverse) after the last, even when a dump fails; every tool
 * runs through `exec -T postgres … -U postgres` (a TTY exec fails on a pipe); the dumps hold the data; and
 * `--compose-owners` restores them owned by compose's roles (certfleet, temporal) on a fresh server.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { databaseNameArgs } from '../support/backup-args';
import { createEmptyTestDatabase, type TestDatabase } from '../support/db';
import { freePortBelow } from '../support/free-port';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';

const ROOT = path.join(__dirname, '..', '..');
/** Every compose service that connects to PostgreSQL or to Temporal (docker-compose.yml), and the order back. */
const STOP = 'compose stop worker web temporal-ui temporal';
const START = 'compose start temporal temporal-ui web worker';
const FAKE_DOCKER_DIR = path.join(ROOT, 'test', 'fakes', 'docker-compose');

let tmp: string;
let log: string;
const sources: TestDatabase[] = [];
let fresh: PrivatePostgres | undefined;
let pgDir: string | undefined;

function run(script: 'backup' | 'restore', args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${FAKE_DOCKER_DIR}:${process.env['PATH'] ?? ''}`,
      CERTFLEET_MASTER_KEY: randomBytes(32).toString('base64'),
      FAKE_DOCKER_LOG: log,
      FAKE_DOCKER_STATE: path.join(tmp, 'stopped-services'),
      ...env,
    },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

const dbName = (db: TestDatabase): string => new URL(db.url).pathname.slice(1);
const calls = async (): Promise<string[]> => (await readFile(log, 'utf8')).trim().split('\n');

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'certfleet-backup-compose-'));
  log = path.join(tmp, 'docker-calls');
  for (const part of ['certfleet', 'temporal', 'temporal_visibility']) {
    const db = await createEmptyTestDatabase();
    await db.db.query('CREATE TABLE rows_of_part (part text)');
    await db.db.query('INSERT INTO rows_of_part VALUES ($1)', [part]);
    await db.db.close();
    sources.push(db);
  }
});
after(async () => {
  await fresh?.stop();
  if (pgDir) await rm(pgDir, { recursive: true, force: true });
  for (const db of sources) await db.drop();
  await rm(tmp, { recursive: true, force: true });
});

it('stops the writers, dumps the three databases through `docker compose exec -T postgres`, starts them again', async () => {
  const out = path.join(tmp, 'backup');
  const r = run('backup', ['--compose', '--out', out, ...databaseNameArgs(sources.map(dbName))]);
  assert.equal(r.code, 0, r.out);
  const [certfleet, temporal, visibility] = sources.map(dbName);
  const dump = (db: string | undefined) =>
    `compose exec -T postgres pg_dump -U postgres --format=custom --no-password ${db}`;
  assert.deepEqual(await calls(), [STOP, dump(temporal), dump(visibility), dump(certfleet), START]);
  const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as { quiesced: boolean };
  assert.equal(manifest.quiesced, true);
  const listing = execFileSync('pg_restore', ['--list', path.join(out, 'certfleet.dump')], { encoding: 'utf8' });
  assert.match(listing, /TABLE DATA public rows_of_part/);
});

it('starts the writers again when a dump fails, and fails naming the tool', async () => {
  await rm(log, { force: true });
  const r = run('backup', [
    '--compose',
    '--out',
    path.join(tmp, 'failed'),
    ...databaseNameArgs(['no_such_db', 'b', 'c']),
  ]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /pg_dump|docker compose/);
  const seen = await calls();
  assert.equal(seen[0], STOP);
  assert.equal(seen.at(-1), START);
  assert.equal((await readFile(path.join(tmp, 'stopped-services'), 'utf8')).trim(), '', 'no service left stopped');
});

it('--online dumps without stopping anything', async () => {
  await rm(log, { force: true });
  const r = run('backup', [
    '--compose',
    '--online',
    '--out',
    path.join(tmp, 'online'),
    ...databaseNameArgs(sources.map(dbName)),
  ]);
  assert.equal(r.code, 0, r.out);
  assert.equal((await calls()).filter((c) => /^compose (stop|start)/.test(c)).length, 0);
  assert.match(r.out, /taken online/);
});

it('--compose-owners restores onto a fresh server owned by the roles compose creates', async () => {
  const port = await freePortBelow(32768);
  // Its own directory: the server runs as the postgres user, which cannot enter the test's 0700 one.
  pgDir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-backup-compose-pg-'));
  const server = await startPrivatePostgres(pgDir, port);
  fresh = server;
  // What compose's postgres-init does on a fresh volume (docker-compose.yml, configs.postgres-init).
  execFileSync('psql', [server.adminUrl, '-qc', 'CREATE ROLE certfleet LOGIN; CREATE ROLE temporal LOGIN CREATEDB;']);
  const r = run('restore', ['--from', path.join(tmp, 'backup'), '--compose-owners'], {
    RESTORE_POSTGRES_URL: server.adminUrl,
  });
  assert.equal(r.code, 0, r.out);
  const owners = execFileSync(
    'psql',
    [
      server.adminUrl,
      '-tAc',
      "SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('certfleet','temporal','temporal_visibility') ORDER BY 1",
    ],
    { encoding: 'utf8' },
  );
  assert.deepEqual(owners.trim().split('\n'), [
    'certfleet:certfleet',
    'temporal:temporal',
    'temporal_visibility:temporal',
  ]);
  for (const [db, owner, part] of [
    ['certfleet', 'certfleet', 'certfleet'],
    ['temporal', 'temporal', 'temporal'],
    ['temporal_visibility', 'temporal', 'temporal_visibility'],
  ] as const) {
    const url = new URL(server.adminUrl);
    url.pathname = `/${db}`;
    const row = execFileSync(
      'psql',
      [
        url.toString(),
        '-tAc',
        "SELECT tableowner || ':' || (SELECT part FROM rows_of_part) FROM pg_tables WHERE tablename = 'rows_of_part'",
      ],
      { encoding: 'utf8' },
    );
    assert.equal(row.trim(), `${owner}:${part}`);
  }
});
