/**
 * The IIS simulator's disk: an in-memory Windows file system (case-insensitive paths, drive letters)
 * and the SFTP subsystem over it, as Windows OpenSSH's sftp-server presents it: paths as "/C:/dir/file"
 * (also "C:/dir/file"), no posix-rename extension (ssh2's server advertises none), plain SFTPv3
 * RENAME refusing an existing target. Simulator only: no Windows was available. ASSUMPTIONS (listed
 * in docs/vendors/iis.md): the "/C:/…" path form of Win32-OpenSSH's sftp-server, no posix-rename,
 * case-insensitive paths as NTFS has them by default.
 */
import type { SFTPWrapper } from 'ssh2';
import { utils } from 'ssh2';

const { STATUS_CODE, OPEN_MODE } = utils.sftp;

interface Entry {
  /** The path as first written (display form, backslashes). */
  path: string;
  dir: boolean;
  data: Buffer;
  mtime: number;
}

/** "C:\\a\\b", "/C:/a/b", "C:/a/b" → "C:\\a\\b"; undefined for other forms. */
export function windowsPath(raw: string): string | undefined {
  const p = raw
    .replace(/\//g, '\\')
    .replace(/^\\(?=[A-Za-z]:)/, '')
    .replace(/\\+$/, '');
  if (!/^[A-Za-z]:(\\[^\\]+)*$/.test(p) && !/^[A-Za-z]:$/.test(p)) return undefined;
  if (p.split('\\').some((s) => s === '.' || s === '..')) return undefined;
  return `${p[0]?.toUpperCase()}${p.slice(1)}`;
}

const keyOf = (path: string): string => path.toLowerCase();
const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('\\')) || path;

export class WindowsDisk {
  private readonly entries = new Map<string, Entry>();
  /** Operations as "op path", for tests (never file contents). */
  readonly log: string[] = [];
  mutations = 0;

  constructor(drives: string[] = ['C:']) {
    for (const drive of drives)
      this.entries.set(keyOf(drive), { path: drive, dir: true, data: Buffer.alloc(0), mtime: Date.now() });
  }

  get(path: string): Entry | undefined {
    return this.entries.get(keyOf(path));
  }

  exists(path: string): boolean {
    return this.entries.has(keyOf(path));
  }

  isDirectory(path: string): boolean {
    return this.get(path)?.dir === true;
  }

  mkdirs(path: string): boolean {
    const parts = path.split('\\');
    let created = false;
    for (let i = 2; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('\\');
      if (!this.exists(p)) {
        this.entries.set(keyOf(p), { path: p, dir: true, data: Buffer.alloc(0), mtime: Date.now() });
        created = true;
      }
    }
    if (created) this.mutations++;
    return created;
  }

  read(path: string): Buffer | undefined {
    const entry = this.get(path);
    return entry && !entry.dir ? entry.data : undefined;
  }

  write(path: string, data: Buffer): void {
    const existing = this.get(path);
    this.entries.set(keyOf(path), { path: existing?.path ?? path, dir: false, data, mtime: Date.now() });
  }

  remove(path: string): boolean {
    const entry = this.get(path);
    if (!entry || entry.dir) return false;
    this.entries.delete(keyOf(path));
    this.mutations++;
    return true;
  }

  /** Files (not directories) directly in a directory. */
  list(dir: string): string[] {
    const prefix = `${keyOf(dir)}\\`;
    return [...this.entries.entries()]
      .filter(([k, e]) => !e.dir && k.startsWith(prefix) && !k.slice(prefix.length).includes('\\'))
      .map(([, e]) => e.path)
      .sort();
  }

  /** Every file, full paths. */
  files(): string[] {
    return [...this.entries.values()]
      .filter((e) => !e.dir)
      .map((e) => e.path)
      .sort();
  }

  setMtime(path: string, mtime: number): void {
    const entry = this.get(path);
    if (entry) entry.mtime = mtime;
  }

  /** Serves SFTP requests on this disk. */
  serve(sftp: SFTPWrapper): void {
    const handles = new Map<number, { path: string; writable: boolean }>();
    let next = 1;
    const handleOf = (buf: Buffer): { path: string; writable: boolean } | undefined =>
      buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined;
    const attrsOf = (
      entry: Entry,
    ): { mode: number; uid: number; gid: number; size: number; atime: number; mtime: number } => ({
      mode: entry.dir ? 0o40755 : 0o100644,
      uid: 0,
      gid: 0,
      size: entry.data.length,
      atime: Math.floor(entry.mtime / 1000),
      mtime: Math.floor(entry.mtime / 1000),
    });
    const resolve = (reqId: number, raw: string): string | undefined => {
      const path = windowsPath(raw);
      if (!path) sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      return path;
    };

    sftp.on('REALPATH', (reqId, raw) => {
      const path = raw === '.' || raw === '' ? 'C:\\Users\\certfleet' : windowsPath(raw);
      if (!path) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      const name = `/${path.replace(/\\/g, '/')}`;
      sftp.name(reqId, [
        { filename: name, longname: name, attrs: { mode: 0o40755, uid: 0, gid: 0, size: 0, atime: 0, mtime: 0 } },
      ]);
    });

    sftp.on('OPEN', (reqId, raw, flags) => {
      const path = resolve(reqId, raw);
      if (!path) return;
      const writable = (flags & OPEN_MODE.WRITE) !== 0;
      this.log.push(`open ${path} ${writable ? 'write' : 'read'}${flags & OPEN_MODE.EXCL ? ' excl' : ''}`);
      if (!this.isDirectory(parentOf(path))) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      const entry = this.get(path);
      if (entry?.dir) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Is a directory');
      if (entry && flags & OPEN_MODE.CREAT && flags & OPEN_MODE.EXCL)
        return sftp.status(reqId, STATUS_CODE.FAILURE, 'File exists');
      if (!entry && !(flags & OPEN_MODE.CREAT)) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      if (writable) {
        this.mutations++;
        if (!entry || flags & OPEN_MODE.TRUNC) this.write(path, Buffer.alloc(0));
      }
      const id = next++;
      handles.set(id, { path, writable });
      const handle = Buffer.alloc(4);
      handle.writeUInt32BE(id, 0);
      sftp.handle(reqId, handle);
    });

    sftp.on('WRITE', (reqId, handle, offset, data) => {
      const h = handleOf(handle);
      if (!h?.writable) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
      const current = this.read(h.path) ?? Buffer.alloc(0);
      const size = Math.max(current.length, offset + data.length);
      const next = Buffer.alloc(size);
      current.copy(next);
      data.copy(next, offset);
      this.write(h.path, next);
      sftp.status(reqId, STATUS_CODE.OK);
    });

    sftp.on('READ', (reqId, handle, offset, length) => {
      const h = handleOf(handle);
      const data = h ? this.read(h.path) : undefined;
      if (!h || !data) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
      if (offset >= data.length) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, data.subarray(offset, Math.min(data.length, offset + length)));
    });

    sftp.on('CLOSE', (reqId, handle) => {
      const h = handleOf(handle);
      if (!h) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
      handles.delete(handle.readUInt32BE(0));
      sftp.status(reqId, STATUS_CODE.OK);
    });

    sftp.on('FSTAT', (reqId, handle) => {
      const h = handleOf(handle);
      const entry = h ? this.get(h.path) : undefined;
      if (!entry) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
      sftp.attrs(reqId, attrsOf(entry));
    });

    const stat = (reqId: number, raw: string): void => {
      const path = resolve(reqId, raw);
      if (!path) return;
      const entry = this.get(path);
      if (!entry) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      sftp.attrs(reqId, attrsOf(entry));
    };
    sftp.on('STAT', stat);
    sftp.on('LSTAT', stat);

    // NTFS has no POSIX modes: accepted and ignored, as Windows OpenSSH does.
    sftp.on('FSETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
    sftp.on('SETSTAT', (reqId, raw) => {
      const path = resolve(reqId, raw);
      if (!path) return;
      sftp.status(reqId, this.exists(path) ? STATUS_CODE.OK : STATUS_CODE.NO_SUCH_FILE);
    });

    sftp.on('REMOVE', (reqId, raw) => {
      const path = resolve(reqId, raw);
      if (!path) return;
      this.log.push(`remove ${path}`);
      sftp.status(
        reqId,
        this.remove(path) ? STATUS_CODE.OK : STATUS_CODE.NO_SUCH_FILE,
        this.exists(path) ? 'Is a directory' : 'No such file',
      );
    });

    sftp.on('RENAME', (reqId, rawFrom, rawTo) => {
      const from = windowsPath(rawFrom);
      const to = windowsPath(rawTo);
      const data = from ? this.read(from) : undefined;
      this.log.push(`rename ${from ?? rawFrom} ${to ?? rawTo}`);
      if (!from || !to || !data) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      if (this.exists(to)) return sftp.status(reqId, STATUS_CODE.FAILURE, 'File exists');
      this.entries.delete(keyOf(from));
      this.write(to, data);
      this.mutations++;
      sftp.status(reqId, STATUS_CODE.OK);
    });

    sftp.on('MKDIR', (reqId, raw) => {
      const path = resolve(reqId, raw);
      if (!path) return;
      this.log.push(`mkdir ${path}`);
      if (this.exists(path)) return sftp.status(reqId, STATUS_CODE.FAILURE, 'File exists');
      if (!this.isDirectory(parentOf(path))) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      this.mkdirs(path);
      sftp.status(reqId, STATUS_CODE.OK);
    });
  }
}
