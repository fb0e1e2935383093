import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type PoolClient, type QueryResultRow } from 'pg';

/** The one place that talks to PostgreSQL. Repositories receive a `Queryable`. */
export interface Queryable {
  query<Row extends QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface Database extends Queryable {
  withTransaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** For libraries that need a raw pg Pool (the session store). */
  readonly pool: Pool;
  close: () => Promise<void>;
}

export interface DatabaseOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
  /**
   * How long a query waits for a database that cannot be reached (refused, starting up, shutting
   * down) before it fails. Only opening a connection is retried, never a statement that was sent.
   * 0 (the default) fails at once; the worker waits, so a PostgreSQL restart does not use up the
   * few attempts of a device step.
   */
  connectRetryMs?: number;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** cannot_connect_now (starting up, shutting down, in recovery) and too_many_connections. */
const NOT_ACCEPTING_SQLSTATES = new Set(['57P03', '53300']);

/** True for a failure to open a connection that a later try may not meet. */
export function isDatabaseUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : '';
  if (UNREACHABLE_CODES.has(code) || NOT_ACCEPTING_SQLSTATES.has(code)) return true;
  return /^Connection terminated (unexpectedly|due to connection timeout)/.test(error.message);
}

async function connectPatiently(pool: Pool, retryMs: number): Promise<PoolClient> {
  const deadline = Date.now() + retryMs;
  for (let pause = 100; ; pause = Math.min(pause * 2, 2_000)) {
    try {
      return await pool.connect();
    } catch (error) {
      if (!isDatabaseUnreachable(error) || Date.now() + pause > deadline) throw error;
      await sleep(pause);
    }
  }
}

function wrap(client: PoolClient): Queryable {
  return {
    async query<Row extends QueryResultRow>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query<Row>(sql, params as unknown[]);
      return result.rows;
    },
  };
}

export function createDatabase(options: DatabaseOptions): Database {
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'certfleet',
  });
  // An idle client losing its connection (PostgreSQL restart) must not crash the process.
  pool.on('error', () => undefined);
  const retryMs = options.connectRetryMs ?? 0;
  /**
   * A checked-out client has no pool listener for 'error': a connection lost while it waits between
   * statements (PostgreSQL shutting down sends FATAL 57P01 to every backend) would be an unhandled
   * 'error' event that ends the process. The listener keeps it; the next statement then fails.
   */
  const checkout = async (): Promise<{ client: PoolClient; release: (failure?: unknown) => void }> => {
    const client = await connectPatiently(pool, retryMs);
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost = error;
    };
    client.on('error', onError);
    return {
      client,
      release(failure?: unknown) {
        client.off('error', onError);
        // A client whose connection was lost, or whose statement failed (as pg's own pool.query
        // does), is not reused.
        const reason = lost ?? failure;
        client.release(reason === undefined ? undefined : reason instanceof Error ? reason : true);
      },
    };
  };
  return {
    pool,
    async query<Row extends QueryResultRow>(sql: string, params: readonly unknown[] = []) {
      const { client, release } = await checkout();
      try {
        const result = await client.query<Row>(sql, params as unknown[]);
        release();
        return result.rows;
      } catch (error) {
        release(error);
        throw error;
      }
    },
    async withTransaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const { client, release } = await checkout();
      let failure: unknown;
      try {
        await client.query('BEGIN');
        const result = await work(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          failure = rollbackError;
        });
        throw error;
      } finally {
        release(failure);
      }
    },
    close: () => pool.end(),
  };
}
