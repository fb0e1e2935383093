import { ApplicationFailure } from '@temporalio/common';
import { FailureType, NON_RETRYABLE_FAILURES } from '../temporal/contract';

/**
 * An error classified for Temporal: `type` decides whether a retry can help. Messages start with the
 * component ("cloudflare: …") and never contain secrets.
 */
export class ClassifiedError extends Error {
  override readonly name = 'ClassifiedError';
  constructor(
    readonly type: FailureType,
    message: string,
    readonly retryAfterMs?: number,
    /** Plain data for the workflow (ApplicationFailure details): never secrets. */
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const classified = (
  type: FailureType,
  message: string,
  retryAfterMs?: number,
  details?: unknown,
): ClassifiedError => new ClassifiedError(type, message, retryAfterMs, details);

/** Converts a ClassifiedError into the ApplicationFailure the workflow sees. Other errors pass unchanged (retryable). */
export function toApplicationFailure(error: unknown): unknown {
  if (!(error instanceof ClassifiedError)) return error;
  return ApplicationFailure.create({
    type: error.type,
    message: error.message,
    nonRetryable: NON_RETRYABLE_FAILURES.includes(error.type),
    ...(error.retryAfterMs !== undefined ? { nextRetryDelay: error.retryAfterMs } : {}),
    ...(error.details !== undefined ? { details: [error.details] } : {}),
  });
}
