import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DeploymentRecord } from '../../activities/db/repositories/deployments';
import { waitingUntilText } from '../../activities/domain/maintenance-window';
import { rateLimitWaitText } from '../../activities/domain/pacing-budget';
import {
  certificateWorkflowId,
  progressQuery,
  SearchAttributes,
  STEP_LABELS,
  TASK_QUEUE,
  WorkflowType,
  type LifecycleInput,
  type LifecycleStep,
  type LifecycleProgress,
  type LifecycleTrigger,
} from '../../temporal/contract';
import { temporalUiLink } from '../temporal-ui';

const PROGRESS_QUERY_TIMEOUT_MS = 3_000;

export type StartResult = { started: true; runId: string } | { started: false; reason: string };

/**
 * Starts the certificate's lifecycle under its own id; refuses politely when a run is in progress.
 * `auditId`: the console's entry for the command (certificate.create, certificate.renew-now), which
 * the run checks and claims before it does anything.
 */
export async function startLifecycle(
  client: Client,
  certificateId: string,
  trigger: Exclude<LifecycleTrigger, 'schedule'>,
  auditId: string,
): Promise<StartResult> {
  const input: LifecycleInput = { certificateId, trigger, auditId };
  try {
    const handle = await client.workflow.start(WorkflowType.lifecycle, {
      workflowId: certificateWorkflowId(certificateId),
      taskQueue: TASK_QUEUE,
      args: [input],
    });
    return { started: true, runId: handle.firstExecutionRunId };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { started: false, reason: 'A run for this certificate is already in progress.' };
    }
    throw error;
  }
}

export interface RunSummary {
  runId: string;
  status: string;
  outcome: string | undefined;
  startTime: Date;
  closeTime: Date | undefined;
  temporalUiUrl: string | undefined;
}

/** The certificate's recent lifecycle runs, found through the CertificateId search attribute. */
export async function listRuns(
  client: Client,
  certificateId: string,
  uiUrl: string | undefined,
  namespace: string,
  limit = 10,
): Promise<RunSummary[]> {
  if (!/^\d{1,18}$/.test(certificateId)) return [];
  const runs: RunSummary[] = [];
  for await (const run of client.workflow.list({
    query: `CertificateId = '${certificateId}' AND WorkflowType = '${WorkflowType.lifecycle}'`,
    pageSize: limit,
  })) {
    runs.push({
      runId: run.runId,
      status: run.status.name,
      outcome: run.typedSearchAttributes.get(SearchAttributes.outcome),
      startTime: run.startTime,
      closeTime: run.closeTime,
      temporalUiUrl: temporalUiLink(uiUrl, namespace, run.workflowId, run.runId),
    });
    if (runs.length >= limit) break;
  }
  return runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
}

export interface RunStepView {
  step: LifecycleStep;
  label: string;
  status: string;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /**
   * A running deploy step whose targets wait for a maintenance window ("waiting until …"), or an order
   * step waiting for the CA's rate-limit budget ("waiting for the CA's rate limit until …"), instead of a timer.
   */
  waiting?: string;
}

export interface RunView {
  exists: boolean;
  running: boolean;
  status?: string;
  runId?: string;
  startTime?: Date;
  closeTime?: Date;
  temporalUiUrl?: string;
  progress?: LifecycleProgress;
  steps: RunStepView[];
  /** When the progress query could not be answered (no worker running). */
  queryError?: string;
}

/** The latest run of the certificate's workflow, with its progress when a worker can answer the query. */
export async function describeLatestRun(
  client: Client,
  certificateId: string,
  uiUrl: string | undefined,
  namespace: string,
): Promise<RunView> {
  const workflowId = certificateWorkflowId(certificateId);
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { exists: false, running: false, steps: [] };
    throw error;
  }
  const view: RunView = {
    exists: true,
    running: description.status.name === 'RUNNING',
    status: description.status.name,
    runId: description.runId,
    startTime: description.startTime,
    ...(description.closeTime ? { closeTime: description.closeTime } : {}),
    ...(uiUrl ? { temporalUiUrl: temporalUiLink(uiUrl, namespace, workflowId, description.runId) } : {}),
    steps: [],
  };
  if (description.type !== WorkflowType.lifecycle) return view;
  try {
    // Without a worker a query waits for one; a page must not: give up after a few seconds.
    const progress = await client.withDeadline(Date.now() + PROGRESS_QUERY_TIMEOUT_MS, () =>
      client.workflow.getHandle(workflowId, description.runId).query(progressQuery),
    );
    view.progress = progress;
    view.steps = progress.steps.map((s) => ({
      step: s.step,
      label: STEP_LABELS[s.step],
      status: s.status,
      ...(s.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s.endedAt ? { endedAt: s.endedAt } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(s.step === 'order' && s.status === 'running' && progress.rateLimitWait
        ? { waiting: rateLimitWaitText(progress.rateLimitWait.until) }
        : {}),
    }));
  } catch (error) {
    view.queryError = `Live progress is unavailable (${(error as Error).message}). Is the worker running?`;
  }
  return view;
}

/**
 * A deploy step that waits for a maintenance window says until when (the earliest window of the
 * certificate's waiting deployments) instead of a timer that counts for days.
 */
export function withMaintenanceWaits(
  run: RunView,
  deployments: Pick<DeploymentRecord, 'waitingUntil' | 'waitingTimeZone'>[],
): RunView {
  const next = deployments
    .filter((d): d is typeof d & { waitingUntil: Date } => d.waitingUntil !== null)
    .sort((a, b) => a.waitingUntil.getTime() - b.waitingUntil.getTime())[0];
  if (!next) return run;
  const waiting = waitingUntilText(next.waitingUntil, next.waitingTimeZone ?? 'UTC');
  return {
    ...run,
    steps: run.steps.map((s) => (s.step === 'deploy' && s.status === 'running' ? { ...s, waiting } : s)),
  };
}
