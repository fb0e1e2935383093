/**
 * IIS: files over SFTP on Windows OpenSSH (docs/vendors/iis.md): the PFX upload and the saved
 * previous-binding copy, with SFTP errors classified.
 */
import type { SFTPWrapper } from 'ssh2';
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';

const C = 'iis';

/** The SFTP form of a Windows path on Windows OpenSSH: C:\a\b → /C:/a/b. */
export const sftpPathOf = (windowsPath: string): string => `/${windowsPath.replace(/\\/g, '/')}`;

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7). */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

export function sftpError(what: string, error: unknown): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === SFTP_PERMISSION_DENIED)
    return classified(
      FailureType.targetPermission,
      `${C}: ${what}: permission denied (SFTP). The SSH user must be allowed to write to the upload directory.`,
    );
  if (code === SFTP_NO_SUCH_FILE) return classified(FailureType.targetRejected, `${C}: ${what}: no such directory`);
  if (typeof code !== 'number') return classified(FailureType.targetUnreachable, `${C}: ${what}: ${message}`);
  return classified(FailureType.targetRejected, `${C}: ${what}: ${message}`);
}

/**
 * Writes a new file over SFTP: created exclusively (the name is random), written, closed. Not the
 * shared SftpFiles.writeAtomic: its fallback for servers without posix-rename is `mv -f`, which
 * cmd.exe does not have, and a fresh file name needs no atomic replace.
 */
export async function putNewFile(sftp: SFTPWrapper, path: string, data: Buffer): Promise<void> {
  const handle = await new Promise<Buffer>((resolve, reject) =>
    sftp.open(path, 'wx', { mode: 0o600 }, (error, h) => (error ? reject(error) : resolve(h))),
  );
  try {
    const CHUNK = 32 * 1024;
    for (let offset = 0; offset < data.length; offset += CHUNK) {
      const length = Math.min(CHUNK, data.length - offset);
      await new Promise<void>((resolve, reject) =>
        sftp.write(handle, data, offset, length, offset, (error) => (error ? reject(error) : resolve())),
      );
    }
  } finally {
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
}

/** Replaces a small file over SFTP (truncate + write). */
export async function putFile(sftp: SFTPWrapper, path: string, data: Buffer): Promise<void> {
  const handle = await new Promise<Buffer>((resolve, reject) =>
    sftp.open(path, 'w', { mode: 0o600 }, (error, h) => (error ? reject(error) : resolve(h))),
  );
  try {
    await new Promise<void>((resolve, reject) =>
      sftp.write(handle, data, 0, data.length, 0, (error) => (error ? reject(error) : resolve())),
    );
  } finally {
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
}
