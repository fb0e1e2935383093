/**
 * SonicWall certificates (docs/vendors/sonicwall.md): listing, the firmware's import path, and
 * stage. SonicOS 7: the PKCS#12 is uploaded in the documented
 * `PUT import/certificates/cert-key-pair/name/{NAME}/password/{PASSWD}` (multipart). SonicOS 6.5
 * (no upload path): it is put on the target's FTP server under a random name, the firewall is told to
 * import it from there (`cert-key-pair-ftp`), and the file is deleted at once (also when the
 * import fails). Both: 3DES (the legacy encryption old SonicOS requires), a random password of
 * letters and digits (pitfall 4), committed, then read back by name (serial from the certificate's
 * details). The object name derives from the version (objectName), so a retry finds and reuses it.
 * Staged objects: `cert` (the certificate name).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { buildPfx } from '../../crypto/pem';
import { classified, ClassifiedError } from '../../errors';
import { objectName, type NameRules } from '../naming';
import type { CertificateMaterial, StagedObjects } from '../types';
import { learnWireSecret } from '../wire-transcript';
import type { SonicWallClient, SonicResponse } from './client';
import type { SonicWallOptions } from './descriptor';
import { COMPONENT, ok, type SonicFailures } from './failures';
import type { FtpDrop } from './ftp-drop';
import type { SonicSession } from './session';

/**
 * Certificate names: letters, digits, '_' and '-' only (they travel in URL paths).
 * GUESS: 32 characters; no source gives a SonicOS limit.
 */
export const SONICWALL_NAME_RULES: NameRules = { maxLength: 32, allowed: /[A-Za-z0-9_-]/ };

/** A certificate as `reporting/certificates` lists it: a name (the list has no serial). */
export interface ListedCertificate {
  name: string;
}

const normaliseSerial = (raw: string): string =>
  raw
    .replace(/[^0-9a-fA-F]/g, '')
    .toLowerCase()
    .replace(/^0+/, '') || '0';

/**
 * The 7.0.1 OpenAPI list (`show_status_certs_list`): a top-level array of `{certificate, type,
 * validated, expires_on, expired_on}` (generalsle1n/SonicWallGen7 api/openapi.yaml).
 * Anything else is not a certificate list: undefined.
 */
export function listedCertificates(list: unknown): ListedCertificate[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: ListedCertificate[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const name = (item as Record<string, unknown>)['certificate'];
    if (typeof name === 'string' && name !== '') out.push({ name });
  }
  return out;
}

/** The import path a firmware takes (docs/vendors/sonicwall.md): SonicOS 7 and later upload; 6.x pulls over FTP. */
export type ImportPath = 'upload' | 'ftp';

/** Major and minor of "SonicOS 7.0.1-5145" / "SonicOS Enhanced 6.5.4.4-44n"; undefined when unreadable. */
export function firmwareRelease(firmware: string | undefined): { major: number; minor: number } | undefined {
  const match = /(\d+)\.(\d+)/.exec(firmware ?? '');
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** ASSUMPTION: an unreadable version is treated as SonicOS 7 (the current release line). */
export const importPathFor = (firmware: string | undefined): ImportPath =>
  (firmwareRelease(firmware)?.major ?? 7) >= 7 ? 'upload' : 'ftp';

/** Letters and digits only: nothing to encode in the import URL (docs/vendors/sonicwall.md). */
function safePassword(length = 24): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

export interface SonicImportContext {
  client: SonicWallClient;
  options: SonicWallOptions;
  failures: SonicFailures;
  session: SonicSession;
  /** The FTP drop, when the target names one (needed for SonicOS 6.5 only). */
  ftp: FtpDrop | undefined;
  /** Files this target uploads start with this, so a later attempt can remove leftovers of its own only. */
  filePrefix: string;
  importTimeoutMs: number;
}

export interface SonicImports {
  listCertificates: () => Promise<ListedCertificate[]>;
  /** The firmware version string, and the import path it takes. */
  firmwareOf: () => Promise<{ firmware?: string; model?: string; path: ImportPath }>;
  /** The VALIDATION error of a SonicOS 6.x target without an FTP drop. */
  noFtpFor65: (firmware: string | undefined) => ClassifiedError;
  /** Imports the version under its derived name (reused when a retry finds it). */
  stage(material: CertificateMaterial): Promise<StagedObjects>;
}

export function sonicImports({
  client,
  options,
  failures,
  session: sessions,
  ftp,
  filePrefix,
  importTimeoutMs,
}: SonicImportContext): SonicImports {
  const { expect, failure } = failures;
  const { session, commit, discardQuietly } = sessions;

  async function listCertificates(): Promise<ListedCertificate[]> {
    const r = expect(await client.listCertificates(), 'list certificates');
    const listed = listedCertificates(r.list);
    if (!listed)
      throw classified(
        FailureType.targetRejected,
        `${COMPONENT}: list certificates: the firewall's answer is not the documented list (a JSON array of certificates)`,
      );
    return listed;
  }

  /**
   * The serial of an imported certificate, read back from its details (`reporting/certificates/name`,
   * `certificate_serial_number`); undefined when the firmware does not say (ASSUMPTION: older
   * releases may not offer the details call).
   */
  async function serialOf(name: string): Promise<string | undefined> {
    const r = await client.certificateDetail(name);
    if (!ok(r)) return undefined;
    const raw = r.body?.['certificate_serial_number'];
    return typeof raw === 'string' && raw !== '' ? normaliseSerial(raw) : undefined;
  }

  /** The firmware version string, and the import path it takes. */
  async function firmwareOf(): Promise<{ firmware?: string; model?: string; path: ImportPath }> {
    const version = expect(await client.version(), 'read the firmware version');
    const fw = version.body?.['firmware_version'];
    const model = version.body?.['model'];
    const firmware = typeof fw === 'string' && fw ? fw : undefined;
    return {
      ...(firmware ? { firmware } : {}),
      ...(typeof model === 'string' && model ? { model } : {}),
      path: importPathFor(firmware),
    };
  }

  const noFtpFor65 = (firmware: string | undefined): ClassifiedError =>
    classified(
      FailureType.validation,
      `${COMPONENT}: the firewall runs ${firmware ?? 'SonicOS 6.x'}, which has no certificate upload in its API: it must download the certificate from an FTP server. Enter the FTP server, user and password on the target (or upgrade to SonicOS 7).`,
    );

  /**
   * SonicOS 6.5: the PKCS#12 goes to the FTP drop under a random name, the firewall pulls it
   * (`cert-key-pair-ftp`), and the file is deleted at once, also when the import fails. Should the
   * deletion fail, nothing is committed (logout drops the import) and the retry's sweep removes it.
   */
  async function importOverFtp(drop: FtpDrop, name: string, pfx: Buffer, pfxPassword: string): Promise<SonicResponse> {
    await drop.sweep(filePrefix);
    const file = await drop.upload(`${filePrefix}${randomBytes(8).toString('hex')}.p12`, pfx);
    let imported: SonicResponse;
    try {
      imported = await client.importCertKeyPairFtp(name, pfxPassword, file.url, importTimeoutMs);
    } catch (error) {
      await drop.remove(file.remotePath).catch(() => undefined); // the import's error is the one to report
      throw error;
    }
    try {
      await drop.remove(file.remotePath);
    } catch (error) {
      if (!(error instanceof ClassifiedError)) throw error;
      throw classified(
        error.type,
        `${error.message}. The import was not committed; the next attempt removes the file first.`,
        error.retryAfterMs,
      );
    }
    return imported;
  }

  async function stage(material: CertificateMaterial): Promise<StagedObjects> {
    const name = objectName(material.commonName, material.serialHex, SONICWALL_NAME_RULES);
    const serial = normaliseSerial(material.serialHex);
    /** Ours when listed under its name and, where the details give a serial, with our serial. */
    const reuse = async (listed: ListedCertificate[]): Promise<boolean> => {
      if (!listed.some((c) => c.name === name)) return false;
      const seen = await serialOf(name);
      if (seen !== undefined && seen !== serial) {
        throw classified(
          FailureType.targetRejected,
          `${COMPONENT}: a different certificate is already named ${name} on the firewall; it was left alone. Rename or delete it, then retry.`,
        );
      }
      return true;
    };
    return session(async () => {
      const { firmware, path } = await firmwareOf();
      if (await reuse(await listCertificates())) return { cert: name };
      if (path === 'ftp' && !ftp) throw noFtpFor65(firmware);

      const pfxPassword = safePassword();
      // It travels in the import path (and the FTP variant's): never into a wire transcript.
      learnWireSecret(pfxPassword);
      const pfx = buildPfx({
        keyPem: material.keyPem,
        certPem: material.certPem,
        chainPems: material.chainPems,
        password: pfxPassword,
        friendlyName: name,
        algorithm: '3des',
      });
      const imported =
        ftp && path === 'ftp'
          ? await importOverFtp(ftp, name, pfx, pfxPassword)
          : await client.importCertKeyPair(name, pfxPassword, pfx, importTimeoutMs);
      if (!ok(imported)) {
        if (
          /exist/i.test(`${imported.info?.code ?? ''} ${imported.info?.message ?? ''}`) &&
          (await reuse(await listCertificates()))
        )
          return { cert: name };
        const error = failure(imported, path === 'ftp' ? `import ${name} over FTP` : `import ${name}`);
        await discardQuietly();
        if (error.type !== FailureType.targetRejected || path !== 'ftp') throw error;
        throw classified(
          FailureType.targetRejected,
          `${error.message}. Check that the firewall reaches ${options.ftpUrlHost}:${options.ftpPort} (option "FTP server as the firewall sees it") and may log in there.`,
        );
      }
      await commit(`import ${name}`);
      if (!(await reuse(await listCertificates())))
        throw classified(
          FailureType.targetRejected,
          `${COMPONENT}: the firewall accepted the import of ${name} but does not list it afterwards`,
        );
      return { cert: name };
    });
  }

  return { listCertificates, firmwareOf, noFtpFor65, stage };
}
