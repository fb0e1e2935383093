/**
 * `npm test`: typecheck, formatting (Prettier), lint, then every test file under test/ with node's test runner, a few files
 * at a time (each integration file brings up its own Temporal, Pebble, database and worker).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const ORDER = [
  'unit',
  'fakes',
  'support',
  'workflows',
  'replay',
  'integration',
  'resilience',
  'production',
  'upgrade',
  'e2e',
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .sort(
      (a, b) =>
        ORDER.indexOf(a.split(path.sep)[1] ?? '') - ORDER.indexOf(b.split(path.sep)[1] ?? '') || a.localeCompare(b),
    );
}

function run(label: string, cmd: string, args: string[]): void {
  console.log(`\n== ${label}`);
  const result = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  if (result.status !== 0) {
    console.error(`== ${label} failed`);
    process.exit(result.status ?? 1);
  }
}

/** What Prettier formats (.prettierrc.json: 120 columns); `npm run format` writes it. */
const FORMATTED = ['**/*.{ts,mjs}'];

const bin = (name: string) => path.join(ROOT, 'node_modules', '.bin', name);
const only = process.argv.slice(2);
if (only.length === 0) {
  run('typecheck', bin('tsc'), ['--noEmit', '-p', '.']);
  run('format', bin('prettier'), ['--check', '--log-level', 'warn', ...FORMATTED]);
  run('lint', bin('eslint'), ['--max-warnings', '0', '.']);
}
const files = only.length ? only : testFiles(path.join(ROOT, 'test'));
run(`tests (${files.length} files)`, process.execPath, [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${process.env['TEST_CONCURRENCY'] ?? '3'}`,
  '--test-reporter=spec',
  // A test that hangs (a peer died) fails instead of holding CI until its time limit.
  `--test-timeout=${process.env['TEST_TIMEOUT_MS'] ?? '600000'}`,
  ...files,
]);
