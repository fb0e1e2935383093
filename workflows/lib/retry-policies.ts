/** Retry policies the workflows share (plain data: no Temporal import). */
import { NON_RETRYABLE_FAILURES } from '../../temporal/contract';

/** Failure types no retry can fix: an activity failing with one fails at once. */
export const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURES];

/** Database bookkeeping: quick, retried patiently (a PostgreSQL restart must not fail a run). */
export const bookkeepingRetry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 20,
  nonRetryableErrorTypes,
};

/** Activity options of database bookkeeping. */
export const bookkeepingOptions = { startToCloseTimeout: '30s', retry: bookkeepingRetry } as const;
