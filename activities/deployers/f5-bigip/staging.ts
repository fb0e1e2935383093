/**
 * Staging files on the device: chunked upload to /var/config/rest/downloads (a failed chunk restarts
 * the file from byte 0, as f5-ansible's `upload_file`), install as ssl-cert / ssl-key objects, and
 * removal of the uploaded file. Objects that already exist are reused when their fingerprint matches,
 * so a retried stage never imports twice. docs/vendors/f5-bigip.md, "The calls, in order".
 */
import { randomBytes } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import { BigipHttpError, type BigipClient } from './client';
import { COMPONENT, restartableUploadError } from './failures';

const DOWNLOADS = '/var/config/rest/downloads';

export interface StagingSettings {
  chunkSize: number;
  uploadAttempts: number;
}

const fingerprintHex = (value: string): string =>
  value
    .replace(/^SHA256\//i, '')
    .replace(/:/g, '')
    .toLowerCase();

// Unique per upload: deploys of different leaves to one device share the chain object, and one
// deploy's install-then-remove of a shared file name would pull it from under the other's install.
const uploadName = (fullPath: string): string =>
  `certfleet-${randomBytes(4).toString('hex')}${fullPath.replace(/\//g, '_')}`;

export function createStaging(
  client: BigipClient,
  settings: StagingSettings,
): {
  ensureCert: (fullPath: string, pem: string, fingerprint: string) => Promise<void>;
  ensureKey: (fullPath: string, keyPem: string) => Promise<void>;
} {
  async function upload(fileName: string, bytes: Buffer): Promise<string> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= settings.uploadAttempts; attempt++) {
      try {
        let localFilePath = `${DOWNLOADS}/${fileName}`;
        for (let start = 0; start < bytes.length; start += settings.chunkSize) {
          const reply = await client.uploadChunk(
            fileName,
            bytes.subarray(start, start + settings.chunkSize),
            start,
            bytes.length,
          );
          localFilePath = reply.localFilePath;
        }
        return localFilePath;
      } catch (error) {
        if (!restartableUploadError(error)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  async function removeUpload(localFilePath: string): Promise<void> {
    try {
      await client.removeUploadedFile(localFilePath);
    } catch {
      // Best effort: the file is in the device's REST downloads folder only.
    }
  }

  async function ensureCert(fullPath: string, pem: string, fingerprint: string): Promise<void> {
    const same = (found: { fingerprint?: string }): void => {
      if (found.fingerprint && fingerprintHex(found.fingerprint) !== fingerprint.toLowerCase()) {
        throw classified(
          FailureType.targetRejected,
          `${COMPONENT}: ssl-cert ${fullPath} already exists with another certificate (SHA-256 ${fingerprintHex(found.fingerprint).slice(0, 16)}…, expected ${fingerprint.slice(0, 16)}…); rename or remove it on the device`,
        );
      }
    };
    const existing = await client.getCert(fullPath);
    if (existing) return same(existing);
    const local = await upload(uploadName(fullPath), Buffer.from(pem));
    try {
      await client.installCert(fullPath, local);
    } catch (error) {
      // Installed by a concurrent or interrupted attempt: fine when it is the same certificate.
      const found =
        error instanceof BigipHttpError && error.status === 409 ? await client.getCert(fullPath) : undefined;
      if (!found) throw error;
      same(found);
    } finally {
      await removeUpload(local);
    }
  }

  /** A key object of this name belongs to this version's serial; the profile's key/cert match check guards the pair. */
  async function ensureKey(fullPath: string, keyPem: string): Promise<void> {
    if (await client.getKey(fullPath)) return;
    const local = await upload(uploadName(fullPath), Buffer.from(keyPem));
    try {
      await client.installKey(fullPath, local);
    } catch (error) {
      if (!(error instanceof BigipHttpError && error.status === 409 && (await client.getKey(fullPath)))) throw error;
    } finally {
      await removeUpload(local);
    }
  }

  return { ensureCert, ensureKey };
}
