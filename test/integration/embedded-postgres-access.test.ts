/**
 * `npm start` as root runs its embedded PostgreSQL as the `postgres` user. From a directory that user
 * cannot enter, the server never started and the start-up waited for good; now it says why at once.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres';
import { freePort } from '../support/free-port';

const asRoot = process.getuid?.() === 0;
let closed: string;

before(async () => {
  closed = await mkdtemp(path.join(os.tmpdir(), 'certfleet-closed-'));
  await chmod(closed, 0o700);
  await mkdir(path.join(closed, 'data'));
});
after(async () => {
  if (closed) await rm(closed, { recursive: true, force: true });
});

describe('embedded PostgreSQL as root', { skip: asRoot ? false : 'only root runs PostgreSQL as another user' }, () => {
  it('refuses a data directory the postgres user cannot reach, naming it and what to do', async () => {
    const started = Date.now();
    const dataDir = path.join(closed, 'data');
    await assert.rejects(
      startEmbeddedPostgres(dataDir, await freePort(), () => undefined),
      (error: Error) => {
        assert.match(error.message, /"postgres" user/);
        assert.ok(error.message.includes(dataDir), error.message);
        assert.match(error.message, /chmod o\+x|DATABASE_URL/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 10_000, 'it fails at once');
  });
});
