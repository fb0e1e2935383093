/**
 * bench/task-timeouts.ts — what the workflow histories of a running (or finished) fleet say about
 * workflow-task congestion: per workflow type, how many runs, workflow tasks, timers, events, and
 * WORKFLOW_TASK_TIMED_OUT by kind (start-to-close: the worker took the task and did not finish it in
 * time; schedule-to-start: it waited on the worker's sticky queue past its timeout).
 *
 *   npx tsx bench/task-timeouts.ts <temporal address> [max runs, default 300]
 *
 * The address of a benchmark's dev server: `ps aux | grep 'temporal server start-dev'` (its --port).
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { EventType, TimeoutType } = temporal.api.enums.v1;

interface Tally {
  runs: number;
  events: number;
  tasks: number;
  timers: number;
  startToClose: number;
  scheduleToStart: number;
  runsWithTimeout: number;
}

async function main(): Promise<void> {
  const [address, maxArg] = process.argv.slice(2);
  if (!address) throw new Error('usage: npx tsx bench/task-timeouts.ts <temporal address> [max runs]');
  const max = Number(maxArg ?? 300);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const byType = new Map<string, Tally>();
  let seen = 0;
  for await (const w of client.workflow.list()) {
    if (seen++ >= max) break;
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const t = byType.get(w.type) ?? {
      runs: 0,
      events: 0,
      tasks: 0,
      timers: 0,
      startToClose: 0,
      scheduleToStart: 0,
      runsWithTimeout: 0,
    };
    t.runs += 1;
    let timedOut = false;
    for (const e of history.events ?? []) {
      t.events += 1;
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) t.tasks += 1;
      if (e.eventType === EventType.EVENT_TYPE_TIMER_STARTED) t.timers += 1;
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) {
        timedOut = true;
        if (e.workflowTaskTimedOutEventAttributes?.timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)
          t.scheduleToStart += 1;
        else t.startToClose += 1;
      }
    }
    if (timedOut) t.runsWithTimeout += 1;
    byType.set(w.type, t);
  }
  console.log(
    'workflow type | runs | events/run | workflow tasks/run | timers/run | task timeouts start-to-close / schedule-to-start | runs with a timeout',
  );
  for (const [type, t] of byType)
    console.log(
      `${type} | ${t.runs} | ${(t.events / t.runs).toFixed(1)} | ${(t.tasks / t.runs).toFixed(1)} | ${(t.timers / t.runs).toFixed(1)} | ${t.startToClose} / ${t.scheduleToStart} | ${t.runsWithTimeout}`,
    );
  await connection.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
