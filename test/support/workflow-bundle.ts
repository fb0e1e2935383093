import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildWorkflowBundle } from '../../worker/build-workflow-bundle';

const ROOT = path.join(__dirname, '..', '..');

async function sourcesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => path.join(e.parentPath, e.name));
}

/**
 * The workflow bundle for worker processes in tests, built once per content hash of the workflow
 * sources (webpack takes seconds; test files share the result).
 */
export async function testWorkflowBundle(): Promise<string> {
  const files = [...(await sourcesOf(path.join(ROOT, 'workflows'))), path.join(ROOT, 'temporal', 'contract.ts')].sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(file).update(await readFile(file));
  const out = path.join(os.tmpdir(), `certfleet-workflow-bundle-${hash.digest('hex').slice(0, 16)}.js`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  await buildWorkflowBundle(tmp);
  await rename(tmp, out);
  return out;
}
