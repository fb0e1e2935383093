/** What the certificate page and the certificate API both show: its versions and its latest run. */
import type { Request } from 'express';
import type { CertificateVersion } from '../activities/db/repositories/certificate-versions';
import type { Queryable } from '../activities/db/pool';
import { listRevocations, versionRevocations } from '../activities/db/repositories/revocations';
import { REVOCATION_REASON_LABELS, reasonName } from '../activities/domain/revocation-reasons';
import type { RenewalInfoRecord } from '../activities/db/repositories/renewal-info';
import { safeExplanationUrl } from '../activities/domain/renewal-info';
import type { RunView } from './commands';
import type { WebDeps } from './deps';
import { temporalUiUrlFor } from './temporal-ui';

/** A version without its sealed key. */
export const publicVersion = (v: CertificateVersion & { profile?: string | null }) => ({
  id: v.id,
  serialHex: v.serialHex,
  fingerprintSha256: v.fingerprintSha256,
  notBefore: v.notBefore,
  notAfter: v.notAfter,
  /** The issued lifetime (notAfter - notBefore), in seconds. */
  lifetimeSeconds: Math.round((v.notAfter.getTime() - v.notBefore.getTime()) / 1000),
  ...(v.profile !== undefined ? { profile: v.profile } : {}),
  keyType: v.keyType,
  createdAt: v.createdAt,
});

/** The latest run's progress; with Temporal unreachable, a run that does not exist and says why. */
export const latestRunOrUnreachable = (
  deps: Pick<WebDeps, 'commands' | 'temporal'>,
  req: Pick<Request, 'user'>,
  certificateId: string,
): Promise<RunView> =>
  deps.commands.describeLatestRun(certificateId, temporalUiUrlFor(deps, req)).catch((error: unknown) => ({
    exists: false,
    running: false,
    steps: [],
    queryError: `Temporal is unreachable: ${(error as Error).message}`,
  }));

/** The certificate's versions as shown (newest first), each with its revocation ("revoked (reason, when)") if any. */
export async function publicVersions(db: Queryable, certificateId: string, versions: CertificateVersion[]) {
  const revoked = await versionRevocations(db, certificateId);
  return versions.map((v) => {
    const r = revoked.get(v.id);
    return {
      ...publicVersion(v),
      revokedAt: r?.revokedAt ?? null,
      revocationReason: r ? reasonName(r.reason) : null,
      ...(r ? { revocationLabel: REVOCATION_REASON_LABELS[r.reason] } : {}),
      expired: v.notAfter.getTime() <= Date.now(),
    };
  });
}

/** The certificate's revocations (newest first): what was asked, where it stands, and what to do when held. */
export async function publicRevocations(db: Queryable, certificateId: string) {
  return (await listRevocations(db, certificateId)).map((r) => ({
    id: r.id,
    versionId: r.versionId,
    reason: reasonName(r.reason),
    reasonLabel: REVOCATION_REASON_LABELS[r.reason],
    replace: r.replace,
    status: r.status,
    detail: r.detail,
    replacementVersionId: r.replacementVersionId,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }));
}
/**
 * The CA's ARI view of the current version (RFC 9773), as the page and the API show it; null before
 * the first scheduled check. explanationUrl is checked again here: only an https URL becomes a link.
 */
export const publicRenewalInfo = (r: RenewalInfoRecord | undefined) =>
  r
    ? {
        kind: r.kind,
        certId: r.certId,
        windowStart: r.windowStart,
        windowEnd: r.windowEnd,
        renewAt: r.renewAt,
        explanationUrl: safeExplanationUrl(r.explanationUrl) ?? null,
        error: r.error,
        polledAt: r.polledAt,
        nextPollAt: r.nextPollAt,
      }
    : null;
