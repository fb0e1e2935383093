import { AsyncLocalStorage } from 'node:async_hooks';
import type { Info } from '@temporalio/activity';
import type { Logger } from 'pino';

/**
 * Log lines written while an activity runs carry its workflow id, run id and activity type: the
 * wrapper in activities/index.ts runs each activity inside `withActivityLog`, and `activityAwareLogger`
 * (what activities receive as `deps.log`) writes through that activity's child logger.
 */
const running = new AsyncLocalStorage<Logger>();

/** The fields every line of an activity carries. */
export function activityLogFields(info: Info): Record<string, string | number> {
  return {
    ...(info.workflowExecution
      ? { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId }
      : {}),
    activityType: info.activityType,
    activityId: info.activityId,
    attempt: info.attempt,
  };
}

export function withActivityLog<T>(log: Logger, work: () => Promise<T>): Promise<T> {
  return running.run(log, work);
}

/** `base`, except that inside an activity every call goes to that activity's child logger. */
export function activityAwareLogger(base: Logger): Logger {
  return new Proxy(base, {
    get(target, property) {
      const log = running.getStore() ?? target;
      const value: unknown = Reflect.get(log, property, log);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(log) : value;
    },
  });
}
