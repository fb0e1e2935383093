import type { Queryable } from '../pool';

/** One certificate's line in the compliance report. */
export interface ComplianceRow {
  certificateId: string;
  commonName: string;
  customerName: string;
  status: string;
  notAfter: Date | null;
  keyType: string | null;
  /** PEM of the current version (the issuer is read from it). */
  certPem: string | null;
  targets: string[];
  lastDeployOutcome: string | null;
  lastDeployAt: Date | null;
  lastDeployTarget: string | null;
  /** The last deploy is waiting for its target's maintenance window: when it opens, and the windows' time zone. */
  lastDeployWaitingUntil: Date | null;
  lastDeployWaitingTimeZone: string | null;
  /** The latest check that the endpoints serve the certificate: drift watch or a deploy's verify step. */
  lastVerifiedAt: Date | null;
  lastVerification: string | null;
}

/** Live certificates, by customer and name; `customerId` narrows it, `limit`/`offset` page it. */
export async function complianceRows(
  db: Queryable,
  f: { customerId?: string; limit: number; offset: number },
): Promise<ComplianceRow[]> {
  return db.query<ComplianceRow>(
    `SELECT c.id AS "certificateId", c.common_name AS "commonName", cu.name AS "customerName", c.status, c.current_not_after AS "notAfter",
            v.key_type AS "keyType", v.cert_pem AS "certPem",
            COALESCE((SELECT array_agg(t.name ORDER BY t.name) FROM deployments d JOIN targets t ON t.id = d.target_id
                       WHERE d.certificate_id = c.id AND d.deleted_at IS NULL AND t.deleted_at IS NULL), '{}') AS targets,
            last_run.outcome AS "lastDeployOutcome", last_run.started_at AS "lastDeployAt", last_run.target_name AS "lastDeployTarget",
            last_run.waiting_until AS "lastDeployWaitingUntil", last_run.waiting_time_zone AS "lastDeployWaitingTimeZone",
            CASE WHEN checks.checked_at IS NOT NULL AND (verify.at IS NULL OR checks.checked_at >= verify.at) THEN checks.checked_at ELSE verify.at END AS "lastVerifiedAt",
            CASE WHEN checks.checked_at IS NOT NULL AND (verify.at IS NULL OR checks.checked_at >= verify.at)
                 THEN 'drift watch: ' || checks.summary ELSE CASE WHEN verify.at IS NOT NULL THEN 'verified after deploy' END END AS "lastVerification"
       FROM certificates c
       JOIN customers cu ON cu.id = c.customer_id
       LEFT JOIN certificate_versions v ON v.id = c.current_version_id
       LEFT JOIN LATERAL (
         SELECT r.outcome, r.started_at, t.name AS target_name,
                CASE WHEN r.outcome = 'running' AND d.status = 'waiting' THEN d.waiting_until END AS waiting_until,
                CASE WHEN r.outcome = 'running' AND d.status = 'waiting' THEN d.waiting_time_zone END AS waiting_time_zone
           FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id JOIN targets t ON t.id = d.target_id
          WHERE d.certificate_id = c.id ORDER BY r.id DESC LIMIT 1) last_run ON true
       LEFT JOIN LATERAL (
         SELECT max(s.at) AS at FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id JOIN deployments d ON d.id = r.deployment_id
          WHERE d.certificate_id = c.id AND s.step = 'verify' AND s.status = 'succeeded') verify ON true
       LEFT JOIN LATERAL (
         SELECT max(e.checked_at) AS checked_at,
                concat_ws(', ', nullif(count(*) FILTER (WHERE e.state = 'match'), 0) || ' match', nullif(count(*) FILTER (WHERE e.state = 'drift'), 0) || ' drift',
                          nullif(count(*) FILTER (WHERE e.state = 'expiring'), 0) || ' expiring', nullif(count(*) FILTER (WHERE e.state = 'unreachable'), 0) || ' unreachable') AS summary
           FROM endpoint_checks e JOIN deployments d ON d.id = e.deployment_id WHERE d.certificate_id = c.id AND d.deleted_at IS NULL) checks ON true
      WHERE c.deleted_at IS NULL AND ($1::bigint IS NULL OR c.customer_id = $1)
      ORDER BY lower(cu.name), c.common_name, c.id
      LIMIT $2 OFFSET $3`,
    [f.customerId ?? null, f.limit, f.offset],
  );
}
