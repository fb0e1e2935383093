import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { SecretBox } from '../activities/crypto/secret-box';
import type { Database } from '../activities/db/pool';
import type { RenewalScheduleSettings } from '../temporal/schedules';

export interface WebDeps {
  db: Database;
  box: SecretBox;
  log: Logger;
  temporal: { client: Client; namespace: string; uiUrl: string | undefined };
  renewalSchedule: RenewalScheduleSettings;
  secureCookies: boolean;
}
