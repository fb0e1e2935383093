/**
 * The data directory of `npm start` (CERTFLEET_DATA_DIR, default ./data): the embedded PostgreSQL's
 * cluster (postgres/, with its superuser password in postgres.password: scripts/embedded-postgres.ts),
 * the Temporal dev server's SQLite file (temporal.sqlite: scripts/temporal/local-temporal.ts), the UI
 * server's config, and the master key file (master.key), which is never archived.
 *
 * The embedded packages ship no pg_dump, and copying a running cluster's files is not a backup, so the
 * directory is archived while `npm start` is stopped (both stores are then consistent on disk and with
 * each other), and refused while its PostgreSQL runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeFile, type ManifestFile } from './manifest';

export const DATA_ARCHIVE = 'data-dir.tar.gz';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Throws while the embedded PostgreSQL of `dataDir` runs (its postmaster.pid names a live process). */
export async function assertStopped(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid))
    throw new Error(
      `backup: CertFleet is running on ${dataDir} (PostgreSQL pid ${pid}); stop npm start (Ctrl-C) first: a running cluster's files are not a backup`,
    );
}

/** Archives `dataDir` into `outDir`, leaving out the key file (wherever it is inside the directory). */
export async function archiveDataDir(dataDir: string, outDir: string, keyFile: string): Promise<ManifestFile> {
  const dir = path.resolve(dataDir);
  if (!existsSync(path.join(dir, 'postgres', 'PG_VERSION')))
    throw new Error(`backup: ${dir} is not a CertFleet data directory (no postgres/PG_VERSION)`);
  await assertStopped(dir);
  const excluded = ['./master.key'];
  const rel = path.relative(dir, path.resolve(keyFile));
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) excluded.push(`./${rel}`);
  execFileSync('tar', [
    '--create',
    '--gzip',
    '--file',
    path.join(outDir, DATA_ARCHIVE),
    '--directory',
    dir,
    ...excluded.map((e) => `--exclude=${e}`),
    '.',
  ]);
  const listed = execFileSync('tar', ['--list', '--gzip', '--file', path.join(outDir, DATA_ARCHIVE)], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  }).split('\n');
  if (listed.some((entry) => excluded.includes(entry) || path.basename(entry) === 'master.key'))
    throw new Error('backup: the archive lists the master key file; it was not kept');
  return describeFile(outDir, DATA_ARCHIVE, 'data-dir');
}

/** Unpacks the archive into `dataDir`, which must not exist or be empty. */
export async function restoreDataDir(backupDir: string, entry: ManifestFile, dataDir: string): Promise<void> {
  const dir = path.resolve(dataDir);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new Error(`restore: ${dir} is not empty; restore into a new directory (nothing was changed)`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  execFileSync('tar', [
    '--extract',
    '--gzip',
    '--same-permissions',
    '--file',
    path.join(backupDir, entry.file),
    '--directory',
    dir,
  ]);
}
