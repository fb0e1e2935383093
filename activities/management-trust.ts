/**
 * How a deploy trusts a target's management HTTPS, and how that trust follows a certificate the
 * deploy bound to the device's own admin GUI (FortiGate `admin-server-cert`, SonicWall web
 * management, PAN-OS management profile). See docs/management-trust.md.
 *
 * - During a run, the target's CA or pin is extended with the fingerprints of the versions the run
 *   deploys (`alsoAccept`): their keys are ours, so a device presenting one of them is the device we
 *   just configured. This keeps stage, activate, rollback and cleanup working across the rebinding.
 * - After a verified deploy whose management port now serves the version's certificate, the target
 *   is pinned to it: a pinned target is re-pinned, a CA-trusted one switches to the pin unless its
 *   CA still verifies the new certificate for the host (an internal CA issuing through ACME). Not
 *   "trust the new issuer for the host": a public certificate never names a management IP, and
 *   trusting a public CA for a name accepts any certificate it issues. The pin is part of the secrets' endpoint
 *   (docs/secret-binding.md), so the credentials are sealed again in the same transaction, and the
 *   change is written to the audit log by the system actor.
 */
import { createHash } from 'node:crypto';
import { isIP, type LookupFunction } from 'node:net';
import { connect } from 'node:tls';
import { sealTargetCredentials, sealTargetSessionKey } from './crypto/bound-secrets';
import type { SecretBox } from './crypto/secret-box';
import type { Database } from './db/pool';
import { appendAudit } from './db/repositories/audit-log';
import { repinTarget, type TargetRecord } from './db/repositories/targets';
import type { ManagementTrust } from './deployers/types';
import { checkTargetAddress, guardedLookup } from './target-address';
import { closeProbeSocket } from './tls-probe';

/** The actor of audit entries the worker writes on its own. */
export const WORKER_ACTOR = 'certfleet-worker';
export const REPIN_AUDIT_ACTION = 'target.management-repin';

/** The trust a deploy step connects with: the target's own (pin, or CA) plus the versions of the run. */
export function managementTrustOf(
  target: Pick<TargetRecord, 'trustFingerprint' | 'trustCaPem'>,
  alsoAccept: string[],
): ManagementTrust {
  if (target.trustFingerprint) return { fingerprintSha256: target.trustFingerprint, alsoAccept };
  // Targets without management TLS (SSH, manual) have no trust: an empty CA trusts nothing but the run's versions, if ever used.
  return { caPem: target.trustCaPem ?? '', alsoAccept };
}

/** The trust as the audit log shows it: a pin by its fingerprint, a CA bundle by its SHA-256 (never the PEM). */
export function describeTrust(target: Pick<TargetRecord, 'trustFingerprint' | 'trustCaPem'>): Record<string, string> {
  if (target.trustFingerprint) return { fingerprintSha256: target.trustFingerprint };
  if (target.trustCaPem) return { caBundleSha256: createHash('sha256').update(target.trustCaPem).digest('hex') };
  return {};
}

export interface FollowDeps {
  db: Database;
  box: SecretBox;
  /** The target's credentials, opened for its endpoint as it is now (throws when they do not open). */
  credentialsOf: (target: TargetRecord) => Record<string, string>;
  /** A cached session key, or undefined when there is none that opens. */
  sessionKeyOf(target: TargetRecord): string | undefined;
}

export interface FollowInput {
  target: TargetRecord;
  version: { id: string; fingerprintSha256: string };
  deploymentId: string;
  commonName: string;
}

export type FollowOutcome =
  | {
      changed: false;
      reason:
        | 'no management TLS'
        | 'already pinned'
        | 'serves another certificate'
        | 'its CA still verifies it'
        | 'the target changed meanwhile';
    }
  | { changed: true; before: Record<string, string>; after: { fingerprintSha256: string } };

/**
 * After a VERIFIED deploy: when the management port serves the deployed version, pin it (see the
 * header). The address is checked against the target network policy before the handshake, and the
 * handshake's own DNS answer too (guardedLookup), as the device connections of a deploy are. Idempotent: once pinned, a retry changes nothing and audits nothing.
 */
export async function followManagementCertificate(deps: FollowDeps, input: FollowInput): Promise<FollowOutcome> {
  const { target, version } = input;
  if (!target.trustFingerprint && !target.trustCaPem) return { changed: false, reason: 'no management TLS' };
  if (target.trustFingerprint === version.fingerprintSha256) return { changed: false, reason: 'already pinned' };
  const allowed = await checkTargetAddress(deps.db, target.vendor, target.host);
  // The fingerprint is compared with a certificate whose key we hold, so the handshake itself needs no trust.
  const served = await managementHandshake(target, guardedLookup(target.vendor, allowed)).catch(() => undefined);
  if (served?.fingerprintSha256 !== version.fingerprintSha256)
    return { changed: false, reason: 'serves another certificate' };
  if (served.caVerifies) return { changed: false, reason: 'its CA still verifies it' };
  const repinned = { ...target, trustFingerprint: version.fingerprintSha256, trustCaPem: null };
  const sessionKey = target.sessionKeySealed ? deps.sessionKeyOf(target) : undefined;
  const sealed = {
    trustFingerprint: version.fingerprintSha256,
    credentialsSealed: sealTargetCredentials(deps.box, repinned, deps.credentialsOf(target)),
    sessionKeySealed: sessionKey === undefined ? null : sealTargetSessionKey(deps.box, repinned, sessionKey),
  };
  const before = describeTrust(target);
  const after = { fingerprintSha256: version.fingerprintSha256 };
  const applied = await deps.db.withTransaction(async (tx) => {
    if (!(await repinTarget(tx, target, sealed))) return false;
    await appendAudit(tx, {
      actor: WORKER_ACTOR,
      action: REPIN_AUDIT_ACTION,
      entityType: 'target',
      entityId: target.id,
      before: { trust: before },
      after: {
        name: target.name,
        trust: after,
        reason: `a verified deploy of ${input.commonName} bound the management GUI to this certificate`,
        deploymentId: input.deploymentId,
        versionId: version.id,
      },
    });
    return true;
  });
  return applied ? { changed: true, before, after } : { changed: false, reason: 'the target changed meanwhile' };
}

/**
 * One TLS handshake with the management port: the leaf's SHA-256, and whether the target's CA (if it
 * has one) verifies it for the host (chain and name, Node's own check on a fresh, unresumed session).
 */
function managementHandshake(
  target: Pick<TargetRecord, 'host' | 'port' | 'trustCaPem'>,
  lookup: LookupFunction,
  timeoutMs = 10_000,
): Promise<{ fingerprintSha256: string; caVerifies: boolean }> {
  const servername = isIP(target.host) ? undefined : target.host;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      lookup,
      rejectUnauthorized: false,
      ...(servername ? { servername } : {}),
      ...(target.trustCaPem ? { ca: target.trustCaPem } : {}),
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprintSha256 = (socket.getPeerCertificate().fingerprint256 ?? '').replace(/:/g, '').toLowerCase();
      const caVerifies = Boolean(target.trustCaPem) && socket.authorized && !socket.isSessionReused();
      closeProbeSocket(socket);
      resolve({ fingerprintSha256, caVerifies });
    });
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
