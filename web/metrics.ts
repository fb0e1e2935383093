/**
 * Prometheus metrics of the web console, served at GET /metrics (web/routes/health.ts). The fleet's
 * figures are read from PostgreSQL at scrape time (activities/db/repositories/metrics.ts): nothing is
 * kept in memory, so every web instance reports the same and a restart loses nothing.
 *
 *   certfleet_certificate_expiry_timestamp_seconds{certificate,customer}  gauge      notAfter of the current version, epoch seconds
 *                                                                                    (live certificates with an issued version)
 *   certfleet_certificate_ready{certificate,customer}                     gauge      1 = status valid and not expired, else 0 (every live certificate)
 *   certfleet_certificates{status}                                        gauge      live certificates by status (pending, issuing, valid, failed)
 *   certfleet_renewals_total{outcome}                                     counter    renewal runs that did something, by outcome (issued, partial, failed)
 *   certfleet_deployments_total{outcome,vendor}                           counter    finished deployment runs by outcome (deployed, ready, rolled_back,
 *                                                                                    failed) and the target's vendor
 *   certfleet_workflow_duration_seconds{workflow,outcome}                 histogram  how long finished runs took: workflow="renewal" (lifecycle runs)
 *                                                                                    or "deploy" (deployment runs); _bucket{le}, _sum, _count
 *   certfleet_open_incidents{kind}                                        gauge      open incidents by kind (renewal-failed, deploy-failed, not-deployed,
 *                                                                                    drift, served-expiring)
 *   certfleet_web_*                                                       prom-client's default metrics of the web process (CPU, memory,
 *                                                                                    event loop lag, GC, handles)
 *
 * The two per-certificate series carry customer names and host names, which an MSP keeps confidential:
 * they are served only to a scraper with METRICS_TOKEN. `createWebMetrics(db, { perCertificate: false })`
 * leaves them out (METRICS_PUBLIC=unlabelled serves that set without a token).
 *
 * The counters count rows of lifecycle_runs and deployment_runs, so they survive restarts; a renewal
 * run whose outcome is corrected later (partial → issued after a retried deploy) moves from one
 * outcome to the other, which Prometheus' rate() reads as a reset of the first series.
 * The Temporal worker's own metrics (task slots, poll and execution latencies, …) are served by the
 * worker itself on WORKER_METRICS_ADDRESS (worker/main.ts).
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { Queryable } from '../activities/db/pool';
import { fleetMetrics, type FleetMetrics, type RunDurations } from '../activities/db/repositories/metrics';

/** Upper bounds (seconds) of the duration buckets: a few seconds for a deploy up to days for one waiting for a maintenance window or a retry. */
export const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 259200] as const;

const CERTIFICATE_STATUSES = ['pending', 'issuing', 'valid', 'failed'];
const RENEWAL_OUTCOMES = ['issued', 'partial', 'failed'];
const INCIDENT_KINDS = [
  'renewal-failed',
  'deploy-failed',
  'not-deployed',
  'drift',
  'served-expiring',
  'dependency-down',
];

type Labels = Record<string, string>;

interface Sample {
  /** For a histogram's _bucket, _sum and _count lines. */
  metricName?: string;
  labels: Labels;
  value: number;
}

/**
 * A metric whose samples are computed from the scrape's snapshot of the database. prom-client's
 * registry accepts any object with name, help, type, aggregator and get() (it calls nothing else for
 * the text format, and reset() on resetMetrics()); its typings only list its own classes, hence the
 * one cast in register().
 */
interface SnapshotMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: 'counter' | 'gauge' | 'histogram';
    aggregator: 'sum';
    values: Sample[];
  }>;
  reset(): void;
}

export interface WebMetrics {
  registry: Registry;
  /** The exposition text. Concurrent scrapes share one read of the database. */
  scrape(): Promise<string>;
}

/** The histogram's lines of one label set: cumulative buckets, +Inf, sum and count. */
function histogramSamples(
  name: string,
  labels: Labels,
  runs: Pick<RunDurations, 'count' | 'sumSeconds' | 'buckets'>,
): Sample[] {
  return [
    ...DURATION_BUCKETS.map((le, i) => ({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(le) },
      value: runs.buckets[i] ?? 0,
    })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: runs.count },
    { metricName: `${name}_sum`, labels, value: runs.sumSeconds },
    { metricName: `${name}_count`, labels, value: runs.count },
  ];
}

/** Sums rows with the same key (deployment runs of every vendor, per outcome). */
function sumByOutcome(rows: RunDurations[]): RunDurations[] {
  const byOutcome = new Map<string, RunDurations>();
  for (const r of rows) {
    const seen = byOutcome.get(r.outcome);
    if (!seen) byOutcome.set(r.outcome, { ...r, buckets: [...r.buckets] });
    else {
      seen.count += r.count;
      seen.sumSeconds += r.sumSeconds;
      seen.buckets = seen.buckets.map((b, i) => b + (r.buckets[i] ?? 0));
    }
  }
  return [...byOutcome.values()];
}

/** Every known label value with 0, so an alert on `> 0` has a series to read before the first event. */
function withZeros(known: string[], counts: Map<string, number>, label: string): Sample[] {
  const keys = [...new Set([...known, ...counts.keys()])];
  return keys.map((key) => ({ labels: { [label]: key }, value: counts.get(key) ?? 0 }));
}

function samplesOf(name: string, s: FleetMetrics): Sample[] {
  switch (name) {
    case 'certfleet_certificate_expiry_timestamp_seconds':
      return s.certificates.flatMap((c) =>
        c.notAfter === null
          ? []
          : [{ labels: { certificate: c.certificate, customer: c.customer }, value: c.notAfter }],
      );
    case 'certfleet_certificate_ready':
      return s.certificates.map((c) => ({
        labels: { certificate: c.certificate, customer: c.customer },
        value: c.ready ? 1 : 0,
      }));
    case 'certfleet_certificates': {
      const counts = new Map<string, number>();
      for (const c of s.certificates) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
      return withZeros(CERTIFICATE_STATUSES, counts, 'status');
    }
    case 'certfleet_renewals_total':
      return withZeros(RENEWAL_OUTCOMES, new Map(s.renewals.map((r) => [r.outcome, r.count])), 'outcome');
    case 'certfleet_deployments_total':
      return s.deployments.map((d) => ({ labels: { outcome: d.outcome, vendor: d.vendor }, value: d.count }));
    case 'certfleet_workflow_duration_seconds':
      return [
        ...s.renewals.flatMap((r) => histogramSamples(name, { workflow: 'renewal', outcome: r.outcome }, r)),
        ...sumByOutcome(s.deployments).flatMap((d) =>
          histogramSamples(name, { workflow: 'deploy', outcome: d.outcome }, d),
        ),
      ];
    case 'certfleet_open_incidents':
      return withZeros(INCIDENT_KINDS, new Map(s.openIncidents.map((i) => [i.kind, i.count])), 'kind');
    default:
      return [];
  }
}

const FLEET_METRICS: { name: string; help: string; type: SnapshotMetric['type']; perCertificate?: true }[] = [
  {
    name: 'certfleet_certificate_expiry_timestamp_seconds',
    help: 'When the current version of a live certificate expires (notAfter), in seconds since the epoch.',
    type: 'gauge',
    perCertificate: true,
  },
  {
    name: 'certfleet_certificate_ready',
    help: '1 when a live certificate is valid and not expired, else 0.',
    type: 'gauge',
    perCertificate: true,
  },
  { name: 'certfleet_certificates', help: 'Live certificates by status.', type: 'gauge' },
  { name: 'certfleet_renewals_total', help: 'Renewal runs that did something, by outcome.', type: 'counter' },
  {
    name: 'certfleet_deployments_total',
    help: 'Finished deployment runs by outcome and target vendor.',
    type: 'counter',
  },
  {
    name: 'certfleet_workflow_duration_seconds',
    help: 'Duration of finished renewal runs (workflow="renewal") and deployment runs (workflow="deploy").',
    type: 'histogram',
  },
  { name: 'certfleet_open_incidents', help: 'Open incidents by kind.', type: 'gauge' },
];

/**
 * A registry per app (tests run several apps in one process), with the fleet's metrics and the process' own.
 * perCertificate: false leaves out the series labelled with customer and certificate names.
 */
export function createWebMetrics(
  db: Queryable,
  options: { perCertificate: boolean } = { perCertificate: true },
): WebMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'certfleet_web_' });

  let snapshot: Promise<FleetMetrics> | undefined;
  const current = (): Promise<FleetMetrics> => (snapshot ??= fleetMetrics(db, DURATION_BUCKETS));
  for (const { name, help, type } of FLEET_METRICS.filter((m) => options.perCertificate || !m.perCertificate)) {
    const metric: SnapshotMetric = {
      name,
      help,
      type,
      aggregator: 'sum',
      async get() {
        return { name, help, type, aggregator: 'sum', values: samplesOf(name, await current()) };
      },
      reset() {},
    };
    registry.registerMetric(metric as unknown as Metric);
  }

  let inflight: Promise<string> | undefined;
  return {
    registry,
    scrape() {
      inflight ??= (async () => {
        snapshot = fleetMetrics(db, DURATION_BUCKETS);
        try {
          return await registry.metrics();
        } finally {
          snapshot = undefined;
          inflight = undefined;
        }
      })();
      return inflight;
    },
  };
}
