/** What the certificate page and the certificate API both show: its versions and its latest run. */
import type { Request } from 'express';
import type { CertificateVersion } from '../activities/db/repositories/certificate-versions';
import type { RenewalInfoRecord } from '../activities/db/repositories/renewal-info';
import { safeExplanationUrl } from '../activities/domain/renewal-info';
import type { RunView } from './commands';
import type { WebDeps } from './deps';
import { temporalUiUrlFor } from './temporal-ui';

/** A version without its sealed key. */
export const publicVersion = (v: CertificateVersion) => ({
  id: v.id,
  serialHex: v.serialHex,
  fingerprintSha256: v.fingerprintSha256,
  notBefore: v.notBefore,
  notAfter: v.notAfter,
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
