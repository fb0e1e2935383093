import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { SecretBox } from '../activities/crypto/secret-box';
import type { Database } from '../activities/db/pool';
import type { RenewalScheduleSettings } from '../temporal/schedules';
import type { ConsoleCommands } from './commands';

/** Sign-in protection: account lockout after consecutive failures, and a per-address rate limit. */
export interface LoginProtection {
  maxFailures: number;
  lockMs: number;
  /** Sign-in attempts one address may make per window. */
  rateLimit: number;
  rateWindowMs: number;
}

export const DEFAULT_LOGIN_PROTECTION: LoginProtection = {
  maxFailures: 5,
  lockMs: 15 * 60_000,
  rateLimit: 20,
  rateWindowMs: 5 * 60_000,
};

/** METRICS_PUBLIC: what /metrics serves to a scraper without the token. */
export type MetricsPublic = 'none' | 'unlabelled';

export interface WebDeps {
  db: Database;
  box: SecretBox;
  log: Logger;
  temporal: { client: Client; namespace: string; uiUrl: string | undefined };
  /** Every Temporal start, signal, query and list the console makes (web/commands). */
  commands: ConsoleCommands;
  renewalSchedule: RenewalScheduleSettings;
  secureCookies: boolean;
  login?: LoginProtection;
  /** GET /metrics with `Authorization: Bearer <it>` serves every series (METRICS_TOKEN). Unset: no one gets the per-certificate series. */
  metricsToken?: string | undefined;
  /** What /metrics serves without the token (METRICS_PUBLIC): nothing (default), or the series without customer and certificate names. */
  metricsPublic?: MetricsPublic;
  /** Express `trust proxy`: which proxies' X-Forwarded-* headers count; default loopback. */
  trustProxy?: string;
}
