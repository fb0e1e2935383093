import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { SecretBox } from '../activities/crypto/secret-box';
import type { Database } from '../activities/db/pool';
import type { RenewalScheduleSettings } from '../temporal/schedules';

/** Sign-in protection: account lockout after consecutive failures, and a per-address rate limit. */
export interface LoginProtection {
  maxFailures: number;
  lockMs: number;
  /** Sign-in attempts one address may make per window. */
  rateLimit: number;
  rateWindowMs: number;
}

export const DEFAULT_LOGIN_PROTECTION: LoginProtection = { maxFailures: 5, lockMs: 15 * 60_000, rateLimit: 20, rateWindowMs: 5 * 60_000 };

export interface WebDeps {
  db: Database;
  box: SecretBox;
  log: Logger;
  temporal: { client: Client; namespace: string; uiUrl: string | undefined };
  renewalSchedule: RenewalScheduleSettings;
  secureCookies: boolean;
  login?: LoginProtection;
  /** When set, GET /metrics needs `Authorization: Bearer <it>` (METRICS_TOKEN). */
  metricsToken?: string | undefined;
  /** Express `trust proxy`: which proxies' X-Forwarded-* headers count; default loopback. */
  trustProxy?: string;
}
