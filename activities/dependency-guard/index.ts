import type { Logger } from 'pino';
import { FailureType, type NotAnsweringDetails } from '../../temporal/contract';
import type { Alerter } from '../alerts/alerter';
import type { Queryable } from '../db/pool';
import {
  claimProbe,
  readDependencyHealth,
  recordDependencyFailure,
  recordDependencySuccess,
  type DependencyHealth,
  type DependencyKind,
} from '../db/repositories/dependency-health';
import { incidentKey } from '../db/repositories/incidents';
import { classified, ClassifiedError } from '../errors';
import { createBusyWait } from './busy-wait';
import { createConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency-limiter';
import { NOT_ANSWERING, type IsolationSettings } from './settings';

/** One dependency outside CertFleet: `kind:id` is its breaker's key; the label is what people read. */
export interface DependencyRef {
  kind: DependencyKind;
  id: string;
  label: string;
}

export const dependencyKey = (dep: Pick<DependencyRef, 'kind' | 'id'>): string => `${dep.kind}:${dep.id}`;

/** Failures that say the dependency did not answer (refused, reset, timed out), as the activities classify them. */
const TRANSPORT_FAILURES: ReadonlySet<string> = new Set([
  FailureType.acmeUnavailable,
  FailureType.dnsUnavailable,
  FailureType.targetUnreachable,
]);

export const isTransportFailure = (error: unknown): boolean =>
  error instanceof ClassifiedError && TRANSPORT_FAILURES.has(error.type);

export interface DependencyGuard {
  /**
   * Runs `work` (one call, or a few, to the dependency) within the dependency's share and its breaker:
   * fails fast with DEPENDENCY_NOT_ANSWERING while the breaker is open, and with DEPENDENCY_BUSY
   * when this worker's share of calls to it is in use.
   */
  guarded<T>(dep: DependencyRef, work: () => Promise<T>): Promise<T>;
  /**
   * Throws the DEPENDENCY_BUSY that `guarded` would throw when this worker's share of calls to the
   * dependency is in use now: a caller that knows its dependency refuses a retry before it reads anything.
   */
  refuseIfBusy(dep: DependencyRef): void;
  readonly limiter: ConcurrencyLimiter;
}

/** Breakers trusted at once at most (dependencies, not certificates: a fleet's devices fit). */
const TRUSTED_MAX = 10_000;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function createDependencyGuard(deps: {
  db: Queryable;
  alerter: Alerter;
  settings: IsolationSettings;
  log: Logger;
}): DependencyGuard {
  const { settings } = deps;
  const limiter = createConcurrencyLimiter();
  const busyWait = createBusyWait(settings.busyRetryMs);
  /**
   * Breakers this process read closed with no failures, until when it trusts that without reading the
   * row again (BREAKER_TRUST_MS). Only that state is kept: a failure this process records forgets the
   * key at once, and any other state is read on every call. A breaker another process opened is
   * therefore seen here at most `breakerTrustMs` after it opened. One entry per dependency, never per
   * certificate; an entry past its time is dropped when looked at, and all of them at TRUSTED_MAX.
   */
  const trustedUntil = new Map<string, number>();
  const trusted = (key: string, now: number): boolean => {
    const until = trustedUntil.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    trustedUntil.delete(key);
    return false;
  };
  const readHealth = async (key: string): Promise<DependencyHealth | undefined> => {
    const now = Date.now();
    if (trusted(key, now)) return undefined;
    const health = await readDependencyHealth(deps.db, key);
    if (settings.breakerTrustMs > 0 && (!health || (health.state === 'closed' && health.failures === 0))) {
      if (trustedUntil.size >= TRUSTED_MAX) trustedUntil.clear();
      trustedUntil.set(key, now + settings.breakerTrustMs);
    }
    return health;
  };

  const notAnswering = (dep: DependencyRef, health: DependencyHealth): ClassifiedError => {
    const retryAfterMs = Math.max(1_000, (health.nextProbe?.getTime() ?? Date.now()) - Date.now());
    const details: NotAnsweringDetails = { retryAfterMs, dependency: dependencyKey(dep) };
    const since = health.since.toISOString().replace('T', ' ').slice(0, 19);
    return classified(
      FailureType.dependencyNotAnswering,
      `${NOT_ANSWERING[dep.kind]}: ${dep.label} (since ${since} UTC, next try in ${Math.round(retryAfterMs / 1000)} s; last error: ${health.lastError ?? 'none'})`,
      undefined,
      details,
    );
  };

  const onFailure = async (dep: DependencyRef, error: unknown): Promise<void> => {
    const key = dependencyKey(dep);
    trustedUntil.delete(key);
    const { opened, health } = await recordDependencyFailure(deps.db, {
      key,
      kind: dep.kind,
      label: dep.label,
      error: messageOf(error),
      threshold: settings.breakerThreshold,
      openMs: settings.breakerOpenMs,
    });
    if (!opened) return;
    deps.log.warn({ dependency: key, failures: health.failures }, `${NOT_ANSWERING[dep.kind]}: breaker open`);
    // One incident per outage: every run it holds up finds this one open and only counts in it.
    await deps.alerter
      .problem({
        key: incidentKey.dependency(key),
        kind: 'dependency-down',
        title: `${NOT_ANSWERING[dep.kind]}: ${dep.label}`,
        detail: `${health.failures} calls in a row failed; last: ${health.lastError ?? messageOf(error)}`,
      })
      .catch((alertError: unknown) => deps.log.warn({ err: alertError, dependency: key }, 'dependency alert not sent'));
  };

  const onSuccess = async (dep: DependencyRef): Promise<void> => {
    const key = dependencyKey(dep);
    const was = await recordDependencySuccess(deps.db, key);
    if (was === undefined || was === 'closed') return;
    deps.log.info({ dependency: key }, `${dep.label} answers again: breaker closed`);
    await deps.alerter.recovered(incidentKey.dependency(key));
  };

  /**
   * A full share: a jittered refusal carrying the wait (details.retryAfterMs): `busyRetryMs` while few
   * wait, else about as long as the callers already waiting take (busy-wait.ts). Non-retryable: the
   * workflow waits on a timer and calls again (workflows/dependency-wait.ts), so a
   * refusal never spends the step's retry budget (a device's 8 attempts, all refused while a fleet
   * deployed to it, then one killed worker failed the deploy).
   */
  const busy = (dep: DependencyRef): ClassifiedError => {
    const retryAfterMs = busyWait.refused(dependencyKey(dep), settings.shares[dep.kind], Date.now(), Math.random());
    const details: NotAnsweringDetails = { retryAfterMs, dependency: dependencyKey(dep) };
    return classified(
      FailureType.dependencyBusy,
      `${dep.label}: this worker's ${settings.shares[dep.kind]} calls at once to it are in use; trying again in about ${Math.round(retryAfterMs / 1000)} s`,
      undefined,
      details,
    );
  };

  return {
    limiter,
    refuseIfBusy(dep) {
      if (limiter.inFlight(dependencyKey(dep)) >= settings.shares[dep.kind]) throw busy(dep);
    },
    async guarded(dep, work) {
      const key = dependencyKey(dep);
      // Undefined: no row, or a closed breaker with no failures trusted from a moment ago.
      const health = await readHealth(key);
      if (health && health.state !== 'closed') {
        const probeDue = health.nextProbe !== null && health.nextProbe.getTime() <= Date.now();
        if (!probeDue || !(await claimProbe(deps.db, key, settings.breakerOpenMs))) throw notAnswering(dep, health);
      }
      const release = limiter.tryAcquire(key, settings.shares[dep.kind]);
      if (!release) throw busy(dep);
      const started = Date.now();
      try {
        const result = await work();
        if (health && (health.state !== 'closed' || health.failures > 0)) await onSuccess(dep);
        return result;
      } catch (error) {
        // The breaker's bookkeeping never hides the call's own error.
        const keep = (bookkeepingError: unknown) =>
          deps.log.warn({ err: bookkeepingError, dependency: key }, 'dependency health not recorded');
        if (isTransportFailure(error)) await onFailure(dep, error).catch(keep);
        // It answered, if only to refuse: the dependency is up.
        else if (health && (health.state !== 'closed' || health.failures > 0)) await onSuccess(dep).catch(keep);
        throw error;
      } finally {
        release();
        busyWait.took(key, Date.now() - started);
      }
    },
  };
}

/** The activities' view of the guard: a pass-through where none is configured (tests of one activity group). */
export function guardedCallsOf(guard: DependencyGuard | undefined): DependencyGuard['guarded'] {
  return guard ? (dep, work) => guard.guarded(dep, work) : (_dep, work) => work();
}
