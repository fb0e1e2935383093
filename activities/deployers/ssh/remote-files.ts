/**
 * File operations on the managed server, atomic where it matters (docs/vendors/ssh-targets.md):
 * a new file is written to a temp file in the same directory, flushed (fsync), given its mode
 * (keys 0600) and renamed over the target, so a reader sees the old file or the new one, never a
 * partial one.
 *
 * Two implementations: SFTP as the login user (rename with the OpenSSH `posix-rename@openssh.com`
 * extension, which replaces an existing target — plain SFTPv3 rename refuses to — with `mv -f` as
 * the fallback), and plain commands, used with sudo (`sudo -n install/dd/mv …`; SFTP cannot change
 * user) or when the server offers no SFTP.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import type { SshSession } from './session';
import { shellQuote, trimOutput } from './shell';
import { recordNote } from '../wire-transcript';

export interface RemoteStat {
  /** Permission bits (e.g. 0o600). */
  mode: number;
  size: number;
  isFile: boolean;
}

export interface RemoteFiles {
  readonly kind: 'sftp' | 'shell';
  /** Contents, or undefined when the file does not exist. */
  read(file: string): Promise<Buffer | undefined>;
  stat(file: string): Promise<RemoteStat | undefined>;
  /** Temp file in the same directory + fsync + chmod + rename over `file`. */
  writeAtomic(file: string, data: Buffer, mode: number): Promise<void>;
  chmod(file: string, mode: number): Promise<void>;
  /** True when a file was removed, false when there was none. */
  remove(file: string): Promise<boolean>;
  /** True when the directory exists and the user (or root, through sudo) may create files in it. */
  writableDirectory(dir: string): Promise<boolean>;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7). */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

const tempNameFor = (file: string): string =>
  path.posix.join(
    path.posix.dirname(file),
    `.${path.posix.basename(file)}.certfleet-tmp-${randomBytes(6).toString('hex')}`,
  );
const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

const sftpCode = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
};

function sftpFailure(component: string, what: string, error: unknown): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = sftpCode(error);
  if (code === SFTP_PERMISSION_DENIED)
    return classified(
      FailureType.targetPermission,
      `${component}: ${what}: permission denied (SFTP). Log in as a user who may write there, or tick "Use sudo".`,
    );
  if (code === SFTP_NO_SUCH_FILE)
    return classified(FailureType.targetRejected, `${component}: ${what}: no such file or directory`);
  if (code === undefined) return classified(FailureType.targetUnreachable, `${component}: ${what}: ${message}`);
  return classified(FailureType.targetRejected, `${component}: ${what}: ${message}`);
}

const call = <T>(run: (cb: (error: Error | undefined | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value)));
  });
const callVoid = (run: (cb: (error: Error | undefined | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => {
    run((error) => (error ? reject(error) : resolve()));
  });

export class SftpFiles implements RemoteFiles {
  readonly kind = 'sftp' as const;
  /** Renames done with posix-rename / with the `mv -f` fallback (for tests and logs). */
  readonly renames = { posix: 0, mv: 0 };

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly session: SshSession,
    private readonly component: string,
  ) {}

  async read(file: string): Promise<Buffer | undefined> {
    try {
      return await call<Buffer>((cb) => this.sftp.readFile(file, (error, data) => cb(error, data)));
    } catch (error) {
      if (sftpCode(error) === SFTP_NO_SUCH_FILE) return undefined;
      throw sftpFailure(this.component, `read ${file}`, error);
    }
  }

  async stat(file: string): Promise<RemoteStat | undefined> {
    try {
      const stats = await call<{ mode: number; size: number; isFile(): boolean }>((cb) =>
        this.sftp.stat(file, (error, s) => cb(error, s)),
      );
      return { mode: stats.mode & 0o7777, size: stats.size, isFile: stats.isFile() };
    } catch (error) {
      if (sftpCode(error) === SFTP_NO_SUCH_FILE) return undefined;
      throw sftpFailure(this.component, `stat ${file}`, error);
    }
  }

  async writeAtomic(file: string, data: Buffer, mode: number): Promise<void> {
    const temp = tempNameFor(file);
    let handle: Buffer | undefined;
    try {
      // 'wx': O_CREAT|O_EXCL, created with the final mode so a key is never readable by others.
      handle = await call<Buffer>((cb) => this.sftp.open(temp, 'wx', { mode }, (error, h) => cb(error, h)));
      const h = handle;
      if (data.length > 0) await callVoid((cb) => this.sftp.write(h, data, 0, data.length, 0, (error) => cb(error)));
      // The server's umask applied at open: set the mode exactly.
      await callVoid((cb) => this.sftp.fchmod(h, mode, (error) => cb(error)));
      await this.fsync(h);
      handle = undefined;
      await callVoid((cb) => this.sftp.close(h, (error) => cb(error)));
      await this.rename(temp, file);
      recordNote(`SFTP: wrote ${file} (${data.length} bytes, mode ${mode.toString(8)}; contents not recorded)`);
    } catch (error) {
      recordNote(
        `SFTP: writing ${file} (${data.length} bytes) failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (handle) {
        const h = handle;
        await callVoid((cb) => this.sftp.close(h, (e) => cb(e))).catch(() => undefined);
      }
      await callVoid((cb) => this.sftp.unlink(temp, (e) => cb(e))).catch(() => undefined);
      throw sftpFailure(this.component, `write ${file}`, error);
    }
  }

  private async fsync(handle: Buffer): Promise<void> {
    try {
      await callVoid((cb) => this.sftp.ext_openssh_fsync(handle, (error) => cb(error)));
    } catch {
      // fsync@openssh.com missing (non-OpenSSH servers): the rename still switches atomically.
    }
  }

  /** posix-rename@openssh.com; `mv -f` (rename(2) on the same filesystem) where it is missing or refused. */
  private async rename(from: string, to: string): Promise<void> {
    try {
      await callVoid((cb) => this.sftp.ext_openssh_rename(from, to, (error) => cb(error)));
      this.renames.posix++;
      return;
    } catch (error) {
      const code = sftpCode(error);
      // A missing extension throws synchronously (no code); a refused one answers with a status.
      if (code === SFTP_NO_SUCH_FILE) throw error;
    }
    const result = await this.session.exec(`mv -f -- ${shellQuote(from)} ${shellQuote(to)}`);
    if (result.code !== 0) throw commandFailure(this.component, `rename ${from} to ${to}`, result);
    this.renames.mv++;
  }

  async chmod(file: string, mode: number): Promise<void> {
    try {
      await callVoid((cb) => this.sftp.chmod(file, mode, (error) => cb(error)));
    } catch (error) {
      throw sftpFailure(this.component, `chmod ${file}`, error);
    }
  }

  async remove(file: string): Promise<boolean> {
    try {
      await callVoid((cb) => this.sftp.unlink(file, (error) => cb(error)));
      return true;
    } catch (error) {
      if (sftpCode(error) === SFTP_NO_SUCH_FILE) return false;
      throw sftpFailure(this.component, `remove ${file}`, error);
    }
  }

  async writableDirectory(dir: string): Promise<boolean> {
    const result = await this.session.exec(`test -d ${shellQuote(dir)} -a -w ${shellQuote(dir)}`);
    return result.code === 0;
  }
}

const NO_SUCH_FILE = /No such file or directory/i;
const PERMISSION =
  /Permission denied|Operation not permitted|a password is required|a terminal is required|not in the sudoers|not allowed to execute/i;

/** A failed command as a classified error, with its output trimmed (never file contents). */
export function commandFailure(
  component: string,
  what: string,
  result: { code: number; stderr: string },
): ClassifiedError {
  const output = trimOutput(result.stderr, 4, 400);
  const detail = `${what}: exit ${result.code}${output ? `: ${output}` : ''}`;
  if (PERMISSION.test(result.stderr)) return classified(FailureType.targetPermission, `${component}: ${detail}`);
  if (result.code === 127)
    return classified(
      FailureType.targetRejected,
      `${component}: ${detail} (command not found${/sudo/.test(result.stderr) ? ': is sudo installed?' : ''})`,
    );
  return classified(FailureType.targetRejected, `${component}: ${detail}`);
}

/** File operations as commands (coreutils), through `sudo -n` when `sudo` is set. */
export class ShellFiles implements RemoteFiles {
  readonly kind = 'shell' as const;

  constructor(
    private readonly session: SshSession,
    private readonly component: string,
    private readonly sudo: boolean,
  ) {}

  private run(command: string, stdin?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    return this.session.execBytes(command, { sudo: this.sudo, ...(stdin ? { stdin } : {}) });
  }

  async read(file: string): Promise<Buffer | undefined> {
    const result = await this.run(`cat -- ${shellQuote(file)}`);
    if (result.code === 0) return result.stdout;
    if (NO_SUCH_FILE.test(result.stderr)) return undefined;
    throw commandFailure(this.component, `read ${file}`, result);
  }

  async stat(file: string): Promise<RemoteStat | undefined> {
    const result = await this.run(`stat -L -c %f:%s -- ${shellQuote(file)}`);
    if (result.code !== 0) {
      if (NO_SUCH_FILE.test(result.stderr)) return undefined;
      throw commandFailure(this.component, `stat ${file}`, result);
    }
    const match = /^([0-9a-f]+):(\d+)/.exec(result.stdout.toString('utf8').trim());
    if (!match?.[1] || !match[2])
      throw classified(FailureType.targetRejected, `${this.component}: stat ${file}: unexpected output`);
    const raw = parseInt(match[1], 16);
    return { mode: raw & 0o7777, size: Number(match[2]), isFile: (raw & 0o170000) === 0o100000 };
  }

  async writeAtomic(file: string, data: Buffer, mode: number): Promise<void> {
    const temp = tempNameFor(file);
    const q = shellQuote(temp);
    // install creates the (empty) temp file with the final mode; dd fills it without changing the
    // mode and fsyncs it; mv renames it over the target (rename(2): same directory, same filesystem).
    const steps: [string, Buffer | undefined][] = [
      [`install -m ${octal(mode)} /dev/null ${q}`, undefined],
      [`dd of=${q} conv=fsync`, data],
      [`mv -f -- ${q} ${shellQuote(file)}`, undefined],
    ];
    for (const [command, stdin] of steps) {
      const result = await this.run(command, stdin);
      if (result.code !== 0) {
        await this.run(`rm -f -- ${q}`).catch(() => undefined);
        throw commandFailure(this.component, `write ${file}`, result);
      }
    }
  }

  async chmod(file: string, mode: number): Promise<void> {
    const result = await this.run(`chmod ${octal(mode)} -- ${shellQuote(file)}`);
    if (result.code !== 0) throw commandFailure(this.component, `chmod ${file}`, result);
  }

  async remove(file: string): Promise<boolean> {
    if (!(await this.stat(file))) return false;
    const result = await this.run(`rm -f -- ${shellQuote(file)}`);
    if (result.code !== 0) throw commandFailure(this.component, `remove ${file}`, result);
    return true;
  }

  async writableDirectory(dir: string): Promise<boolean> {
    const result = await this.run(`test -d ${shellQuote(dir)} -a -w ${shellQuote(dir)}`);
    return result.code === 0;
  }
}

/** SFTP as the login user; commands through sudo, or when the server has no SFTP subsystem. */
export async function remoteFiles(
  session: SshSession,
  options: { component: string; sudo: boolean },
): Promise<RemoteFiles> {
  if (options.sudo) return new ShellFiles(session, options.component, true);
  const sftp = await session.sftp();
  return sftp ? new SftpFiles(sftp, session, options.component) : new ShellFiles(session, options.component, false);
}
