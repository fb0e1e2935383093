import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import { FLEET_SCHEDULE_IDS, SCHEDULE_HEALTH_SCHEDULE_ID, TASK_QUEUE, WorkflowType } from './contract';

export interface FleetScheduleTimes {
  scheduleHealthIntervalSeconds: number;
  alertSweepIntervalSeconds: number;
  digestCron: string;
  digestTimeZone: string;
  driftWatchIntervalSeconds: number;
}

interface FleetSchedule {
  scheduleId: string;
  workflowType: string;
  /** Schedules append the time to it; overlap SKIP keeps one at a time. */
  workflowId: string;
  spec: ScheduleSpec;
  note: string;
  /** Run once right away when the schedule is created (a fresh install shows data at once). */
  runAtCreation: boolean;
}

function fleetSchedules(t: FleetScheduleTimes): FleetSchedule[] {
  return [
    {
      scheduleId: SCHEDULE_HEALTH_SCHEDULE_ID,
      workflowType: WorkflowType.scheduleHealth,
      workflowId: 'schedule-health',
      spec: { intervals: [{ every: `${t.scheduleHealthIntervalSeconds}s` }] },
      note: 'renewal schedule health for the dashboard',
      runAtCreation: true,
    },
    {
      scheduleId: FLEET_SCHEDULE_IDS.alertSweep,
      workflowType: WorkflowType.alertSweep,
      workflowId: 'alert-sweep',
      spec: { intervals: [{ every: `${t.alertSweepIntervalSeconds}s` }] },
      note: 'late deployments, recovery notices, unsent alerts',
      runAtCreation: false,
    },
    {
      scheduleId: FLEET_SCHEDULE_IDS.dailyDigest,
      workflowType: WorkflowType.dailyDigest,
      workflowId: 'daily-digest',
      spec: { cronExpressions: [t.digestCron], timezone: t.digestTimeZone },
      note: 'the daily digest email',
      runAtCreation: false,
    },
    {
      scheduleId: FLEET_SCHEDULE_IDS.driftWatch,
      workflowType: WorkflowType.driftWatch,
      workflowId: 'drift-watch',
      spec: { intervals: [{ every: `${t.driftWatchIntervalSeconds}s` }] },
      note: 'handshakes with every deployment endpoint',
      runAtCreation: true,
    },
  ];
}

/** Creates the fleet's own schedules, or brings them in step with the configuration. Idempotent; run at worker start. */
export async function upsertFleetSchedules(client: Client, times: FleetScheduleTimes): Promise<void> {
  for (const s of fleetSchedules(times)) {
    const parts = {
      spec: s.spec,
      action: {
        type: 'startWorkflow' as const,
        workflowType: s.workflowType,
        taskQueue: TASK_QUEUE,
        workflowId: s.workflowId,
        args: [],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    };
    try {
      await client.schedule.create({
        scheduleId: s.scheduleId,
        ...parts,
        state: { note: s.note, triggerImmediately: s.runAtCreation },
      });
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await client.schedule
        .getHandle(s.scheduleId)
        .update((previous) => ({ ...previous, spec: parts.spec, action: parts.action, policies: parts.policies }));
    }
  }
}
