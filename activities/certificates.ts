import type { CertificateStatus } from './db/repositories/certificates';
import { getCertificate, recordRenewalCheck, setCertificateStatus } from './db/repositories/certificates';
import { policyFromRow } from './domain/renewal-policy';
import type { RenewalInfoFacts } from './domain/renewal-info';
import { checkRenewalInfo } from './acme/ari-check';
import type { ActivityDeps } from './deps';
import type { RenewalPolicy } from '../temporal/contract';

export interface RenewalFacts {
  exists: boolean;
  enabled: boolean;
  commonName: string;
  policy: RenewalPolicy;
  current?: { notBefore: string; notAfter: string };
  /** The CA's ARI view of the current version (absent before the first issuance or when not asked). */
  renewalInfo?: RenewalInfoFacts;
}

export function createCertificateActivities(deps: ActivityDeps) {
  return {
    /**
     * What the workflow needs to decide whether renewal is due (the decision itself is pure, in
     * workflows/lib). With `renewalInfo` (scheduled checks), also the CA's ARI window: the CA is asked
     * only when the stored next-poll time has passed, so a check stays one quick activity.
     */
    async loadRenewalFacts(input: { certificateId: string; renewalInfo?: boolean }): Promise<RenewalFacts> {
      const cert = await getCertificate(deps.db, input.certificateId);
      if (!cert) return { exists: false, enabled: false, commonName: '', policy: { mode: 'fraction' } };
      const renewalInfo =
        input.renewalInfo && cert.enabled
          ? await checkRenewalInfo({ db: deps.db, ...(deps.ari ? { bounds: deps.ari } : {}) }, cert)
          : undefined;
      return {
        ...(renewalInfo ? { renewalInfo } : {}),
        exists: true,
        enabled: cert.enabled,
        commonName: cert.commonName,
        policy: policyFromRow(cert.renewalMode, cert.renewalValue),
        ...(cert.notBefore && cert.notAfter
          ? { current: { notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString() } }
          : {}),
      };
    },

    async markCertificateStatus(input: {
      certificateId: string;
      status: CertificateStatus;
      error?: string;
    }): Promise<void> {
      await setCertificateStatus(deps.db, input.certificateId, input.status, input.error ?? null);
    },

    async recordRenewalCheck(input: { certificateId: string }): Promise<void> {
      await recordRenewalCheck(deps.db, input.certificateId);
    },
  };
}
