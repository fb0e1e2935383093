/**
 * The secrets a deploy step opens, always for the target's endpoint as it is now
 * (docs/secret-binding.md), and the redactor of the step's wire transcript built from them.
 */
import { openBoundOr, openTargetCredentials, openTargetSessionKey } from './crypto/bound-secrets';
import { splitPemChain } from './crypto/pem';
import type { CertificateMaterial } from './deployers/types';
import type { KeyType } from './domain/key-types';
import { SecretPurpose } from './crypto/secret-box';
import type { CertificateVersion } from './db/repositories/certificate-versions';
import type { TargetRecord } from './db/repositories/targets';
import type { ActivityDeps } from './deps';
import { WireRedactor } from './domain/wire-redaction';
import { classified } from './errors';
import { FailureType } from '../temporal/contract';

export interface DeploySecrets {
  /** Throws TARGET_AUTH_FAILED (not retryable) when they were sealed for another endpoint. */
  credentialsOf: (target: TargetRecord) => Record<string, string>;
  sessionKeyOrNothing: (target: TargetRecord, sealed: string) => string | undefined;
  redactorFor: (target: TargetRecord, version: Pick<CertificateVersion, 'keySealed'>) => WireRedactor;
  /** The version as a deployer takes it, its key opened (only inside the activity). */
  materialOf: (version: CertificateVersion, commonName: string) => CertificateMaterial;
}

export function deploySecrets(deps: Pick<ActivityDeps, 'box' | 'vendors'>): DeploySecrets {
  /**
   * The target's credentials, opened with its endpoint as it is now: credentials sealed for another
   * host, port, trust or endpoint option are never sent (nothing is connected to at all).
   */
  const credentialsOf = (target: TargetRecord): Record<string, string> =>
    openBoundOr(
      () => openTargetCredentials(deps.box, target),
      () => {
        throw classified(
          FailureType.targetAuth,
          `${target.vendor}: the stored credentials of ${target.name} belong to another address (host, port, trust or server options changed); edit the target and enter them again`,
        );
      },
    );

  /** A cached device session key sealed for another endpoint is not used: the deployer logs in again with the credentials. */
  const sessionKeyOrNothing = (target: TargetRecord, sealed: string): string | undefined =>
    openBoundOr<string | undefined>(
      () => openTargetSessionKey(deps.box, target, sealed),
      () => undefined,
    );

  /**
   * Redaction for the run's wire transcript: every secret the step could send or meet is known here
   * (the target's credentials but its plain fields such as the user name, a cached session key, the
   * version's private key), so it is removed from the transcript in any encoding.
   */
  const redactorFor = (target: TargetRecord, version: Pick<CertificateVersion, 'keySealed'>): WireRedactor => {
    const plainFields = new Set(
      (deps.vendors[target.vendor]?.credentialFields ?? []).filter((f) => f.kind === 'text').map((f) => f.name),
    );
    let credentials: Record<string, string> = {};
    try {
      credentials = credentialsOf(target);
    } catch {
      // Credentials sealed for another endpoint are never sent: there is nothing of them to remove.
    }
    const values = Object.entries(credentials)
      .filter(([name]) => !plainFields.has(name))
      .map(([, value]) => value);
    const sessionKey = target.sessionKeySealed ? sessionKeyOrNothing(target, target.sessionKeySealed) : undefined;
    if (sessionKey) values.push(sessionKey);
    const keyPems = values.filter((v) => v.includes('PRIVATE KEY'));
    try {
      keyPems.push(deps.box.openText(version.keySealed, SecretPurpose.versionKey));
    } catch {
      // A key that does not open is never sent either (the step fails on it with its own message).
    }
    return new WireRedactor({ values, keyPems });
  };

  const materialOf = (version: CertificateVersion, commonName: string): CertificateMaterial => ({
    versionId: version.id,
    commonName,
    serialHex: version.serialHex,
    fingerprintSha256: version.fingerprintSha256,
    notAfter: version.notAfter,
    keyType: version.keyType as KeyType,
    certPem: version.certPem,
    chainPems: splitPemChain(version.chainPem),
    keyPem: deps.box.openText(version.keySealed, SecretPurpose.versionKey),
  });

  return { credentialsOf, sessionKeyOrNothing, redactorFor, materialOf };
}
