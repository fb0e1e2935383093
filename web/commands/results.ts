import { WorkflowNotFoundError, type Client } from '@temporalio/client';

/** The last run of a one-shot check workflow (connection test, token check, test email), as a page shows it. */
export type CheckView<T> =
  | { state: 'none' }
  | { state: 'running' }
  | { state: 'done'; result: T; at: Date | undefined }
  | { state: 'error'; message: string };

export async function latestResult<T>(client: Client, workflowId: string): Promise<CheckView<T>> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') return { state: 'running' };
    if (description.status.name !== 'COMPLETED')
      return { state: 'error', message: `the check ended ${description.status.name.toLowerCase()}` };
    return { state: 'done', result: (await handle.result()) as T, at: description.closeTime };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { state: 'none' };
    return { state: 'error', message: `Temporal is unreachable: ${(error as Error).message}` };
  }
}

/** The check's result if it ends within `waitMs` (a short command answered in one request), else "running" (the fragment polls). */
export async function resultWithin<T>(client: Client, workflowId: string, waitMs: number): Promise<CheckView<T>> {
  try {
    await client.withDeadline(Date.now() + waitMs, () => client.workflow.getHandle(workflowId).result());
  } catch {
    // Not finished yet, or failed: latestResult says which.
  }
  return latestResult<T>(client, workflowId);
}
