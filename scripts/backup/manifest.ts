/**
 * The manifest of a CertFleet backup (manifest.json beside the files): what each file is, its size
 * and SHA-256 (checked before a restore), how it was taken, and the reminder that the master key is
 * not in it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'certfleet-backup/1';

/** certfleet, temporal, temporal_visibility: a pg_dump each; data-dir: the `npm start` data directory. */
export type BackupPart = 'certfleet' | 'temporal' | 'temporal_visibility' | 'data-dir';

export interface ManifestFile {
  part: BackupPart;
  /** File name inside the backup directory. */
  file: string;
  /** The database it was dumped from (for the dumps). */
  database?: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  createdAt: string;
  /** True when nothing else was connected to the databases (or npm start was stopped) while they were copied. */
  quiesced: boolean;
  /** The order the files were taken in (the online order is explained in docs/backup-restore.md). */
  files: ManifestFile[];
  masterKey: string;
}

export const MASTER_KEY_NOTE =
  'not included: CERTFLEET_MASTER_KEY (or the master.key file) is backed up apart from this directory; without it the sealed secrets in this backup cannot be opened';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function describeFile(
  dir: string,
  file: string,
  part: BackupPart,
  database?: string,
): Promise<ManifestFile> {
  const full = path.join(dir, file);
  const info = await stat(full);
  return { part, file, ...(database ? { database } : {}), bytes: info.size, sha256: await sha256File(full) };
}

export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  await writeFile(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
}

/** Reads the manifest and checks every file's size and SHA-256: a damaged backup is refused before anything is restored. */
export async function readVerifiedManifest(dir: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as BackupManifest;
  } catch (error) {
    throw new Error(`restore: ${dir} has no readable ${MANIFEST_FILE} (${(error as Error).message})`);
  }
  if ((manifest.format as string) !== MANIFEST_FORMAT)
    throw new Error(`restore: ${dir}/${MANIFEST_FILE} is not a ${MANIFEST_FORMAT} manifest`);
  for (const entry of manifest.files) {
    if (path.basename(entry.file) !== entry.file) throw new Error(`restore: bad file name in manifest: ${entry.file}`);
    const full = path.join(dir, entry.file);
    const sum = await sha256File(full).catch(() => undefined);
    if (sum !== entry.sha256)
      throw new Error(`restore: ${entry.file} is missing or damaged (its SHA-256 does not match the manifest)`);
  }
  return manifest;
}
