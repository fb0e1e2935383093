/**
 * The previous build of the upgrade test (docs/versioning.md): the commit named in
 * test/upgrade/previous-build, taken out of this clone's git history into a temporary directory
 * (`git archive | tar -x`), with this checkout's node_modules linked in, and its workflow bundle built
 * there, so a worker of that build can run against the test stack.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
export const PREVIOUS_BUILD_FILE = path.join(__dirname, 'previous-build');

export interface PreviousBuild {
  commit: string;
  /** The build's tree. */
  dir: string;
  /** Its workflow bundle (WORKFLOW_BUNDLE_PATH for its worker). */
  bundlePath: string;
  remove(): Promise<void>;
}

/** The commit the file names: its first line that is not blank or a # comment. */
export function previousBuildCommit(): string {
  const line = readFileSync(PREVIOUS_BUILD_FILE, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
  if (!line || !/^[0-9a-f]{40}$/.test(line))
    throw new Error(`${PREVIOUS_BUILD_FILE}: the first line that is not a comment must be a full 40-hex commit id`);
  return line;
}

function git(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export async function materializePreviousBuild(): Promise<PreviousBuild> {
  const commit = previousBuildCommit();
  if (git(['cat-file', '-e', `${commit}^{commit}`]).status !== 0) {
    const shallow = git(['rev-parse', '--is-shallow-repository']).stdout.trim() === 'true';
    throw new Error(
      `the previous build ${commit} (test/upgrade/previous-build) is not in this clone` +
        (shallow ? ': it is shallow, run `git fetch --unshallow`' : ': fetch the history that contains it') +
        '. The upgrade test needs it to start runs on the previous build.',
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-previous-build-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const archive = spawnSync('sh', ['-c', `git archive --format=tar ${commit} | tar -x -C "${dir}"`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (archive.status !== 0) throw new Error(`git archive ${commit} failed: ${archive.stderr}`);
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const bundlePath = path.join(dir, 'workflow-bundle.js');
    const built = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(dir, 'worker', 'build-workflow-bundle.ts'), bundlePath],
      { cwd: dir, encoding: 'utf8' },
    );
    if (built.status !== 0) throw new Error(`building the workflow bundle of ${commit} failed: ${built.stderr}`);
    return { commit, dir, bundlePath, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
