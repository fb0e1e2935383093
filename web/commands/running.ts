/** What runs right now, from Temporal visibility (the dashboard's "Running" panel). */
import type { Client } from '@temporalio/client';
import type { RunSubjectKind } from '../../activities/db/repositories/dashboard';
import { WorkflowType } from '../../temporal/contract';
import { temporalUiLink } from '../temporal-ui';

export interface RunningWorkflow {
  workflowId: string;
  runId: string;
  type: string;
  label: string;
  startTime: Date;
  /** The console page the run is about. */
  href: string | undefined;
  certificateId: string | undefined;
  /** What the run is about, as pageOf read it from the workflow id. */
  subject: { kind: RunSubjectKind; id: string } | undefined;
  temporalUiUrl: string | undefined;
}

const LABELS: Record<string, string> = {
  [WorkflowType.lifecycle]: 'Issue / renew',
  [WorkflowType.deploy]: 'Deploy',
  [WorkflowType.preflight]: 'Test connection',
  [WorkflowType.dnsProviderCheck]: 'Verify DNS token',
  [WorkflowType.testEmail]: 'Test email',
};

/** Where a workflow id points in the console (ids come from temporal/contract's builders). */
function pageOf(workflowId: string): Pick<RunningWorkflow, 'href' | 'certificateId' | 'subject'> {
  const cert = /^certificate:(\d+)$/.exec(workflowId) ?? /^deploy:(\d+):(\d+)$/.exec(workflowId);
  if (cert?.[1] && cert[2])
    return { href: `/deployments/${cert[2]}`, certificateId: cert[1], subject: { kind: 'deployment', id: cert[2] } };
  if (cert?.[1])
    return { href: `/certificates/${cert[1]}`, certificateId: cert[1], subject: { kind: 'certificate', id: cert[1] } };
  const target = /^preflight:target:(\d+)$/.exec(workflowId)?.[1];
  if (target) return { href: `/targets/${target}`, certificateId: undefined, subject: { kind: 'target', id: target } };
  const provider = /^dns-check:provider:(\d+)$/.exec(workflowId)?.[1];
  if (provider)
    return {
      href: `/dns-providers/${provider}`,
      certificateId: undefined,
      subject: { kind: 'dns-provider', id: provider },
    };
  return { href: undefined, certificateId: undefined, subject: undefined };
}

/** Running workflows that do work someone waits for (not the long-lived device coordinators or the renewal ticks). */
export async function listRunningWorkflows(
  client: Client,
  uiUrl: string | undefined,
  namespace: string,
  limit: number,
): Promise<{ total: number; runs: RunningWorkflow[] }> {
  const types = Object.keys(LABELS)
    .map((t) => `'${t}'`)
    .join(', ');
  const query = `ExecutionStatus = 'Running' AND WorkflowType IN (${types})`;
  // allSettled: when one call fails, the other must not go on retrying after the page is answered.
  const [count, runs] = await Promise.allSettled([
    client.workflow.count(query),
    (async () => {
      const found: RunningWorkflow[] = [];
      for await (const run of client.workflow.list({ query, pageSize: limit })) {
        found.push({
          workflowId: run.workflowId,
          runId: run.runId,
          type: run.type,
          label: LABELS[run.type] ?? run.type,
          startTime: run.startTime,
          ...pageOf(run.workflowId),
          temporalUiUrl: temporalUiLink(uiUrl, namespace, run.workflowId, run.runId),
        });
        if (found.length >= limit) break;
      }
      return found;
    })(),
  ]);
  if (count.status === 'rejected') throw count.reason;
  if (runs.status === 'rejected') throw runs.reason;
  return { total: count.value.count, runs: runs.value };
}
