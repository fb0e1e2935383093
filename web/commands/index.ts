/**
 * What the console can ask the worker: every Temporal start, signal, query and list the web makes,
 * in one object injected through WebDeps (`deps.commands`). Routes and operations call these methods
 * only; a route test can replace the whole object. The bodies of the larger commands live beside this
 * file (lifecycle.ts, deploys.ts, results.ts, running.ts).
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  acmeDirectoryCheckWorkflowId,
  deployNowSignal,
  deploymentWorkflowId,
  dnsDelegationCheckWorkflowId,
  dnsProviderCheckWorkflowId,
  endpointChangeNoticeWorkflowId,
  TASK_QUEUE,
  WorkflowType,
  type AcmeDirectoryCheckInput,
  type AcmeDirectoryCheckResult,
  type DeployTrigger,
  type DnsDelegationCheckInput,
  type DnsDelegationCheckResult,
  type DnsProviderCheckInput,
  type DnsProviderCheckResult,
  type EndpointChangeNoticeInput,
  type FetchFingerprintInput,
  type FetchFingerprintResult,
  type LifecycleTrigger,
  type TestEmailInput,
  type TestEmailResult,
} from '../../temporal/contract';
import {
  deleteRenewalSchedule,
  upsertRenewalSchedule,
  type RenewalScheduleSettings,
  type ScheduledCertificate,
} from '../../temporal/schedules';
import {
  latestPreflight,
  retryDeploy,
  startDeploy,
  startPreflight,
  type CommandResult,
  type PreflightView,
} from './deploys';
import {
  describeLatestRun,
  listRuns,
  startLifecycle,
  type RunSummary,
  type RunView,
  type StartResult,
} from './lifecycle';
import { latestResult, resultWithin, type CheckView } from './results';
import { listRunningWorkflows, type RunningWorkflow } from './running';
import { keyRolloverResult, revocationResult, startKeyRollover, startRevocation } from './revocations';
import type { KeyRolloverResult, RevocationResult } from '../../temporal/revocation-contract';

export type { CommandResult, PreflightView } from './deploys';
export type { RunStepView, RunSummary, RunView, StartResult } from './lifecycle';
export type { CheckView } from './results';
export type { RunningWorkflow } from './running';

export interface ConsoleCommands {
  // Certificates: issue / renew runs and their renewal schedule
  startLifecycle(
    certificateId: string,
    trigger: Exclude<LifecycleTrigger, 'schedule'>,
    auditId: string,
  ): Promise<StartResult>;
  listLifecycleRuns(certificateId: string, uiUrl: string | undefined, limit?: number): Promise<RunSummary[]>;
  describeLatestRun(certificateId: string, uiUrl: string | undefined): Promise<RunView>;
  upsertRenewalSchedule(cert: ScheduledCertificate, settings: RenewalScheduleSettings): Promise<'created' | 'updated'>;
  deleteRenewalSchedule(certificateId: string): Promise<void>;
  // Revocation (revocations row + audit entry written by the console) and ACME account key rollover
  startRevocation(revocationId: string, auditId: string): Promise<void>;
  /** The revocation's result if it ends within `waitMs`, else "running". */
  revocationResult(revocationId: string, waitMs: number): Promise<CheckView<RevocationResult>>;
  /** 'running': a rollover of this directory's account is in progress. */
  startKeyRollover(directoryId: string, auditId: string): Promise<'started' | 'running'>;
  keyRolloverResult(directoryId: string, waitMs: number): Promise<CheckView<KeyRolloverResult>>;
  // Deployments
  startDeploy(
    certificateId: string,
    deploymentId: string,
    versionId: string,
    trigger: Exclude<DeployTrigger, 'lifecycle'>,
    auditId: string,
  ): Promise<CommandResult>;
  retryDeploy(
    certificateId: string,
    deploymentId: string,
    currentVersionId: string | null,
    auditId: string,
  ): Promise<CommandResult>;
  /** Signals a deploy waiting for its maintenance window; 'not-running' when there is no such run. */
  deployNow(certificateId: string, deploymentId: string, auditId: string): Promise<'signalled' | 'not-running'>;
  // Checks the worker runs for the console
  startPreflight(targetId: string): Promise<CommandResult>;
  latestPreflight(targetId: string): Promise<PreflightView>;
  startDnsProviderCheck(providerId: string): Promise<CheckStart>;
  latestDnsProviderCheck(providerId: string): Promise<CheckView<DnsProviderCheckResult>>;
  /** "Check the CNAME" of a delegated certificate; the result if it ends within `waitMs`, else "running". */
  startDnsDelegationCheck(certificateId: string): Promise<CheckStart>;
  dnsDelegationCheck(certificateId: string, waitMs?: number): Promise<CheckView<DnsDelegationCheckResult>>;
  /** "Read profiles": the worker reads the directory's `meta` and stores it (the web never talks to a CA). */
  startAcmeDirectoryCheck(directoryId: string): Promise<CheckStart>;
  /** The read's result if it ends within `waitMs` (else "running"; the page shows the stored record). */
  acmeDirectoryCheck(directoryId: string, waitMs: number): Promise<CheckView<AcmeDirectoryCheckResult>>;
  startTestEmail(workflowId: string, input: TestEmailInput): Promise<void>;
  latestTestEmail(workflowId: string): Promise<CheckView<TestEmailResult>>;
  startFetchFingerprint(workflowId: string, input: FetchFingerprintInput): Promise<void>;
  /** The fingerprint if the check ends within `waitMs`, else "running" (the form's fragment polls). */
  fetchedFingerprint(workflowId: string, waitMs?: number): Promise<CheckView<FetchFingerprintResult>>;
  startEndpointChangeNotice(auditId: string): Promise<void>;
  // The dashboard
  listRunning(uiUrl: string | undefined, limit: number): Promise<{ total: number; runs: RunningWorkflow[] }>;
  /** Temporal's frontend answers (readiness probe). */
  ping(timeoutMs: number): Promise<void>;
}

export type CheckStart = { started: true; workflowId: string; runId: string } | { started: false };

/** Starts a one-shot check workflow; one already running under that id is left to finish. */
async function startCheck(client: Client, type: string, workflowId: string, input: object): Promise<CheckStart> {
  try {
    const handle = await client.workflow.start(type, { workflowId, taskQueue: TASK_QUEUE, args: [input] });
    return { started: true, workflowId, runId: handle.firstExecutionRunId };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { started: false };
    throw error;
  }
}

export function createConsoleCommands(temporal: { client: Client; namespace: string }): ConsoleCommands {
  const { client, namespace } = temporal;
  return {
    startLifecycle: (certificateId, trigger, auditId) => startLifecycle(client, certificateId, trigger, auditId),
    listLifecycleRuns: (certificateId, uiUrl, limit) => listRuns(client, certificateId, uiUrl, namespace, limit),
    describeLatestRun: (certificateId, uiUrl) => describeLatestRun(client, certificateId, uiUrl, namespace),
    upsertRenewalSchedule: (cert, settings) => upsertRenewalSchedule(client, cert, settings),
    deleteRenewalSchedule: (certificateId) => deleteRenewalSchedule(client, certificateId),

    startRevocation: (revocationId, auditId) => startRevocation(client, revocationId, auditId),
    revocationResult: (revocationId, waitMs) => revocationResult(client, revocationId, waitMs),
    startKeyRollover: (directoryId, auditId) => startKeyRollover(client, directoryId, auditId),
    keyRolloverResult: (directoryId, waitMs) => keyRolloverResult(client, directoryId, waitMs),

    startDeploy: (certificateId, deploymentId, versionId, trigger, auditId) =>
      startDeploy(client, certificateId, deploymentId, versionId, trigger, auditId),
    retryDeploy: (certificateId, deploymentId, currentVersionId, auditId) =>
      retryDeploy(client, certificateId, deploymentId, currentVersionId, auditId),
    async deployNow(certificateId, deploymentId, auditId) {
      try {
        await client.workflow
          .getHandle(deploymentWorkflowId(certificateId, deploymentId))
          .signal(deployNowSignal, { auditId });
        return 'signalled';
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return 'not-running';
        throw error;
      }
    },

    startPreflight: (targetId) => startPreflight(client, targetId),
    latestPreflight: (targetId) => latestPreflight(client, targetId),
    startDnsProviderCheck: (providerId) =>
      startCheck(client, WorkflowType.dnsProviderCheck, dnsProviderCheckWorkflowId(providerId), {
        providerId,
      } satisfies DnsProviderCheckInput),
    latestDnsProviderCheck: (providerId) =>
      latestResult<DnsProviderCheckResult>(client, dnsProviderCheckWorkflowId(providerId)),
    startDnsDelegationCheck: (certificateId) =>
      startCheck(client, WorkflowType.dnsDelegationCheck, dnsDelegationCheckWorkflowId(certificateId), {
        certificateId,
      } satisfies DnsDelegationCheckInput),
    dnsDelegationCheck: (certificateId, waitMs) =>
      waitMs
        ? resultWithin<DnsDelegationCheckResult>(client, dnsDelegationCheckWorkflowId(certificateId), waitMs)
        : latestResult<DnsDelegationCheckResult>(client, dnsDelegationCheckWorkflowId(certificateId)),
    startAcmeDirectoryCheck: (directoryId) =>
      startCheck(client, WorkflowType.acmeDirectoryCheck, acmeDirectoryCheckWorkflowId(directoryId), {
        directoryId,
      } satisfies AcmeDirectoryCheckInput),
    acmeDirectoryCheck: (directoryId, waitMs) =>
      resultWithin<AcmeDirectoryCheckResult>(client, acmeDirectoryCheckWorkflowId(directoryId), waitMs),
    async startTestEmail(workflowId, input) {
      await client.workflow.start(WorkflowType.testEmail, { workflowId, taskQueue: TASK_QUEUE, args: [input] });
    },
    latestTestEmail: (workflowId) => latestResult<TestEmailResult>(client, workflowId),
    async startFetchFingerprint(workflowId, input) {
      await client.workflow.start(WorkflowType.fetchFingerprint, { workflowId, taskQueue: TASK_QUEUE, args: [input] });
    },
    fetchedFingerprint: (workflowId, waitMs) =>
      waitMs
        ? resultWithin<FetchFingerprintResult>(client, workflowId, waitMs)
        : latestResult<FetchFingerprintResult>(client, workflowId),
    async startEndpointChangeNotice(auditId) {
      const input: EndpointChangeNoticeInput = { auditId };
      await client.workflow.start(WorkflowType.endpointChangeNotice, {
        workflowId: endpointChangeNoticeWorkflowId(auditId),
        taskQueue: TASK_QUEUE,
        args: [input],
      });
    },

    listRunning: (uiUrl, limit) => listRunningWorkflows(client, uiUrl, namespace, limit),
    async ping(timeoutMs) {
      await client.withDeadline(Date.now() + timeoutMs, () => client.workflowService.getSystemInfo({}));
    },
  };
}
