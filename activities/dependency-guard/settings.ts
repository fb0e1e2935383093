import type { DependencyKind } from '../db/repositories/dependency-health';

/** How calls to dependencies outside CertFleet are limited and broken (worker/config.ts, ISOLATION_* and BREAKER_*). */
export interface IsolationSettings {
  /** Calls at once per dependency, per worker process. */
  shares: Record<DependencyKind, number>;
  /** Delay before a call refused for a full share is tried again (jittered up to twice this). */
  busyRetryMs: number;
  /** Consecutive transport failures or timeouts that open a dependency's breaker. */
  breakerThreshold: number;
  /** How long an open breaker fails calls fast before one probe goes through. */
  breakerOpenMs: number;
  /**
   * How long this process trusts a breaker it read closed with no failures before reading its row again
   * (0: read it on every call). Bounds how late this process sees a breaker another process opened.
   */
  breakerTrustMs: number;
}

export const DEFAULT_ISOLATION_SETTINGS: IsolationSettings = {
  shares: { 'acme-directory': 16, 'dns-provider': 8, device: 4 },
  busyRetryMs: 1_000,
  breakerThreshold: 5,
  breakerOpenMs: 60_000,
  breakerTrustMs: 1_000,
};

export { NOT_ANSWERING } from '../db/repositories/dependency-health';
