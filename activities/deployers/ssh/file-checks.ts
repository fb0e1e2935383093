/**
 * Preflight of the files an SSH deploy writes (nginx, apache): whether each directory is writable,
 * what each path holds now, and what a deploy would change. Changes nothing. Facts:
 * docs/vendors/ssh-targets.md.
 */
import { FailureType } from '../../../temporal/contract';
import { ClassifiedError } from '../../errors';
import type { PreflightCheck } from '../types';
import type { RemoteFiles } from './remote-files';
import { describeCertificate, type ServedFile } from './served-files';

/** One check and one planned change per file; a file that cannot be read is a failed check, an unreachable server an error. */
export async function fileChecks(
  fs: RemoteFiles,
  files: ServedFile[],
  who: { sudo: boolean; username: string },
): Promise<{ checks: PreflightCheck[]; changes: string[] }> {
  const checks: PreflightCheck[] = [];
  const changes: string[] = [];
  for (const file of files) {
    const dir = file.path.slice(0, file.path.lastIndexOf('/')) || '/';
    const what = file.kind === 'key' ? 'key (mode 0600)' : file.kind === 'chain' ? 'chain' : 'certificate';
    try {
      const writable = await fs.writableDirectory(dir);
      const stat = await fs.stat(file.path);
      const data = stat && file.kind === 'cert' ? await fs.read(file.path) : undefined;
      const now = !stat
        ? 'does not exist yet'
        : !stat.isFile
          ? 'is not a regular file'
          : data
            ? `holds ${describeCertificate(data)}`
            : `exists (mode ${stat.mode.toString(8)})`;
      checks.push({
        name: `${file.kind} file`,
        ok: writable && (!stat || stat.isFile),
        detail: `${file.path} ${now}${writable ? '' : `; ${dir} is missing or not writable${who.sudo ? ' (through sudo)' : ` by ${who.username}`}`}`,
      });
      changes.push(
        `${file.path}: ${data ? describeCertificate(data) : stat ? 'current file' : '(none)'} → new ${what}`,
      );
    } catch (error) {
      if (!(error instanceof ClassifiedError) || error.type === FailureType.targetUnreachable) throw error;
      checks.push({ name: `${file.kind} file`, ok: false, detail: error.message });
      changes.push(`${file.path} → new ${what}`);
    }
  }
  return { checks, changes };
}
