/**
 * Rate-limit pacing: an order is spent only when the directory's budgets have room (budget math:
 * domain/pacing-budget.ts). The reservation is atomic (one advisory lock per directory, held for the
 * transaction: concurrent runs cannot both take the last slot) and idempotent per workflow run and
 * directory (a retried activity finds its slot and takes no second one).
 */
import { FailureType } from '../../temporal/contract';
import {
  directoryLimits,
  hasSlotForRun,
  insertSlot,
  lockDirectoryBudget,
  setRateLimitWait,
  slotsSince,
} from '../db/repositories/acme-order-slots';
import { getCertificate } from '../db/repositories/certificates';
import type { ActivityDeps } from '../deps';
import { decideSlot, DEFAULT_ORDER_SLOT_GRACE_MS, identifierSetOf, registeredDomainOf } from '../domain/pacing-budget';
import { classified } from '../errors';

export interface OrderSlotRequest {
  certificateId: string;
  directoryId: string;
  runId: string;
  /**
   * An ARI-suggested renewal sent with `replaces`, which Let's Encrypt exempts from its rate limits
   * (https://letsencrypt.org/docs/rate-limits/, "Limit exemptions for renewals"): recorded, never held back.
   */
  exempt: boolean;
}

export type OrderSlot = { granted: true } | { granted: false; retryAt: string; reason: string };

export const RATE_LIMIT_WAIT_TEXT = "waiting for the CA's rate limit";

export function createPacingActivities(deps: Pick<ActivityDeps, 'db' | 'log' | 'acme'>) {
  return {
    async reserveOrderSlot(input: OrderSlotRequest): Promise<OrderSlot> {
      const cert = await getCertificate(deps.db, input.certificateId);
      if (!cert) throw classified(FailureType.notFound, `pacing: certificate ${input.certificateId} no longer exists`);
      const decision = await deps.db.withTransaction(async (tx) => {
        const now = await lockDirectoryBudget(tx, input.directoryId);
        if (await hasSlotForRun(tx, input.runId, input.directoryId)) return { granted: true as const };
        const limits = await directoryLimits(tx, input.directoryId);
        if (!limits)
          throw classified(FailureType.notFound, `pacing: ACME directory ${input.directoryId} no longer exists`);
        const request = {
          registeredDomain: registeredDomainOf(cert.commonName),
          identifiers: identifierSetOf([cert.commonName]),
          exempt: input.exempt,
          // One certificate = one name: once it has a version, the CA issued this identifier set before.
          renewal: cert.currentVersionId !== null,
        };
        const graceMs = deps.acme.orderSlotGraceMs ?? DEFAULT_ORDER_SLOT_GRACE_MS;
        const since = new Date(now.getTime() - Math.max(limits.accountWindowMs, limits.domainWindowMs) - graceMs);
        const spent = await slotsSince(tx, input.directoryId, since);
        const decided = decideSlot(spent, request, limits, now, graceMs);
        if (decided.granted) {
          await insertSlot(tx, { ...request, spentAt: now, ...input });
          await setRateLimitWait(tx, input.certificateId, null);
          return decided;
        }
        const reason = `${RATE_LIMIT_WAIT_TEXT}: ${decided.reasons.join('; ')}`;
        await setRateLimitWait(tx, input.certificateId, { until: decided.retryAt, reason });
        return { granted: false as const, retryAt: decided.retryAt.toISOString(), reason };
      });
      if (!decision.granted)
        deps.log.info({ certificateId: input.certificateId, retryAt: decision.retryAt }, decision.reason);
      return decision;
    },
  };
}
