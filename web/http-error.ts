import { ServiceError } from '@temporalio/client';
import { isDatabaseUnreachable } from '../activities/db/pool';

/** An error with an HTTP status and a message safe to show to the user (and, for a 400, the fields to blame). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
  }
}

/** gRPC UNAVAILABLE: the Temporal server could not be reached, so the command never arrived. */
const UNAVAILABLE = 14;
/** gRPC DEADLINE_EXCEEDED: the server did not answer in time; the command may have arrived all the same. */
const DEADLINE_EXCEEDED = 4;

const grpcCodeOf = (error: unknown): unknown =>
  error instanceof ServiceError ? (error.cause as { code?: unknown } | undefined)?.code : undefined;

/**
 * CertFleet's PostgreSQL could not be reached or went away under a statement: refused or reset
 * connections, a server starting up or shutting down (SQLSTATE 57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now), or a pg client that lost its connection.
 */
const isDatabaseOutage = (error: unknown): boolean =>
  isDatabaseUnreachable(error) ||
  ['57P01', '57P02'].includes(String((error as { code?: unknown }).code)) ||
  (error instanceof Error && /not queryable|^Connection terminated/.test(error.message));

/** Temporal did not answer in time: the command may have arrived all the same. */
export const commandMayHaveArrived = (error: unknown): boolean => grpcCodeOf(error) === DEADLINE_EXCEEDED;

/**
 * The status and the message a user may see for any error: HttpError as thrown, a unique-name race
 * as 409, Temporal or the database out of reach as 503, body-parser's 4xx as they are, everything else 500 (whose
 * details go to the log, never to the user).
 */
export function publicError(error: unknown): { status: number; message: string; fields?: Record<string, string> } {
  if (error instanceof HttpError)
    return { status: error.status, message: error.message, ...(error.fields ? { fields: error.fields } : {}) };
  if ((error as { code?: unknown }).code === '23505') {
    return {
      status: 409,
      message: 'Something with this name was just created by someone else. Reload and choose another name.',
    };
  }
  const grpcCode = grpcCodeOf(error);
  if (grpcCode === UNAVAILABLE) {
    return {
      status: 503,
      message: 'Temporal is unreachable right now, so nothing was started or changed. Try again in a moment.',
    };
  }
  if (grpcCode === DEADLINE_EXCEEDED) {
    return {
      status: 503,
      message:
        'Temporal did not answer in time (it may be overloaded). The command may still go through: reload in a moment and check before trying again.',
    };
  }
  if (isDatabaseOutage(error)) {
    return {
      status: 503,
      message:
        'The database did not answer (it may be restarting). Reload in a moment and check before trying again: what you asked for may not have been saved.',
    };
  }
  const bodyError = (error as { type?: unknown }).type;
  if (bodyError === 'entity.parse.failed') return { status: 400, message: 'The request body is not valid JSON.' };
  if (bodyError === 'entity.too.large') return { status: 413, message: 'The request body is too large.' };
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, message: (error as Error).message };
  return { status: 500, message: 'Something went wrong on our side. The details are in the server log.' };
}
