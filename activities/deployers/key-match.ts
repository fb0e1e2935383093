/** The check before anything is written to a device: the version's key belongs to its certificate. */
import { FailureType } from '../../temporal/contract';
import { keyMatchesCertificate } from '../crypto/pem';
import { classified } from '../errors';
import type { CertificateMaterial } from './types';

/** Throws a non-retryable VALIDATION error (`nothingDone` ends it, e.g. "nothing was written") when the key does not match or cannot be read. */
export function checkKeyMatchesCertificate(
  component: string,
  material: CertificateMaterial,
  nothingDone: string,
): void {
  let matches = false;
  try {
    matches = keyMatchesCertificate(material.keyPem, material.certPem);
  } catch (error) {
    throw classified(
      FailureType.validation,
      `${component}: the certificate or key of version ${material.versionId} cannot be read (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (!matches)
    throw classified(
      FailureType.validation,
      `${component}: the key of version ${material.versionId} does not belong to its certificate; ${nothingDone}`,
    );
}
