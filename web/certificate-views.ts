/** What the certificate page and the certificate API both show: its versions and its latest run. */
import type { Request } from 'express';
import type { CertificateVersion } from '../activities/db/repositories/certificate-versions';
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
