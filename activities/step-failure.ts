/**
 * A composite activity (one activity for two steps of the run, e.g. validate + finalize) tells the
 * workflow which step failed: its failure carries `step` in ApplicationFailure.details[0], so the
 * progress shows the failure on that step. Type, message and retryability stay as they were.
 */
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { ClassifiedError } from './errors';

const withStep = (details: unknown, step: string): Record<string, unknown> =>
  details !== null && typeof details === 'object' && !Array.isArray(details)
    ? { ...(details as Record<string, unknown>), step }
    : { step };

function taggedWith(step: string, error: unknown): unknown {
  if (error instanceof ClassifiedError)
    return new ClassifiedError(error.type, error.message, error.retryAfterMs, withStep(error.details, step));
  if (error instanceof ApplicationFailure)
    return ApplicationFailure.create({
      ...(error.type ? { type: error.type } : {}),
      message: error.message,
      nonRetryable: error.nonRetryable === true,
      details: [withStep(error.details?.[0], step)],
    });
  // Cancellation and other Temporal failures pass unchanged; a plain error stays retryable.
  if (error instanceof TemporalFailure || !(error instanceof Error)) return error;
  return ApplicationFailure.create({ type: error.name, message: error.message, details: [{ step }] });
}

/** Runs `work`; a failure names `step` (the workflow reads it with `failedStepOf`, workflows/lib/progress.ts). */
export async function asStep<T>(step: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw taggedWith(step, error);
  }
}
