/**
 * Start-up with a wrong or missing master key is refused with a clear message, by the worker process
 * and by the web console, before either touches Temporal or serves anything. A worker that starts
 * says so in a few lines at the default log level: webpack's bundle report is debug output.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { loadMasterKey } from '../../activities/crypto/master-key';
import { startWeb } from '../../web/server';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually } from '../support/stack';
import { startTestTemporal } from '../support/temporal';

const ROOT = path.join(__dirname, '..', '..');
let database: TestDatabase;
let dir: string;
const rightKey = randomBytes(32).toString('base64');

before(async () => {
  database = await createTestDatabase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'certfleet-startup-'));
  await loadMasterKey({ envValue: rightKey, keyFile: path.join(dir, 'unused.key') }, database.db);
});
after(async () => {
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runWorker(env: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      CERTFLEET_DATA_DIR: dir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr };
}

it('the worker refuses a wrong master key', () => {
  const { status, stderr } = runWorker({ CERTFLEET_MASTER_KEY: randomBytes(32).toString('base64') });
  assert.equal(status, 1);
  assert.match(stderr, /wrong master key: it does not match the key this database was set up with/);
});

it('the worker refuses to start without the key once the database holds sealed secrets, and creates no new key', () => {
  const keyFile = path.join(dir, 'missing.key');
  const { status, stderr } = runWorker({ CERTFLEET_MASTER_KEY: '', CERTFLEET_MASTER_KEY_FILE: keyFile });
  assert.equal(status, 1);
  assert.match(stderr, /no master key: .*Restore the key file or set CERTFLEET_MASTER_KEY/);
  assert.equal(spawnSync('test', ['-e', keyFile]).status, 1, 'no key file was created');
});

it('the worker refuses a malformed key', () => {
  const { status, stderr } = runWorker({ CERTFLEET_MASTER_KEY: 'too-short' });
  assert.equal(status, 1);
  assert.match(stderr, /CERTFLEET_MASTER_KEY is not a valid master key/);
});

it('the web console refuses a wrong master key', async () => {
  await assert.rejects(
    startWeb(
      {
        ...process.env,
        DATABASE_URL: database.url,
        CERTFLEET_MASTER_KEY: randomBytes(32).toString('hex'),
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        PORT: '0',
        CERTFLEET_DATA_DIR: dir,
      },
      pino({ level: 'silent' }),
    ),
    /wrong master key/,
  );
});

it(
  'a worker starting at the default log level prints no webpack report (it is debug output)',
  { timeout: 180_000 },
  async () => {
    const temporal = await startTestTemporal();
    const lines: { level: number; msg: string }[] = [];
    const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: temporal.address,
        CERTFLEET_DATA_DIR: dir,
        CERTFLEET_MASTER_KEY: rightKey,
        LOG_LEVEL: 'debug',
        WORKFLOW_BUNDLE_PATH: '',
        WORKER_METRICS_ADDRESS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    worker.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (let nl = stdout.indexOf('\n'); nl >= 0; nl = stdout.indexOf('\n')) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { level: number; msg?: string };
          lines.push({ level: entry.level, msg: entry.msg ?? '' });
        } catch {
          lines.push({ level: 30, msg: line });
        }
      }
    });
    worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    try {
      await eventually(
        'the worker to start',
        async () => (lines.some((l) => l.msg.includes('worker started')) ? true : undefined),
        150_000,
      );
      const report = /webpack|modules by path|Workflow bundle created/;
      assert.ok(
        lines.some((l) => l.level === 20 && report.test(l.msg)),
        'the bundle report is there at debug',
      );
      const atInfo = lines.filter((l) => l.level >= 30);
      assert.deepEqual(
        atInfo.filter((l) => report.test(l.msg) || l.msg.split('\n').length > 3),
        [],
        'nothing of it at info or above',
      );
      assert.doesNotMatch(stderr, report);
    } finally {
      worker.kill('SIGTERM');
      await exited;
      await temporal.stop();
    }
  },
);

it('the web console says at start-up that /metrics is off without METRICS_TOKEN, and what to set', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    CERTFLEET_MASTER_KEY: rightKey,
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    PORT: '0',
    CERTFLEET_DATA_DIR: dir,
  };
  // No Temporal answers here: start-up fails after the configuration is read and reported.
  await assert.rejects(startWeb({ ...env, METRICS_TOKEN: '', METRICS_PUBLIC: '' }, log));
  assert.match(lines.join(''), /METRICS_TOKEN is not set: \/metrics answers 401 to every scraper\. Set METRICS_TOKEN/);
  lines.length = 0;
  await assert.rejects(startWeb({ ...env, METRICS_TOKEN: 'a-long-random-metrics-token' }, log));
  assert.doesNotMatch(lines.join(''), /METRICS_TOKEN/);
  await assert.rejects(
    startWeb({ ...env, METRICS_PUBLIC: 'everything' }, log),
    /METRICS_PUBLIC must be none or unlabelled/,
  );
});
