import type { Queryable } from '../pool';

/**
 * What the web's /metrics reports about the fleet (web/metrics.ts), read at scrape time. One query
 * per table, each a single pass: the live certificates, the runs aggregated in SQL by outcome and
 * histogram bucket (counts and sums), so a scrape of 10,000 certificates and 100,000 deployment runs
 * stays well below a second.
 */

export interface CertificateMetricRow {
  certificate: string;
  customer: string;
  status: string;
  /** Epoch seconds of the current version's notAfter (whole seconds); null while nothing is issued. */
  notAfter: number | null;
  /** Status valid and not expired. */
  ready: boolean;
}

/** Finished runs of one kind and outcome: how many, their total duration and cumulative bucket counts. */
export interface RunDurations {
  outcome: string;
  count: number;
  sumSeconds: number;
  /** Runs that took at most `bounds[i]` seconds (cumulative, in the order of the bounds given). */
  buckets: number[];
}

export interface DeploymentRunDurations extends RunDurations {
  vendor: string;
}

export interface FleetMetrics {
  certificates: CertificateMetricRow[];
  /** lifecycle_runs by outcome (one row per renewal run that did something). */
  renewals: RunDurations[];
  /** Finished deployment_runs by outcome and target vendor. */
  deployments: DeploymentRunDurations[];
  /** Open incidents by kind. */
  openIncidents: { kind: string; count: number }[];
}

interface CertificateRow {
  certificate: string;
  customer: string;
  status: string;
  not_after: number | null;
  ready: boolean;
}

interface BucketRow {
  outcome: string;
  vendor?: string;
  /** How many bounds lie strictly below the duration: the run counts in le=bounds[k] and above (k = bounds.length: +Inf only). */
  k: number;
  count: number;
  sum_seconds: number;
}

/**
 * The bucket of a run, computed once per row: `width_bucket(x, thresholds)` counts the thresholds
 * ≤ x, so on the negated, reversed bounds it counts the bounds ≥ duration; bounds.length minus that
 * is the number of bounds < duration. A run of exactly 5 s thus lands in le="5" (Prometheus buckets
 * are inclusive), which width_bucket on the bounds themselves would put in the next one. One
 * grouping key instead of one FILTER aggregate per bound: a third of the time on 100,000 runs.
 */
function bucketIndex(seconds: string, bounds: readonly number[]): string {
  if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] ?? -Infinity))))
    throw new Error('metrics: histogram bounds must be finite and ascending');
  return `${bounds.length} - width_bucket(-(${seconds}), '{${[...bounds]
    .reverse()
    .map((b) => -b)
    .join(',')}}'::float8[])`;
}

/** Rows per (key, bucket) → per key: count, sum and cumulative bucket counts. */
function cumulate<R extends RunDurations>(
  rows: BucketRow[],
  bounds: readonly number[],
  keyOf: (r: BucketRow) => string,
  make: (r: BucketRow) => R,
): R[] {
  const byKey = new Map<string, R>();
  for (const r of rows) {
    const key = keyOf(r);
    let d = byKey.get(key);
    if (!d) byKey.set(key, (d = make(r)));
    d.count += r.count;
    d.sumSeconds += r.sum_seconds;
    for (let i = r.k; i < bounds.length; i++) d.buckets[i] = (d.buckets[i] ?? 0) + r.count;
  }
  return [...byKey.values()];
}

export async function certificateMetrics(db: Queryable): Promise<CertificateMetricRow[]> {
  const rows = await db.query<CertificateRow>(
    `SELECT c.common_name AS certificate, cu.name AS customer, c.status,
            floor(extract(epoch FROM c.current_not_after))::float8 AS not_after,
            (c.status = 'valid' AND c.current_not_after > now()) AS ready
       FROM certificates c JOIN customers cu ON cu.id = c.customer_id
      WHERE c.deleted_at IS NULL`,
  );
  return rows.map((r) => ({
    certificate: r.certificate,
    customer: r.customer,
    status: r.status,
    notAfter: r.not_after,
    ready: r.ready === true,
  }));
}

const SECONDS = (alias: string) => `date_part('epoch', ${alias}.ended_at - ${alias}.started_at)`;

export async function renewalRunMetrics(db: Queryable, bounds: readonly number[]): Promise<RunDurations[]> {
  const rows = await db.query<BucketRow>(
    `SELECT l.outcome, ${bucketIndex(SECONDS('l'), bounds)} AS k, count(*)::int AS count, sum(${SECONDS('l')}) AS sum_seconds
       FROM lifecycle_runs l GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return cumulate(
    rows,
    bounds,
    (r) => r.outcome,
    (r) => ({ outcome: r.outcome, count: 0, sumSeconds: 0, buckets: bounds.map(() => 0) }),
  );
}

export async function deploymentRunMetrics(
  db: Queryable,
  bounds: readonly number[],
): Promise<DeploymentRunDurations[]> {
  const rows = await db.query<BucketRow & { vendor: string }>(
    `SELECT r.outcome, t.vendor, ${bucketIndex(SECONDS('r'), bounds)} AS k, count(*)::int AS count, sum(${SECONDS('r')}) AS sum_seconds
       FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id JOIN targets t ON t.id = d.target_id
      WHERE r.ended_at IS NOT NULL AND r.outcome <> 'running'
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  return cumulate(
    rows,
    bounds,
    (r) => `${r.outcome}\n${r.vendor ?? ''}`,
    (r) => ({ outcome: r.outcome, vendor: r.vendor ?? '', count: 0, sumSeconds: 0, buckets: bounds.map(() => 0) }),
  );
}

export async function openIncidentCounts(db: Queryable): Promise<{ kind: string; count: number }[]> {
  return db.query<{ kind: string; count: number }>(
    'SELECT kind, count(*)::int AS count FROM incidents WHERE resolved_at IS NULL GROUP BY kind ORDER BY kind',
  );
}

/** Everything /metrics reports, the four queries in parallel. */
export async function fleetMetrics(db: Queryable, bounds: readonly number[]): Promise<FleetMetrics> {
  const [certificates, renewals, deployments, openIncidents] = await Promise.all([
    certificateMetrics(db),
    renewalRunMetrics(db, bounds),
    deploymentRunMetrics(db, bounds),
    openIncidentCounts(db),
  ]);
  return { certificates, renewals, deployments, openIncidents };
}
