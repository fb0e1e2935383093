import { createHash } from 'node:crypto';
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

/**
 * Where in each interval the certificate's check falls (the interval spec's offset, Temporal's "phase"),
 * fixed by its id: a fleet's checks are spread evenly over the interval. Without it every schedule's
 * interval starts at the Unix epoch, so all of a fleet's checks fall at the whole hour plus the jitter:
 * 10,000 certificates were 10,000 check runs (a schedule workflow and a lifecycle run each, about 0.18
 * CPU-s) within RENEWAL_CHECK_JITTER_SECONDS (5 minutes) every hour, queued behind each other with every
 * renewal and deploy due then. Measured (bench/renewal-checks.ts, 200 checks every 120 s): a check's
 * latency p50 8.2 s at the interval's start, 0.1 s spread. Spread, 10,000 hourly checks are about 2.8 a
 * second (docs/scaling.md, "Renewal checks of a large fleet").
 */
export function renewalCheckOffsetSeconds(certificateId: string, intervalSeconds: number): number {
  const digest = createHash('sha256').update(`renewal-check:${certificateId}`).digest();
  return digest.readUInt32BE(0) % Math.max(1, Math.floor(intervalSeconds));
}

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
    spec: {
      intervals: [
        {
          every: `${settings.intervalSeconds}s`,
          offset: `${renewalCheckOffsetSeconds(cert.certificateId, settings.intervalSeconds)}s`,
        },
      ],
      jitter: `${settings.jitterSeconds}s`,
    },
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

/** Where reconciliation reads the live certificates: a page at a time, never the whole fleet at once. */
export interface LiveCertificates {
  /** The live certificates, page after page (keyset by id). */
  pages(): AsyncIterable<ScheduledCertificate[]>;
  /** Which of these certificate ids are live. */
  liveAmong(certificateIds: string[]): Promise<Set<string>>;
}

const ORPHAN_BATCH = 200;

/**
 * Makes the schedules match the live certificates: upserts each, deletes orphans. Run at worker start.
 * Memory stays flat with the fleet: certificates come a page at a time, and the schedules listed are
 * checked against the database in batches instead of against a set of every live id.
 */
export async function reconcileRenewalSchedules(
  client: Client,
  live: LiveCertificates,
  settings: RenewalScheduleSettings,
): Promise<{ upserted: number; deleted: number }> {
  let upserted = 0;
  for await (const page of live.pages()) {
    for (const cert of page) await upsertRenewalSchedule(client, cert, settings);
    upserted += page.length;
  }
  let deleted = 0;
  let batch: string[] = [];
  const deleteOrphans = async (): Promise<void> => {
    const alive = await live.liveAmong(batch);
    for (const certificateId of batch) {
      if (alive.has(certificateId)) continue;
      await deleteRenewalSchedule(client, certificateId);
      deleted += 1;
    }
    batch = [];
  };
  for await (const schedule of client.schedule.list()) {
    if (!schedule.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
    batch.push(schedule.scheduleId.slice(SCHEDULE_PREFIX.length));
    if (batch.length >= ORPHAN_BATCH) await deleteOrphans();
  }
  if (batch.length) await deleteOrphans();
  return { upserted, deleted };
}
