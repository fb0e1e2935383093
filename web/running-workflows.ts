import type { Queryable } from '../activities/db/pool';
import { runSubjects, type RunSubjectKind } from '../activities/db/repositories/dashboard';
import { waitingUntilText } from '../activities/domain/maintenance-window';
import { rateLimitWaitText } from '../activities/domain/pacing-budget';
import type { RunningWorkflow } from './commands/running';

/** A running workflow as the dashboard shows it: by name, and until when a deploy waits for its window or an order for the CA's rate limit. */
export interface NamedRunningWorkflow extends RunningWorkflow {
  name: string | undefined;
  waiting: string | undefined;
}

/** Names the runs' subjects from the database (a run whose subject is gone keeps no name). */
export async function nameRunningWorkflows(db: Queryable, runs: RunningWorkflow[]): Promise<NamedRunningWorkflow[]> {
  const ids: Record<RunSubjectKind, string[]> = { certificate: [], deployment: [], target: [], 'dns-provider': [] };
  for (const run of runs) if (run.subject) ids[run.subject.kind].push(run.subject.id);
  const found = runs.some((r) => r.subject) ? await runSubjects(db, ids) : [];
  const byKey = new Map(found.map((s) => [`${s.kind}:${s.id}`, s]));
  return runs.map((run) => {
    const subject = run.subject && byKey.get(`${run.subject.kind}:${run.subject.id}`);
    return {
      ...run,
      name: subject?.name,
      waiting: !subject?.waitingUntil
        ? undefined
        : subject.waitingFor === 'rate-limit'
          ? rateLimitWaitText(subject.waitingUntil)
          : waitingUntilText(subject.waitingUntil, subject.waitingTimeZone ?? 'UTC'),
    };
  });
}
