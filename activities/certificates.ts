import type { CertificateRecord, CertificateStatus } from './db/repositories/certificates';
import { getCertificate, recordRenewalCheck, setCertificateStatus } from './db/repositories/certificates';
import { policyFromRow } from './domain/renewal-policy';
import type { RenewalInfoFacts } from './domain/renewal-info';
import { checkRenewalInfo, renewalInfoFactsOf, renewalInfoPollDue } from './acme/ari-check';
import { getRenewalInfo } from './db/repositories/renewal-info';
import type { ActivityDeps } from './deps';
import type { Queryable } from './db/pool';
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

/**
 * A scheduled check's first look, PostgreSQL only: the renewal facts with the CA's last ARI answer as
 * stored, and whether the CA is due to be asked again (then the lifecycle run asks it).
 */
export interface ScheduledCheckFacts extends RenewalFacts {
  ariPollDue: boolean;
}

const MISSING: RenewalFacts = { exists: false, enabled: false, commonName: '', policy: { mode: 'fraction' } };

function factsOf(cert: CertificateRecord): RenewalFacts {
  return {
    exists: true,
    enabled: cert.enabled,
    commonName: cert.commonName,
    policy: policyFromRow(cert.renewalMode, cert.renewalValue),
    ...(cert.notBefore && cert.notAfter
      ? { current: { notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString() } }
      : {}),
  };
}

/** A scheduled check's facts at `now`, from PostgreSQL alone (the activity `loadScheduledCheckFacts`). */
export async function scheduledCheckFactsOf(
  db: Queryable,
  certificateId: string,
  now: Date,
): Promise<ScheduledCheckFacts> {
  const cert = await getCertificate(db, certificateId);
  if (!cert) return { ...MISSING, ariPollDue: false };
  if (!cert.enabled || !cert.currentVersionId) return { ...factsOf(cert), ariPollDue: false };
  const stored = await getRenewalInfo(db, cert.id);
  if (stored && !renewalInfoPollDue(stored, cert.currentVersionId, now))
    return { ...factsOf(cert), renewalInfo: renewalInfoFactsOf(stored), ariPollDue: false };
  return { ...factsOf(cert), ariPollDue: true };
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
      if (!cert) return MISSING;
      const renewalInfo =
        input.renewalInfo && cert.enabled
          ? await checkRenewalInfo({ db: deps.db, ...(deps.ari ? { bounds: deps.ari } : {}) }, cert)
          : undefined;
      return { ...(renewalInfo ? { renewalInfo } : {}), ...factsOf(cert) };
    },

    /**
     * What a scheduled check decides with before any lifecycle run starts (a local activity: it never
     * calls the CA). Most hourly checks end here (not due, nothing to ask the CA), so a check costs one
     * workflow task instead of a lifecycle run; the lifecycle asks the CA's ARI when `ariPollDue`.
     */
    async loadScheduledCheckFacts(input: { certificateId: string }): Promise<ScheduledCheckFacts> {
      return scheduledCheckFactsOf(deps.db, input.certificateId, new Date());
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
