import { Pool, type PoolClient, type QueryResultRow } from 'pg';

/** The one place that talks to PostgreSQL. Repositories receive a `Queryable`. */
export interface Queryable {
  query<Row extends QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface Database extends Queryable {
  withTransaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** For libraries that need a raw pg Pool (the session store). */
  readonly pool: Pool;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

function wrap(client: Pool | PoolClient): Queryable {
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
  const direct = wrap(pool);
  return {
    pool,
    query: direct.query,
    async withTransaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
