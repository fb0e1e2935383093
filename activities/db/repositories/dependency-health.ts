import type { Queryable } from '../pool';

/** What a circuit breaker guards: a CA's ACME directory, a DNS provider account, a device (target). */
export type DependencyKind = 'acme-directory' | 'dns-provider' | 'device';
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What the dashboard, the alerts and the errors call a dependency whose breaker is open. */
export const NOT_ANSWERING: Record<DependencyKind, string> = {
  'acme-directory': 'CA not answering',
  'dns-provider': 'DNS provider not answering',
  device: 'device not answering',
};

export interface DependencyHealth {
  key: string;
  kind: DependencyKind;
  label: string;
  state: BreakerState;
  since: Date;
  /** Consecutive transport failures and timeouts (0 after a success). */
  failures: number;
  lastError: string | null;
  /** When an open breaker lets one call through to try again. */
  nextProbe: Date | null;
}

/** The columns under the record's field names, so rows are records as they come (`d.`: the upsert's alias). */
const COLUMNS = (table = ''): string =>
  `${table}key, ${table}kind, ${table}label, ${table}state, ${table}since, ${table}failures, ` +
  `${table}last_error AS "lastError", ${table}next_probe AS "nextProbe"`;

export async function readDependencyHealth(db: Queryable, key: string): Promise<DependencyHealth | undefined> {
  const rows = await db.query<DependencyHealth>(`SELECT ${COLUMNS()} FROM dependency_health WHERE key = $1`, [key]);
  return rows[0];
}

/**
 * An open breaker whose probe time has come lets exactly one caller through (it becomes half-open);
 * a half-open one whose probe never reported back (its worker died) lets the next one through.
 */
export async function claimProbe(db: Queryable, key: string, probeTimeoutMs: number): Promise<boolean> {
  const rows = await db.query<{ key: string }>(
    `UPDATE dependency_health
        SET state = 'half-open', next_probe = now() + make_interval(secs => $2::double precision / 1000), updated_at = now()
      WHERE key = $1 AND state <> 'closed' AND next_probe <= now()
      RETURNING key`,
    [key, probeTimeoutMs],
  );
  return rows.length > 0;
}

/** A call went through: the breaker closes. Returns the state it was in (undefined: nothing to change). */
export async function recordDependencySuccess(db: Queryable, key: string): Promise<BreakerState | undefined> {
  const rows = await db.query<{ was: BreakerState }>(
    `WITH old AS (SELECT key, state FROM dependency_health WHERE key = $1 FOR UPDATE)
     UPDATE dependency_health d
        SET state = 'closed', failures = 0, next_probe = NULL, updated_at = now(),
            since = CASE WHEN old.state <> 'closed' THEN now() ELSE d.since END
       FROM old
      WHERE d.key = old.key AND (old.state <> 'closed' OR d.failures > 0)
      RETURNING old.state AS was`,
    [key],
  );
  return rows[0]?.was;
}

export interface DependencyFailure {
  key: string;
  kind: DependencyKind;
  label: string;
  error: string;
  /** Consecutive failures that open a closed breaker. */
  threshold: number;
  /** How long an open breaker fails calls fast before it lets a probe through. */
  openMs: number;
}

/**
 * A transport failure or timeout: counted; the breaker opens at the threshold, and a failed probe
 * opens it again. `opened` is true only for the call that turned a closed breaker open (the outage's
 * one alert).
 */
export async function recordDependencyFailure(
  db: Queryable,
  f: DependencyFailure,
): Promise<{ state: BreakerState; opened: boolean; health: DependencyHealth }> {
  const rows = await db.query<DependencyHealth & { was: BreakerState | null }>(
    `WITH old AS (SELECT state FROM dependency_health WHERE key = $1 FOR UPDATE)
     INSERT INTO dependency_health AS d (key, kind, label, state, failures, last_error, since, next_probe)
     VALUES ($1, $2, $3,
             CASE WHEN $5::int <= 1 THEN 'open' ELSE 'closed' END, 1, $4, now(),
             CASE WHEN $5::int <= 1 THEN now() + make_interval(secs => $6::double precision / 1000) END)
     ON CONFLICT (key) DO UPDATE SET
       failures = d.failures + 1,
       last_error = EXCLUDED.last_error,
       label = EXCLUDED.label,
       updated_at = now(),
       state = CASE WHEN d.state <> 'closed' OR d.failures + 1 >= $5::int THEN 'open' ELSE 'closed' END,
       since = CASE WHEN d.state = 'closed' AND d.failures + 1 >= $5::int THEN now() ELSE d.since END,
       next_probe = CASE WHEN d.state <> 'closed' OR d.failures + 1 >= $5::int
                         THEN now() + make_interval(secs => $6::double precision / 1000) ELSE d.next_probe END
     RETURNING ${COLUMNS('d.')}, (SELECT state FROM old) AS was`,
    [f.key, f.kind, f.label, f.error, f.threshold, f.openMs],
  );
  const { was, ...health } = rows[0] as DependencyHealth & { was: BreakerState | null };
  return { state: health.state, opened: health.state === 'open' && (was ?? 'closed') === 'closed', health };
}

/** Every dependency whose breaker is not closed, longest first (the dashboard). */
export async function listDependenciesNotAnswering(db: Queryable): Promise<DependencyHealth[]> {
  return db.query<DependencyHealth>(
    `SELECT ${COLUMNS()} FROM dependency_health WHERE state <> 'closed' ORDER BY since, key LIMIT 200`,
  );
}
