import { Context } from '@temporalio/activity';
import { replaceScheduleHealth, type ScheduleHealthRow } from './db/repositories/dashboard';
import type { ActivityDeps } from './deps';
import type { ScheduleHealthResult } from '../temporal/contract';

export function createScheduleHealthActivities(deps: ActivityDeps) {
  return {
    /** Asks Temporal about every renewal schedule and replaces the dashboard's snapshot with the answer. */
    async recordScheduleHealth(_input: Record<string, never>): Promise<ScheduleHealthResult> {
      if (!deps.describeRenewalSchedules)
        throw new Error('schedule health: this worker has no Temporal client for schedules');
      const ctx = Context.current();
      const rows: ScheduleHealthRow[] = await deps.describeRenewalSchedules(() => ctx.heartbeat());
      await deps.db.withTransaction((tx) => replaceScheduleHealth(tx, rows));
      return {
        schedules: rows.length,
        paused: rows.filter((r) => r.paused).length,
        skipped: rows.reduce((n, r) => n + r.skippedOverlap + r.missedCatchup, 0),
      };
    },
  };
}
