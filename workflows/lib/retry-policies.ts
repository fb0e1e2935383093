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

/**
 * Database bookkeeping as local activities (the only local activities: quick calls to our own
 * PostgreSQL). A short timeout keeps a slow database from holding the workflow task for long; longer
 * retry backoffs become timers (the SDK's local retry threshold).
 */
export const localBookkeepingOptions = { startToCloseTimeout: '10s', retry: bookkeepingRetry } as const;

/** Calls to a CA or a DNS API: retried with backoff; rate limits carry their own Retry-After delay. */
export const remoteCallOptions = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '15s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 10,
    nonRetryableErrorTypes,
  },
} as const;

/** A check someone waits for at a console form (read a directory, verify a DNS token): a few quick tries. */
export const consoleCheckOptions = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes },
} as const;

/** Verifying a deploy by TLS handshake: a device may need a moment before it serves the new certificate; a stale one after that is a failure. */
export const verifyOptions = {
  startToCloseTimeout: '1m',
  heartbeatTimeout: '15s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 4,
    nonRetryableErrorTypes,
  },
} as const;
