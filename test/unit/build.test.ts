import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDist, type BuildResult } from '../../scripts/build';
import { COMPILED_DIR, PROCESS_COMMANDS } from '../../scripts/processes';

const ROOT = path.join(__dirname, '..', '..');

describe('npm run build (scripts/build.ts)', () => {
  let dir = '';
  let result: BuildResult = { compiled: [], copied: [] };
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-build-test-'));
    result = await buildDist(ROOT, path.join(dir, COMPILED_DIR));
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('compiles the file of every process command, and none of the tests or benchmarks', () => {
    for (const command of Object.values(PROCESS_COMMANDS))
      assert.ok(existsSync(path.join(dir, command.at(-1) ?? '')), command.join(' '));
    assert.ok(result.compiled.includes('workflows/index.ts'), 'the workflows, for a worker without a prebuilt bundle');
    assert.ok(!result.compiled.some((f) => /^(test|bench)\//.test(f)));
  });

  it('copies the files read next to the code at run time', () => {
    for (const file of [
      'activities/db/migrations/0001_init.sql',
      'activities/alerts/templates',
      'web/views/layouts/main.hbs',
      'web/openapi.yaml',
      'web/data/common-passwords.txt',
      'web/public',
    ])
      assert.ok(existsSync(path.join(dir, COMPILED_DIR, file)), file);
  });

  it('runs without TypeScript: each process loads its modules and reaches its own checks', () => {
    const run = (args: string[], env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, args, { cwd: dir, env: { PATH: process.env['PATH'], ...env }, encoding: 'utf8' });
    const migrate = run([...PROCESS_COMMANDS.migrations.slice(1)], {});
    assert.equal(migrate.status, 1);
    assert.match(migrate.stderr, /DATABASE_URL is required/);
    // The web and the worker load every module they import before reading their configuration.
    const loaded = run(
      ['-e', `require('./${COMPILED_DIR}/web/app'); require('./${COMPILED_DIR}/worker/main'); console.log('loaded')`],
      {},
    );
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.match(loaded.stdout, /loaded/);
  });
});
