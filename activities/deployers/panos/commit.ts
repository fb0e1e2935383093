/**
 * Locks, commits and Panorama pushes (docs/vendors/panos.md "Commit", "Locks", "Panorama").
 *
 * - Before a commit (and in preflight) both lock lists are read; a lock held by another admin is
 *   DEVICE_SESSION_BUSY, which the deploy activity retries later and alerts on once when it lasts
 *   (as SonicWall's busy device). The API admin's own lock is fine.
 * - A commit is a partial commit of the API admin's changes; its job id is the activation handle.
 * - Templates: the commit on Panorama is followed by a commit-all push to the template or stack. The
 *   handle `commit:N:push` says "push after commit N"; the push carries a description naming N, so a
 *   retried poll finds the push it enqueued (`show jobs all`) instead of pushing twice. A push with
 *   nothing committed first is `push:M`. Handles stay small: they go into Temporal history.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import type { ActivationStatus } from '../types';
import type { PanJob, PanLock, PanosClient } from './client';
import type { PanosKeySession } from './api-key';
import { credentialRejected, describeReply, ensureSuccess, failureOf } from './failures';
import type { PanosScope } from './xpaths';

/** How long a busy device is left alone before the deploy retries (the activity may override it). */
export const LOCK_RETRY_MS = 60_000;

export interface PanosLocks {
  /** Locks held by other admins. */
  others: (PanLock & { kind: 'config' | 'commit' })[];
  /** Locks held by the API admin itself. */
  own: (PanLock & { kind: 'config' | 'commit' })[];
}

export interface PanosCommitter {
  readLocks(): Promise<PanosLocks>;
  /** Throws DEVICE_SESSION_BUSY when another admin holds a config or commit lock. */
  ensureUnlocked(action: string): Promise<void>;
  /** Commits the API admin's changes (and pushes a template): the activation handle, or undefined when nothing changed. */
  commit: (action: string, options?: { push?: boolean }) => Promise<string | undefined>;
  status(handle: string): Promise<ActivationStatus>;
  /** Waits for a handle (removeSuperseded has no handle to return); gives up quietly after two minutes. */
  wait(handle: string): Promise<void>;
}

const describeLock = (l: PanLock & { kind: string }): string =>
  `${l.kind} lock held by admin ${l.admin}${l.created ? ` since ${l.created}` : ''}${l.comment && l.comment !== '(null)' ? ` ("${l.comment}")` : ''}`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createPanosCommitter(
  client: PanosClient,
  session: PanosKeySession,
  admin: () => string,
  scope: () => PanosScope,
): PanosCommitter {
  const readLocks = async (): Promise<PanosLocks> => {
    const locks: PanosLocks = { others: [], own: [] };
    for (const kind of ['config', 'commit'] as const) {
      const { reply, locks: list } = await session.keyed((key) => client.showLocks(key, kind));
      ensureSuccess(`show ${kind}-locks`, reply);
      for (const lock of list) (lock.admin === admin() ? locks.own : locks.others).push({ ...lock, kind });
    }
    return locks;
  };

  const ensureUnlocked = async (action: string): Promise<void> => {
    const { others } = await readLocks();
    if (others.length === 0) return;
    throw classified(
      FailureType.deviceSessionBusy,
      `panos: ${action}: the device is locked (${others.map(describeLock).join('; ')}); CertFleet waits and retries, it never removes another admin's lock`,
      LOCK_RETRY_MS,
    );
  };

  /** A commit refused outright (not a failed job). */
  const refused = (action: string, reply: Parameters<typeof describeReply>[0]): Error => {
    const detail = describeReply(reply);
    if (credentialRejected(reply) || reply.httpStatus === 403 || reply.code === '16' || reply.httpStatus >= 500)
      return failureOf(action, reply);
    if (/lock|in progress|another commit|busy/i.test(detail))
      return classified(
        FailureType.deviceSessionBusy,
        `panos: ${action}: the device cannot commit now (${detail})`,
        LOCK_RETRY_MS,
      );
    return classified(FailureType.commitFailed, `panos: ${action}: the commit was refused: ${detail}`);
  };

  const pushDescription = (commitJob: string | undefined): string =>
    commitJob ? `CertFleet push after commit ${commitJob}` : `CertFleet push ${Date.now().toString(36)}`;

  const startPush = async (commitJob: string | undefined): Promise<string> => {
    const push = scope().push;
    if (!push) throw classified(FailureType.validation, 'panos: nothing to push (not a template target)');
    const description = pushDescription(commitJob);
    if (commitJob) {
      const { reply, jobs } = await session.keyed((key) => client.showJobs(key));
      ensureSuccess('show jobs all', reply);
      const mine = jobs.find((j) => /^commitall$/i.test(j.type) && j.description === description);
      if (mine) return mine.id;
    }
    await ensureUnlocked(`push to ${push.style} ${push.name}`);
    const { reply, jobId } = await session.keyed((key) =>
      client.commitAll(key, push.style, push.name, admin(), description),
    );
    if (reply.status !== 'success') throw refused(`push to ${push.style} ${push.name}`, reply);
    if (!jobId)
      throw classified(
        FailureType.targetRejected,
        `panos: push to ${push.style} ${push.name}: the reply has no job id (${describeReply(reply)})`,
      );
    return jobId;
  };

  const commit = async (action: string, options: { push?: boolean } = {}): Promise<string | undefined> => {
    await ensureUnlocked(action);
    const { reply, jobId } = await session.keyed((key) => client.commitPartial(key, admin()));
    if (reply.status !== 'success') throw refused(action, reply);
    const pushing = options.push !== false && scope().push !== undefined;
    if (jobId) return pushing ? `commit:${jobId}:push` : jobId;
    if (!reply.messages.some((m) => /no changes to commit/i.test(m))) {
      throw classified(
        FailureType.targetRejected,
        `panos: ${action}: the commit reply has neither a job id nor "no changes" (${describeReply(reply)})`,
      );
    }
    return pushing ? `push:${await startPush(undefined)}` : undefined;
  };

  const showJob = async (jobId: string, what: string): Promise<PanJob> => {
    const { reply, job } = await session.keyed((key) => client.showJob(key, jobId));
    ensureSuccess(`show job ${jobId}`, reply);
    if (!job)
      throw classified(
        FailureType.targetRejected,
        `panos: ${what} job ${jobId} is not known to the device (${describeReply(reply)})`,
      );
    return job;
  };

  const commitStatus = async (jobId: string): Promise<ActivationStatus> => {
    const job = await showJob(jobId, 'commit');
    if (job.status !== 'FIN')
      return { state: 'pending', ...(job.progress !== undefined ? { progress: job.progress } : {}) };
    if (job.result === 'OK') return { state: 'done' };
    const lines = job.details.length > 0 ? job.details.join('; ') : `result ${job.result || 'unknown'}`;
    return { state: 'failed', detail: `panos: commit job ${jobId} failed: ${lines}` };
  };

  /** A push job: done when it and every firewall in it are OK; the failure names each firewall that was not. */
  const pushStatus = async (jobId: string): Promise<ActivationStatus> => {
    const job = await showJob(jobId, 'push');
    const devicesPending = job.devices.some((d) => d.result === 'PEND' || d.result === '');
    if (job.status !== 'FIN' || devicesPending)
      return { state: 'pending', ...(job.progress !== undefined ? { progress: job.progress } : {}) };
    const failed = job.devices.filter((d) => d.result !== 'OK');
    const target = scope().push;
    const where = target ? ` to ${target.style} ${target.name}` : '';
    if (job.result === 'OK' && failed.length === 0) {
      const devices = job.devices.map((d) => `${d.serial}${d.name ? ` (${d.name})` : ''}`);
      return {
        state: 'done',
        detail: `push job ${jobId}${where}: OK on ${devices.length ? devices.join(', ') : 'no firewall'}`,
      };
    }
    if (failed.length === 0)
      return {
        state: 'failed',
        detail: `panos: push job ${jobId}${where} failed: ${job.details.join('; ') || `result ${job.result || 'unknown'}`}`,
      };
    const lines = failed.map(
      (d) =>
        `${d.serial}${d.name ? ` (${d.name})` : ''}: ${d.result}${d.messages.length ? `: ${d.messages.join('; ')}` : ''}`,
    );
    return {
      state: 'failed',
      detail: `panos: push job ${jobId}${where} failed on ${failed.length} of ${job.devices.length} firewall(s): ${lines.join(' | ')}`,
    };
  };

  const status = async (handle: string): Promise<ActivationStatus> => {
    const m = /^(?:(\d{1,12})|commit:(\d{1,12}):push|push:(\d{1,12}))$/.exec(handle);
    if (!m) throw classified(FailureType.validation, `panos: "${handle}" is not a PAN-OS job handle`);
    const [, plain, commitThenPush, push] = m;
    if (plain) return commitStatus(plain);
    if (push) return pushStatus(push);
    const committed = await commitStatus(commitThenPush ?? '');
    if (committed.state === 'pending') return { state: 'pending', progress: Math.floor((committed.progress ?? 0) / 2) };
    if (committed.state === 'failed') return committed;
    let pushJob: string;
    try {
      pushJob = await startPush(commitThenPush);
    } catch (error) {
      // Another admin's lock between the commit and the push: keep polling (durable timers) until it is released.
      if (error instanceof ClassifiedError && error.type === FailureType.deviceSessionBusy)
        return { state: 'pending', progress: 50 };
      throw error;
    }
    const pushed = await pushStatus(pushJob);
    return pushed.state === 'pending'
      ? { state: 'pending', progress: 50 + Math.floor((pushed.progress ?? 0) / 2) }
      : pushed;
  };

  const wait = async (handle: string): Promise<void> => {
    const deadline = Date.now() + 120_000;
    for (let delay = 200; Date.now() < deadline; delay = Math.min(delay * 2, 2_000)) {
      const current = await status(handle);
      if (current.state === 'done') return;
      if (current.state === 'failed') throw classified(FailureType.commitFailed, current.detail);
      await sleep(delay);
    }
  };

  return { readLocks, ensureUnlocked, commit, status, wait };
}
