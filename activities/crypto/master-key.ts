import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db/pool';
import { createSecretBox, SecretPurpose, type SecretBox, SecretBoxError } from './secret-box';

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

export interface MasterKeySource {
  /** CERTFLEET_MASTER_KEY: 32 bytes as base64 or 64 hex characters. */
  envValue?: string | undefined;
  /** Key file used when the env var is absent (created on first start, mode 0600). */
  keyFile: string;
}

function parseKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new MasterKeyError(`${where} is not a valid master key: expected 32 bytes as base64 or 64 hex characters`);
  }
  return key;
}

async function readKeyFile(file: string): Promise<Buffer | undefined> {
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new MasterKeyError(`master key file ${file} is readable by other users; run: chmod 600 ${file}`);
    }
    return parseKey(await readFile(file, 'utf8'), `master key file ${file}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const CHECK_SETTING = 'master_key_check';
const CHECK_PLAINTEXT = 'certfleet-master-key-check';

/**
 * Resolves the master key and proves it is the one this database was set up with.
 * - env var wins; else the key file; a new key file is only created when the database has never seen a key.
 * - a wrong or missing key is a clear start-up error, never garbage later.
 */
export async function loadMasterKey(source: MasterKeySource, db: Queryable): Promise<SecretBox> {
  const rows = await db.query<{ value: string }>("SELECT value #>> '{}' AS value FROM settings WHERE key = $1", [
    CHECK_SETTING,
  ]);
  const check = rows[0]?.value;
  let key: Buffer | undefined;
  if (source.envValue !== undefined && source.envValue.trim() !== '') {
    key = parseKey(source.envValue, 'CERTFLEET_MASTER_KEY');
  } else {
    key = await readKeyFile(source.keyFile);
  }
  if (!key) {
    if (check) {
      throw new MasterKeyError(
        `no master key: this database holds secrets sealed with a master key, but CERTFLEET_MASTER_KEY is not set and ${source.keyFile} does not exist. Restore the key file or set CERTFLEET_MASTER_KEY.`,
      );
    }
    try {
      await mkdir(path.dirname(source.keyFile), { recursive: true, mode: 0o700 });
      key = randomBytes(32);
      await writeFile(source.keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') {
        throw new MasterKeyError(
          `no master key: CERTFLEET_MASTER_KEY is not set and the key file ${source.keyFile} cannot be created (${code}). ` +
            'Set CERTFLEET_MASTER_KEY (always in containers: openssl rand -base64 32, kept apart from the backups), or make the directory writable.',
        );
      }
      // Another process created the file first: use its key.
      if (code !== 'EEXIST') throw error;
      key = await readKeyFile(source.keyFile);
      if (!key) throw error;
    }
  }
  const box = createSecretBox(key);
  if (!check) {
    // First start: record the check value. A concurrent first start may have won the race with
    // another key, so always verify against what the database holds afterwards.
    await db.query('INSERT INTO settings (key, value) VALUES ($1, to_jsonb($2::text)) ON CONFLICT (key) DO NOTHING', [
      CHECK_SETTING,
      box.seal(CHECK_PLAINTEXT, SecretPurpose.masterKeyCheck),
    ]);
  }
  const stored = (
    await db.query<{ value: string }>("SELECT value #>> '{}' AS value FROM settings WHERE key = $1", [CHECK_SETTING])
  )[0]?.value;
  try {
    if (!stored || box.openText(stored, SecretPurpose.masterKeyCheck) !== CHECK_PLAINTEXT)
      throw new SecretBoxError('mismatch');
  } catch {
    throw new MasterKeyError(
      'wrong master key: it does not match the key this database was set up with. Check CERTFLEET_MASTER_KEY or the key file.',
    );
  }
  return box;
}
