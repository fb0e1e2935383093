/**
 * A renewal run's start as ONE local activity (its bookkeeping reads and writes only PostgreSQL): the
 * run's authority, the renewal facts, the status "issuing" and the plan of ACME directories. Four
 * markers were one each; every part is idempotent per workflow run, so a retry of the whole is safe.
 *
 * A scheduled run reads its facts in a regular activity (it may ask the CA's ARI), so its opening is
 * the authority alone, and `beginIssuance` (the renewal check recorded, the status, the plan) follows
 * once the window says the certificate is due.
 */
import type { RenewalFacts } from './certificates';
import type { CertificateStatus } from './db/repositories/certificates';
import type { AcmeDirectoryPlan, CommandClaimResult, LifecycleAuthorityRequest } from '../temporal/contract';

export interface LifecycleOpeningParts {
  authorizeLifecycle(input: LifecycleAuthorityRequest): Promise<CommandClaimResult>;
  loadRenewalFacts(input: { certificateId: string }): Promise<RenewalFacts>;
  recordRenewalCheck(input: { certificateId: string }): Promise<void>;
  markCertificateStatus(input: { certificateId: string; status: CertificateStatus; error?: string }): Promise<void>;
  planAcmeDirectories(input: { certificateId: string }): Promise<AcmeDirectoryPlan>;
}

/**
 * Refused (not started by CertFleet), or accepted; without `scheduled` also the facts and, when the
 * certificate exists, the directory plan (its status is "issuing" then).
 */
export type LifecycleOpening = { refused: string } | { actor: string; facts?: RenewalFacts; plan?: AcmeDirectoryPlan };

export function createLifecycleOpening(parts: LifecycleOpeningParts) {
  const beginIssuance = async (input: {
    certificateId: string;
    recordRenewalCheck?: boolean;
  }): Promise<AcmeDirectoryPlan> => {
    const { certificateId } = input;
    if (input.recordRenewalCheck) await parts.recordRenewalCheck({ certificateId });
    await parts.markCertificateStatus({ certificateId, status: 'issuing' });
    return parts.planAcmeDirectories({ certificateId });
  };
  return {
    async openLifecycleRun(input: LifecycleAuthorityRequest & { scheduled: boolean }): Promise<LifecycleOpening> {
      const { scheduled, ...request } = input;
      const authority = await parts.authorizeLifecycle(request);
      if (!authority.accepted) return { refused: authority.reason };
      if (scheduled) return { actor: authority.actor };
      const facts = await parts.loadRenewalFacts({ certificateId: input.certificateId });
      if (!facts.exists) return { actor: authority.actor, facts };
      return { actor: authority.actor, facts, plan: await beginIssuance({ certificateId: input.certificateId }) };
    },

    /** A scheduled run that is due: the check recorded, the status "issuing", the directory plan. */
    beginIssuance,
  };
}
