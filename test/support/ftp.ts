/**
 * A real FTP server for tests: ftp-srv (npm) on 127.0.0.1 at a port chosen by the OS, one user and
 * password, a fresh temporary root directory, passive data ports on loopback (also chosen by the OS),
 * and a record of what happened (logins, uploads, downloads, deletions). Stop it in an `after` hook;
 * `close()` also removes the root directory.
 *
 *   const ftp = await startFtpServer({ directories: ['certfleet'] });
 *   after(() => ftp.close());
 *
 * ftp-srv notes (4.6): it registers SIGINT/SIGTERM/SIGQUIT handlers on `process` that exit the
 * process; they are removed again in close(). Its default logger writes to stdout; a silent one is
 * passed instead. `pasv_min = pasv_max = 0` makes every passive listener bind port 0 (the OS picks a
 * free port, and the PASV/EPSV reply carries the real one), so parallel test files never collide.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FileSystem, FtpSrv, type FtpConnection } from 'ftp-srv';

export interface FtpServerOptions {
  /** Default 'certfleet'. */
  user?: string;
  /** Default: random (letters and digits). */
  password?: string;
  /** Directories to create under the root (e.g. ['certfleet', 'a/b']). */
  directories?: string[];
}

export type FtpEventKind = 'login' | 'login-failed' | 'upload' | 'download' | 'delete' | 'refused';

export interface FtpEvent {
  kind: FtpEventKind;
  user: string;
  /** Path as the client saw it (e.g. /certfleet/x.p12); empty for logins. */
  path: string;
  /** Client address. */
  from: string;
}

export interface TestFtpServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Local directory served as "/". */
  root: string;
  /** Files under the root, '/'-separated paths relative to it, sorted. */
  files: () => string[];
  /** Every login, transfer and deletion in order (never a password). */
  events: FtpEvent[];
  /** Refuse uploads, deletions, renames and mkdir with 550 from now on (or allow them again). */
  setReadOnly(on: boolean): void;
  close: () => Promise<void>;
}

type Log = Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', () => void> & { child(): Log };
const noop = (): void => undefined;
const silentLog: Log = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => silentLog,
};

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const;

function listFiles(root: string): string[] {
  return readdirSync(root, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

export async function startFtpServer(options: FtpServerOptions = {}): Promise<TestFtpServer> {
  const user = options.user ?? 'certfleet';
  const password = options.password ?? randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
  const root = mkdtempSync(path.join(os.tmpdir(), 'certfleet-ftp-'));
  for (const dir of options.directories ?? []) mkdirSync(path.join(root, dir), { recursive: true });

  const events: FtpEvent[] = [];
  let readOnly = false;

  /** The local file system, recording deletions and refusing writes in read-only mode. */
  class RecordingFs extends FileSystem {
    constructor(
      connection: FtpConnection,
      private readonly who: { user: string; from: string },
    ) {
      super(connection, { root, cwd: '/' });
    }

    private guard(what: string, target: string): void {
      if (!readOnly) return;
      events.push({ kind: 'refused', ...this.who, path: path.posix.resolve(this.cwd, target) });
      throw new Error(`${what}: permission denied`);
    }

    // ftp-srv types these methods' results as `any`; the wrappers only add a check.
    override write(fileName: string, opts?: { append?: boolean; start?: number }): ReturnType<FileSystem['write']> {
      this.guard('STOR', fileName);
      return super.write(fileName, opts);
    }

    override delete(target: string): ReturnType<FileSystem['delete']> {
      this.guard('DELE', target);
      const clientPath = path.posix.resolve(this.cwd, target);
      return super.delete(target).then((result: unknown) => {
        events.push({ kind: 'delete', ...this.who, path: clientPath });
        return result;
      });
    }

    override mkdir(target: string): ReturnType<FileSystem['mkdir']> {
      this.guard('MKD', target);
      return super.mkdir(target);
    }

    override rename(from: string, to: string): ReturnType<FileSystem['rename']> {
      this.guard('RNFR', from);
      return super.rename(from, to);
    }
  }

  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const server = new FtpSrv({
    url: 'ftp://127.0.0.1:0',
    pasv_url: '127.0.0.1',
    pasv_min: 0,
    pasv_max: 0,
    anonymous: false,
    log: silentLog,
    greeting: 'CertFleet test FTP',
  });
  const added = SIGNALS.flatMap((s) =>
    process
      .listeners(s)
      .filter((l) => !before.get(s)?.has(l))
      .map((l) => [s, l] as const),
  );

  server.on('login', ({ connection, username, password: given }, resolve, reject) => {
    const from = connection.ip;
    if (username !== user || given !== password) {
      events.push({ kind: 'login-failed', user: username, path: '', from });
      reject(new Error('Invalid username or password'));
      return;
    }
    events.push({ kind: 'login', user, path: '', from });
    const who = { user, from };
    connection.on('STOR', (error: unknown, fileName: string) => {
      if (!error) events.push({ kind: 'upload', ...who, path: clientPathOf(fileName) });
    });
    connection.on('RETR', (error: unknown, fileName: string) => {
      if (!error) events.push({ kind: 'download', ...who, path: clientPathOf(fileName) });
    });
    resolve({ fs: new RecordingFs(connection, who) });
  });
  server.on('client-error', noop);

  /** ftp-srv reports local file system paths for transfers; map them back to FTP paths. */
  const clientPathOf = (fsPath: string): string =>
    fsPath.startsWith(root) ? `/${path.relative(root, fsPath).split(path.sep).join('/')}` : fsPath;

  try {
    await server.listen();
  } catch (error) {
    for (const [signal, listener] of added) process.off(signal, listener);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    root,
    files: () => listFiles(root),
    events,
    setReadOnly(on) {
      readOnly = on;
    },
    close() {
      closing ??= (async () => {
        try {
          await server.close();
        } finally {
          for (const [signal, listener] of added) process.off(signal, listener);
          rmSync(root, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
}
