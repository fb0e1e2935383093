import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { ScheduleHealthRow } from './contract';
import { renewalScheduleId } from './contract';

const RENEWAL_PREFIX = renewalScheduleId('');
const CONCURRENCY = 16;

/**
 * Describes every renewal schedule: paused or not, runs skipped because one was still in progress,
 * runs missed while the server was down, and the last and next action times.
 */
export async function describeRenewalSchedules(
  client: Client,
  progress: () => void = () => undefined,
): Promise<ScheduleHealthRow[]> {
  const ids: string[] = [];
  for await (const summary of client.schedule.list({ pageSize: 1000 })) {
    if (summary.scheduleId.startsWith(RENEWAL_PREFIX)) ids.push(summary.scheduleId);
  }
  const rows: ScheduleHealthRow[] = [];
  let next = 0;
  const describeNext = async (): Promise<void> => {
    while (next < ids.length) {
      const scheduleId = ids[next++] as string;
      try {
        const d = await client.schedule.getHandle(scheduleId).describe();
        const certificateId = scheduleId.slice(RENEWAL_PREFIX.length);
        const last = d.info.recentActions.at(-1);
        rows.push({
          scheduleId,
          certificateId: /^\d{1,18}$/.test(certificateId) ? certificateId : null,
          paused: d.state.paused,
          note: d.state.note ?? null,
          skippedOverlap: d.info.numActionsSkippedOverlap,
          missedCatchup: d.info.numActionsMissedCatchupWindow,
          lastActionAt: last?.takenAt ?? null,
          nextActionAt: d.info.nextActionTimes[0] ?? null,
        });
      } catch (error) {
        // Deleted between list and describe: it is simply not there any more.
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      }
      if (next % 100 === 0) progress();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, describeNext));
  return rows;
}
