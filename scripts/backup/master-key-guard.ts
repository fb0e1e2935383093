/**
 * The master key never goes into a backup. It seals every credential in the database: a backup that
 * carried it would hand whoever gets the backup every secret. It is backed up apart (docs/backup-restore.md).
 *
 * The guard knows the key the way the worker finds it (CERTFLEET_MASTER_KEY, else the key file: see
 * activities/crypto/master-key.ts), refuses a backup directory next to the key file, leaves the key file
 * out of a data-directory archive, and scans what it wrote for the key in every form it is kept in.
 */
import { createReadStream, existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';

export interface MasterKeyLocation {
  /** The key file `npm start` uses (CERTFLEET_MASTER_KEY_FILE, else <data dir>/master.key). */
  keyFile: string;
  /** CERTFLEET_MASTER_KEY when set. */
  envValue?: string;
}

export function masterKeyLocation(env: NodeJS.ProcessEnv, dataDir: string): MasterKeyLocation {
  const keyFile = path.resolve(env['CERTFLEET_MASTER_KEY_FILE'] ?? path.join(dataDir, 'master.key'));
  const envValue = env['CERTFLEET_MASTER_KEY']?.trim();
  return { keyFile, ...(envValue ? { envValue } : {}) };
}

/** The byte strings that would give the key away: the raw 32 bytes and their base64 and hex text. */
export async function keyNeedles(where: MasterKeyLocation): Promise<Buffer[]> {
  const texts: string[] = [];
  if (where.envValue) texts.push(where.envValue);
  if (existsSync(where.keyFile)) texts.push((await readFile(where.keyFile, 'utf8')).trim());
  const needles: Buffer[] = [];
  for (const text of texts) {
    const raw = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
    if (raw.length !== 32) continue;
    needles.push(raw, Buffer.from(raw.toString('base64')), Buffer.from(raw.toString('hex')));
  }
  return needles;
}

/** Refuses a backup directory that holds the key file, or one inside the directory being archived. */
export function checkBackupDirectory(outDir: string, where: MasterKeyLocation, archivedDir?: string): void {
  const out = path.resolve(outDir);
  if (path.dirname(where.keyFile) === out || existsSync(path.join(out, 'master.key')))
    throw new Error(
      `backup: ${out} holds the master key file; keep backups apart from the key (a backup with its key gives away every credential)`,
    );
  if (archivedDir) {
    const rel = path.relative(path.resolve(archivedDir), out);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)))
      throw new Error(`backup: the backup directory ${out} is inside ${archivedDir}, the directory being backed up`);
  }
}

/** True when `needle` occurs in the stream, also across chunk boundaries. */
async function streamContains(stream: NodeJS.ReadableStream, needles: Buffer[]): Promise<boolean> {
  const overlap = Math.max(0, ...needles.map((n) => n.length)) - 1;
  let tail = Buffer.alloc(0);
  for await (const chunk of stream) {
    const window = Buffer.concat([tail, chunk as Buffer]);
    if (needles.some((n) => window.includes(n))) return true;
    tail = window.subarray(Math.max(0, window.length - overlap));
  }
  return false;
}

/**
 * Deletes a written file that contains the key and throws (gzip archives are scanned decompressed). pg_dump's
 * custom format compresses table data, so for the dumps this is a second line only: the first is that
 * the database never holds the key (only a value sealed with it, settings.master_key_check).
 */
export async function assertKeyAbsent(files: readonly string[], needles: Buffer[]): Promise<void> {
  if (!needles.length) return;
  for (const file of files) {
    const raw = createReadStream(file);
    const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    if (await streamContains(stream, needles)) {
      await rm(file, { force: true });
      throw new Error(`backup: ${file} contains the master key; it was not kept. Back the key up apart.`);
    }
  }
}
