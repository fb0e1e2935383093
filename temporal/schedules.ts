import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
} from '@temporalio/client';
import { renewalScheduleId, TASK_QUEUE, WorkflowType, type ScheduledRenewalInput } from './contract';

export interface RenewalScheduleSettings {
  /** How often the renewal check runs. */
  intervalSeconds: number;
  /** Random delay added to each run, so a fleet does not hit the CA at the same second. */
  jitterSeconds: number;
}

export interface ScheduledCertificate {
  certificateId: string;
  commonName: string;
  enabled: boolean;
}

const SCHEDULE_PREFIX = renewalScheduleId('');

function scheduleParts(cert: ScheduledCertificate, settings: RenewalScheduleSettings) {
  const input: ScheduledRenewalInput = { certificateId: cert.certificateId };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: WorkflowType.scheduledRenewal,
    taskQueue: TASK_QUEUE,
    workflowId: `renewal-check:${cert.certificateId}`,
    args: [input],
  };
  return {
    spec: { intervals: [{ every: `${settings.intervalSeconds}s` }], jitter: `${settings.jitterSeconds}s` },
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour', pauseOnFailure: false },
    state: {
      paused: !cert.enabled,
      note: cert.enabled ? `renewal checks for ${cert.commonName}` : `renewal disabled for ${cert.commonName}`,
    },
  };
}

/** Creates the certificate's renewal schedule, or brings an existing one in step. Idempotent. */
export async function upsertRenewalSchedule(
  client: Client,
  cert: ScheduledCertificate,
  settings: RenewalScheduleSettings,
): Promise<'created' | 'updated'> {
  const scheduleId = renewalScheduleId(cert.certificateId);
  const parts = scheduleParts(cert, settings);
  try {
    await client.schedule.create({ scheduleId, ...parts, memo: { commonName: cert.commonName } });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  await handle.update((previous) => ({
    ...previous,
    spec: parts.spec,
    action: parts.action,
    policies: parts.policies,
    state: { ...previous.state, ...parts.state },
  }));
  return 'updated';
}

/** Removes the schedule; a schedule that is already gone counts as removed. */
export async function deleteRenewalSchedule(client: Client, certificateId: string): Promise<void> {
  try {
    await client.schedule.getHandle(renewalScheduleId(certificateId)).delete();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
}

/** Makes the schedules match the live certificates: upserts each, deletes orphans. Run at worker start. */
export async function reconcileRenewalSchedules(
  client: Client,
  certificates: ScheduledCertificate[],
  settings: RenewalScheduleSettings,
): Promise<{ upserted: number; deleted: number }> {
  const live = new Set(certificates.map((c) => renewalScheduleId(c.certificateId)));
  for (const cert of certificates) await upsertRenewalSchedule(client, cert, settings);
  let deleted = 0;
  for await (const schedule of client.schedule.list()) {
    if (schedule.scheduleId.startsWith(SCHEDULE_PREFIX) && !live.has(schedule.scheduleId)) {
      await deleteRenewalSchedule(client, schedule.scheduleId.slice(SCHEDULE_PREFIX.length));
      deleted += 1;
    }
  }
  return { upserted: certificates.length, deleted };
}
