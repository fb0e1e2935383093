/**
 * Config-sync to an HA device group and waiting for "In Sync", as f5-ansible's
 * `bigip_configsync_action` does (`execute_on_device`, then `_wait_for_sync` polling
 * `GET /mgmt/tm/cm/sync-status`). docs/vendors/f5-bigip.md, "Config-sync".
 *
 * How each status is treated, and why:
 * - "In Sync": done.
 * - "Not All Devices Synced", "Awaiting Initial Sync", "Syncing": still going (f5-ansible keeps polling
 *   on the first two; its comment: the group is "Not All Devices Synced" right after a sync starts until
 *   every device finishes; "Syncing" has no source: ASSUMPTION B8).
 * - "Changes Pending": may settle (the peer has not loaded our push yet), so CertFleet keeps polling until
 *   the deadline and then fails quoting the status and its details. f5-ansible stops at once when a detail
 *   says "Recommended action: …"; CertFleet quotes that advice in the failure instead.
 * - "Disconnected": will not settle by waiting (a peer is unreachable): fails at once, as f5-ansible
 *   does ("One or more devices are unreachable (disconnected)").
 * - anything else ("Standalone", "Sync Failure", …): fails at once with the status, as f5-ansible does.
 *
 * The overall status covers every group of the device; a detail line "<group> (<status>): …"
 * (recorded in e-XpertSolutions/f5-rest-client `f5/health_check_test.go`) names our group's own status
 * and wins when present.
 */
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import type { ActivationStatus } from '../types';
import type { BigipClient, BigipSyncStatus } from './client';
import { COMPONENT } from './failures';

const SETTLING = new Set(['Not All Devices Synced', 'Awaiting Initial Sync', 'Syncing']);

export type SyncVerdict = { state: 'done' | 'pending' | 'failed'; detail: string };

const seconds = (ms: number): string => (ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(1));
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** "Changes Pending (yellow): summary; detail; detail". */
export function describeSync(status: BigipSyncStatus, groupStatus = status.status): string {
  const color = status.color ? ` (${status.color})` : '';
  const lines = [status.summary, ...status.details].filter((l, i, all) => l !== '' && all.indexOf(l) === i);
  return `${groupStatus || '(no status in the reply)'}${color}${lines.length > 0 ? `: ${lines.join('; ')}` : ''}`;
}

/** Our group's status: its own detail line when the device gives one, else the overall status. */
export function groupStatusOf(group: string, status: BigipSyncStatus): string {
  const pattern = new RegExp(`^${escape(group)} \\(([^)]+)\\)`);
  for (const line of status.details) {
    const m = pattern.exec(line.trim());
    if (m?.[1]) return m[1];
  }
  return status.status;
}

export function judgeSync(group: string, status: BigipSyncStatus): SyncVerdict {
  const own = groupStatusOf(group, status);
  const detail = `device group ${group} is ${describeSync(status, own)}`;
  if (own === 'In Sync') return { state: 'done', detail };
  if (own === 'Changes Pending' || SETTLING.has(own)) return { state: 'pending', detail };
  if (own === 'Disconnected')
    return {
      state: 'failed',
      detail: `${detail}. One or more devices are unreachable: resolve the communication problem between the devices, then retry`,
    };
  return { state: 'failed', detail: `${detail}. CertFleet waits for "In Sync" only` };
}

/** The job id activate and rollback return when they started a config-sync (no secrets: history-safe). */
export const syncJobId = (group: string, startedAtMs: number): string => `config-sync:${group}:${startedAtMs}`;

export function parseSyncJobId(jobId: string): { group: string; startedAtMs: number } | undefined {
  const m = /^config-sync:([A-Za-z0-9_][A-Za-z0-9_.-]*):(\d+)$/.exec(jobId);
  return m?.[1] && m[2] ? { group: m[1], startedAtMs: Number(m[2]) } : undefined;
}

/** One look at the sync status for a config-sync started at `startedAtMs`; pending turns failed after `timeoutMs`. */
export async function syncProgress(
  client: BigipClient,
  group: string,
  startedAtMs: number,
  timeoutMs: number,
): Promise<ActivationStatus> {
  const verdict = judgeSync(group, await client.syncStatus());
  if (verdict.state === 'done') return { state: 'done' };
  if (verdict.state === 'failed')
    return { state: 'failed', detail: `${COMPONENT}: config-sync to ${group}: ${verdict.detail}` };
  const waited = Date.now() - startedAtMs;
  if (waited > timeoutMs) {
    return {
      state: 'failed',
      detail: `${COMPONENT}: config-sync to ${group} did not reach "In Sync" within ${seconds(timeoutMs)} s: ${verdict.detail}`,
    };
  }
  return { state: 'pending' };
}

/** Runs config-sync to the group and waits here (bounded) until it reports "In Sync"; throws a classified error otherwise. */
export async function syncAndWait(
  client: BigipClient,
  group: string,
  timing: { pollMs: number; timeoutMs: number },
): Promise<void> {
  const started = Date.now();
  await client.configSyncToGroup(group);
  for (;;) {
    const progress = await syncProgress(client, group, started, timing.timeoutMs);
    if (progress.state === 'done') return;
    // Not retryable: the workflow reports it; the device keeps the change and the next sync carries it.
    if (progress.state === 'failed') throw classified(FailureType.commitFailed, progress.detail);
    await new Promise((resolve) => setTimeout(resolve, timing.pollMs));
  }
}
