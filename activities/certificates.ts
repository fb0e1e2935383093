import type { CertificateStatus } from './db/repositories/certificates';
import { getCertificate, recordRenewalCheck, setCertificateStatus } from './db/repositories/certificates';
import { policyFromRow } from './domain/renewal-policy';
import type { ActivityDeps } from './deps';
import type { RenewalPolicy } from '../temporal/contract';

export interface RenewalFacts {
  exists: boolean;
  enabled: boolean;
  commonName: string;
  policy: RenewalPolicy;
  current?: { notBefore: string; notAfter: string };
}

export function createCertificateActivities(deps: ActivityDeps) {
  return {
    /** What the workflow needs to decide whether renewal is due (the decision itself is pure, in workflows/lib). */
    async loadRenewalFacts(input: { certificateId: string }): Promise<RenewalFacts> {
      const cert = await getCertificate(deps.db, input.certificateId);
      if (!cert) return { exists: false, enabled: false, commonName: '', policy: { mode: 'fraction' } };
      return {
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
