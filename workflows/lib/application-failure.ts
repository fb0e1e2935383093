import { ApplicationFailure } from '@temporalio/workflow';

/** The ApplicationFailure an activity or child failed with: the error itself or its cause (ActivityFailure, ChildWorkflowFailure). */
export function applicationFailureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ApplicationFailure) return error;
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure ? cause : undefined;
}
