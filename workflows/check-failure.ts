import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** What a one-shot check workflow reports when its activity failed: the classified message, for the page. */
export function checkFailureDetail(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : String(cause);
}
