import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildDist, productFiles } from '../../scripts/build';
import { COMPILED_DIR } from '../../scripts/processes';

const ROOT = path.join(__dirname, '..', '..');

async function build(): Promise<string> {
  const files = await productFiles(ROOT);
  // The checkout is part of the key: the build links its node_modules, and a build of the same sources
  // from another clone (a CI run's, since deleted) would link to theirs.
  const hash = createHash('sha256').update(ROOT);
  for (const file of files) hash.update(file).update(await readFile(path.join(ROOT, file)));
  const dir = path.join(os.tmpdir(), `certfleet-build-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(path.join(dir, COMPILED_DIR))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await buildDist(ROOT, path.join(tmp, COMPILED_DIR));
  await symlink(path.join(ROOT, 'node_modules'), path.join(tmp, 'node_modules'));
  try {
    await rename(tmp, dir);
  } catch (error) {
    // Another test process renamed the same build into place first: use that one.
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(dir, COMPILED_DIR))) throw error;
  }
  return dir;
}

let built: Promise<string> | undefined;

/**
 * A directory holding `npm run build`'s output (dist/) for this checkout's sources and a link to its
 * node_modules: the working directory in which test stacks run the commands of scripts/processes.ts
 * as the image does (`node dist/worker/main.js`). Built once per content hash of the product folders
 * and checkout (seconds), shared by test files and runs; a stale one is simply never used again.
 */
export function compiledBuild(): Promise<string> {
  built ??= build();
  return built;
}
