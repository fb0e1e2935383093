/**
 * Revocation activities (RFC 8555 §7.6): the authority check of a revocation the console asked for,
 * the replacement check of a key compromise, and the revocation at the CA. Idempotent: a retry after
 * the CA revoked ("alreadyRevoked") counts as done.
 */
import { X509Certificate } from 'node:crypto';
import { CommandAction, FailureType } from '../../temporal/contract';
import type { ReplacementCheck, RevocationAuthority, RevocationSettings } from '../../temporal/revocation-contract';
import { getVersion } from '../db/repositories/certificate-versions';
import { claimAuditEntry, rejectCommand, waitForAuditEntry } from '../db/repositories/command-claims';
import { listDeploymentsOfCertificate, type DeploymentRecord } from '../db/repositories/deployments';
import {
  directoryOfVersion,
  getRevocation,
  markVersionRevoked,
  setRevocationStatus,
  type RevocationStatus,
} from '../db/repositories/revocations';
import type { ActivityDeps } from '../deps';
import { REVOCATION_REASON_LABELS } from '../domain/revocation-reasons';
import { classified, ClassifiedError } from '../errors';
import { acmeClientForDirectory } from './accounts';
import { withAcmeProblems } from './problems';

export const DEFAULT_REVOCATION_SETTINGS: RevocationSettings = { pollMs: 5 * 60_000, waitMs: 7 * 86_400_000 };

/** How long a revocation may wait for the console's transaction that wrote its entry to commit. */
const ENTRY_COMMIT_WAIT_MS = 10_000;

const digits = (value: unknown): string | undefined =>
  typeof value === 'string' && /^\d{1,18}$/.test(value) ? value : undefined;

/** The key a certificate certifies, to compare a replacement's with the compromised one. */
const publicKeyOf = (certPem: string): string =>
  new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/** What is still missing on one target, and what a technician does about it. */
function pendingOn(d: DeploymentRecord): string {
  switch (d.status) {
    case 'ready':
      return `${d.targetName}: install it by hand, then press "Mark as done" on its deployment`;
    case 'failed':
      return `${d.targetName}: the deploy failed (${d.lastError ?? 'no detail'}); fix the target and press Retry on its deployment`;
    case 'waiting':
      return `${d.targetName}: waiting for its maintenance window ("Deploy now" on its deployment goes ahead)`;
    default:
      return `${d.targetName}: ${d.status}`;
  }
}

export function createRevocationActivities(deps: ActivityDeps) {
  return {
    async loadRevocationSettings(_input: Record<string, never>): Promise<RevocationSettings> {
      return deps.revocation ?? DEFAULT_REVOCATION_SETTINGS;
    },

    /**
     * The revocation row the console wrote, checked against the audit entry written with it and that
     * entry claimed once: a workflow started by anyone else (or twice) changes nothing and is recorded.
     */
    async authorizeRevocation(input: {
      revocationId: unknown;
      auditId: unknown;
      workflowId: string;
      runId: string;
    }): Promise<RevocationAuthority> {
      const auditId = digits(input.auditId);
      const revocationId = digits(input.revocationId);
      if (auditId !== undefined) await waitForAuditEntry(deps.db, auditId, ENTRY_COMMIT_WAIT_MS);
      const revocation = revocationId ? await getRevocation(deps.db, revocationId) : undefined;
      const claimId = `${input.workflowId}/${input.runId}/start`;
      const rejection = { action: 'start-rejected', after: { command: 'start', workflowId: input.workflowId } };
      return deps.db.withTransaction(async (tx) => {
        const target = { claimId, entityType: 'certificate', entityId: revocation?.certificateId ?? '-' };
        if (!revocation)
          return rejectCommand(tx, target, `revocation ${String(input.revocationId)} does not exist`, rejection);
        if (auditId !== revocation.auditId)
          return rejectCommand(
            tx,
            target,
            `audit entry ${auditId ?? '-'} is not the one of revocation ${revocation.id}`,
            rejection,
          );
        const claim = await claimAuditEntry(tx, { ...target, auditId, action: CommandAction.revoke }, rejection);
        if (!claim.accepted) return claim;
        return {
          accepted: true,
          certificateId: revocation.certificateId,
          versionId: revocation.versionId,
          replace: revocation.replace,
          ...(revocation.renewAuditId ? { renewAuditId: revocation.renewAuditId } : {}),
        };
      });
    },

    async setRevocationState(input: {
      revocationId: string;
      status: RevocationStatus;
      detail: string | null;
      replacementVersionId?: string;
    }): Promise<void> {
      await setRevocationStatus(deps.db, input.revocationId, input.status, input.detail, input.replacementVersionId);
    },

    /**
     * Where the replacement of a compromised version stands: the certificate's current version once it
     * is newer than the compromised one, live on every linked target (deployed and verified by its
     * deploy, or marked done by hand for a manual target). Refuses a replacement that certifies the
     * compromised key (the lifecycle generates a new key per order; this makes sure).
     */
    async checkReplacement(input: { certificateId: string; compromisedVersionId: string }): Promise<ReplacementCheck> {
      const [row] = await deps.db.query<{ currentVersionId: string | null }>(
        'SELECT current_version_id AS "currentVersionId" FROM certificates WHERE id = $1',
        [input.certificateId],
      );
      const currentId = row?.currentVersionId;
      if (!currentId || BigInt(currentId) <= BigInt(input.compromisedVersionId))
        return { verified: false, detail: 'Issuing a replacement with a new key.' };
      const [old, replacement] = await Promise.all([
        getVersion(deps.db, input.compromisedVersionId),
        getVersion(deps.db, currentId),
      ]);
      if (!old || !replacement) throw classified(FailureType.notFound, 'revoke: a version of the certificate is gone');
      if (publicKeyOf(old.certPem) === publicKeyOf(replacement.certPem))
        throw classified(
          FailureType.validation,
          'revoke: the replacement certifies the compromised key; the old version was not revoked. Renew again, then revoke it.',
        );
      const deployments = await listDeploymentsOfCertificate(deps.db, input.certificateId);
      const pending = deployments.filter((d) => !(d.status === 'deployed' && d.currentVersionId === currentId));
      if (pending.length === 0)
        return { verified: true, replacementVersionId: currentId, detail: 'Every target serves the replacement.' };
      return {
        verified: false,
        replacementVersionId: currentId,
        detail: `The compromised version is revoked once every target serves the replacement. Not yet: ${pending.map(pendingOn).join('; ')}.`,
      };
    },

    /** Revokes the version at the CA with the revocation's reason, and records it. */
    async revokeVersion(input: { revocationId: string }): Promise<{ revokedAt: string }> {
      const revocation = await getRevocation(deps.db, input.revocationId);
      if (!revocation) throw classified(FailureType.notFound, `revoke: revocation ${input.revocationId} not found`);
      const version = await getVersion(deps.db, revocation.versionId);
      const directoryId = await directoryOfVersion(deps.db, revocation.versionId);
      if (!version || !directoryId)
        throw classified(FailureType.notFound, `revoke: version ${revocation.versionId} not found`);
      if (!(await isRevoked(deps, version.id))) {
        const client = await acmeClientForDirectory(deps.db, deps.box, deps.acme, directoryId);
        const what = `revoke serial ${version.serialHex} (${REVOCATION_REASON_LABELS[revocation.reason]})`;
        try {
          await withAcmeProblems(what, () => client.revokeCertificate(version.certPem, { reason: revocation.reason }));
        } catch (error) {
          // A retry after the CA revoked it (the answer was lost, or the worker stopped before recording it).
          if (!(error instanceof ClassifiedError && /: alreadyRevoked:/.test(error.message))) throw error;
        }
        await markVersionRevoked(deps.db, version.id, revocation.reason);
      }
      const [row] = await deps.db.query<{ revokedAt: Date }>(
        'SELECT revoked_at AS "revokedAt" FROM certificate_versions WHERE id = $1',
        [version.id],
      );
      return { revokedAt: (row?.revokedAt ?? new Date()).toISOString() };
    },
  };
}

async function isRevoked(deps: ActivityDeps, versionId: string): Promise<boolean> {
  const [row] = await deps.db.query<{ revoked: boolean }>(
    'SELECT revoked_at IS NOT NULL AS revoked FROM certificate_versions WHERE id = $1',
    [versionId],
  );
  return row?.revoked === true;
}
