/** Fallback ACME directories: which directories a certificate's run tries, in order (migration 0019). */
import { FailureType, type AcmeDirectoryPlan } from '../../temporal/contract';
import { directoryPlan } from '../db/repositories/acme-order-slots';
import type { ActivityDeps } from '../deps';
import { classified } from '../errors';

export function createFallbackActivities(deps: ActivityDeps) {
  return {
    /**
     * The certificate's directory, then its fallbacks (the certificate's own list, else its directory's
     * default list; deleted directories are left out), and the deadline after which a CA that is down,
     * hangs or keeps refusing for CA-side reasons is given up for the next one.
     */
    async planAcmeDirectories(input: { certificateId: string }): Promise<AcmeDirectoryPlan> {
      const plan = await directoryPlan(deps.db, input.certificateId);
      if (!plan) throw classified(FailureType.notFound, `acme: certificate ${input.certificateId} no longer exists`);
      return { directories: plan.directories, fallbackAfterMs: plan.fallbackAfterSeconds * 1000 };
    },
  };
}
