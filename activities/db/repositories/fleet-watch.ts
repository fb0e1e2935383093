import type { Queryable } from '../pool';
import { expiresWithinSql } from './expiry-sql';

export interface UndeployedDeployment {
  deploymentId: string;
  certificateId: string;
  customerId: string;
  commonName: string;
  targetName: string;
  status: string;
  issuedAt: Date;
}

/**
 * Deployments whose target does not have the certificate's current version although it was issued
 * longer ago than `olderThanMs`. Deployments waiting for their maintenance window are not late.
 */
export async function undeployedDeployments(db: Queryable, olderThanMs: number): Promise<UndeployedDeployment[]> {
  return db.query<UndeployedDeployment>(
    `SELECT d.id AS "deploymentId", c.id AS "certificateId", c.customer_id AS "customerId", c.common_name AS "commonName", t.name AS "targetName",
            d.status, v.created_at AS "issuedAt"
       FROM deployments d JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id
       JOIN certificate_versions v ON v.id = c.current_version_id
      WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL AND t.deleted_at IS NULL
        AND d.current_version_id IS DISTINCT FROM c.current_version_id AND d.status <> 'waiting'
        AND v.created_at <= now() - ($1::double precision * interval '1 millisecond')
      ORDER BY d.id`,
    [olderThanMs],
  );
}

export interface ExpiringRow {
  certificateId: string;
  commonName: string;
  customerId: string;
  customerName: string;
  notBefore: Date;
  notAfter: Date;
}

/** Live certificates whose current version expires within `days` days, scaled to its lifetime (expired ones included). */
export async function certificatesExpiringWithin(db: Queryable, days: number): Promise<ExpiringRow[]> {
  return db.query<ExpiringRow>(
    `SELECT c.id AS "certificateId", c.common_name AS "commonName", c.customer_id AS "customerId", cu.name AS "customerName",
            c.current_not_before AS "notBefore", c.current_not_after AS "notAfter"
       FROM certificates c JOIN customers cu ON cu.id = c.customer_id
      WHERE c.deleted_at IS NULL AND ${expiresWithinSql('c', '$1::double precision')}
      ORDER BY c.current_not_after, c.id`,
    [days],
  );
}

export interface ServedExpiringRow {
  deploymentId: string;
  customerId: string;
  endpoint: string;
  targetName: string;
  subject: string | null;
  notAfter: Date;
  state: string;
}

/** Endpoints seen serving a certificate that expires within `days` days (scaled to its lifetime), whoever issued it. */
export async function servedExpiringWithin(db: Queryable, days: number): Promise<ServedExpiringRow[]> {
  return db.query<ServedExpiringRow>(
    `SELECT e.deployment_id AS "deploymentId", c.customer_id AS "customerId", e.endpoint, t.name AS "targetName", e.subject, e.not_after AS "notAfter", e.state
       FROM endpoint_checks e JOIN deployments d ON d.id = e.deployment_id JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id
      WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL AND t.deleted_at IS NULL AND e.not_after <= now() + $1 * interval '1 day'
        AND e.not_after <= now() + expiry_threshold(e.not_before, e.not_after, $1::double precision)
      ORDER BY e.not_after`,
    [days],
  );
}

export async function countWaitingDeployments(db: Queryable, customerId?: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM deployments d JOIN certificates c ON c.id = d.certificate_id
      WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL AND d.status = 'waiting' AND ($1::bigint IS NULL OR c.customer_id = $1)`,
    [customerId ?? null],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Customers that have their own alert recipients. */
export async function customersWithRecipients(
  db: Queryable,
): Promise<{ id: string; name: string; recipients: string[] }[]> {
  return db.query<{ id: string; name: string; recipients: string[] }>(
    'SELECT id, name, alert_recipients AS recipients FROM customers WHERE deleted_at IS NULL AND cardinality(alert_recipients) > 0 ORDER BY id',
  );
}

export interface WatchedDeployment {
  deploymentId: string;
  certificateId: string;
  customerId: string;
  commonName: string;
  targetName: string;
  targetId: string;
  expectedFingerprint: string;
}

/** The next page of deployments the drift watch checks: live, not manual, with a deployed version. */
export async function deploymentsToWatch(
  db: Queryable,
  afterId: string | null,
  limit: number,
): Promise<WatchedDeployment[]> {
  return db.query<WatchedDeployment>(
    `SELECT d.id AS "deploymentId", c.id AS "certificateId", c.customer_id AS "customerId", c.common_name AS "commonName", t.name AS "targetName",
            t.id AS "targetId", v.fingerprint_sha256 AS "expectedFingerprint"
       FROM deployments d JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id
       JOIN certificate_versions v ON v.id = d.current_version_id
      WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL AND t.deleted_at IS NULL AND t.vendor <> 'manual'
        AND ($1::bigint IS NULL OR d.id > $1)
      ORDER BY d.id LIMIT $2`,
    [afterId, limit],
  );
}

export interface EndpointCheck {
  deploymentId: string;
  endpoint: string;
  host: string;
  port: number;
  servername: string | null;
  state: 'match' | 'drift' | 'expiring' | 'unreachable';
  fingerprintSha256: string | null;
  subject: string | null;
  issuer: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  detail: string | null;
}

export async function recordEndpointCheck(db: Queryable, c: EndpointCheck): Promise<void> {
  await db.query(
    `INSERT INTO endpoint_checks (deployment_id, endpoint, host, port, servername, checked_at, state, fingerprint_sha256, subject, issuer, not_after, detail, not_before)
     VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (deployment_id, endpoint) DO UPDATE
        SET host = EXCLUDED.host, port = EXCLUDED.port, servername = EXCLUDED.servername, checked_at = now(), state = EXCLUDED.state,
            fingerprint_sha256 = EXCLUDED.fingerprint_sha256, subject = EXCLUDED.subject, issuer = EXCLUDED.issuer, not_after = EXCLUDED.not_after,
            detail = EXCLUDED.detail, not_before = EXCLUDED.not_before`,
    [
      c.deploymentId,
      c.endpoint,
      c.host,
      c.port,
      c.servername,
      c.state,
      c.fingerprintSha256,
      c.subject,
      c.issuer,
      c.notAfter,
      c.detail,
      c.notBefore,
    ],
  );
}

/** Endpoints of a deployment that are no longer checked (the endpoints changed): forget them. */
export async function forgetEndpointChecks(db: Queryable, deploymentId: string, keep: string[]): Promise<void> {
  await db.query('DELETE FROM endpoint_checks WHERE deployment_id = $1 AND NOT (endpoint = ANY($2::text[]))', [
    deploymentId,
    keep,
  ]);
}

export interface DriftSummary {
  checkedAt: Date | null;
  counts: Record<EndpointCheck['state'], number>;
  problems: {
    deploymentId: string;
    certificateId: string;
    commonName: string;
    targetName: string;
    endpoint: string;
    state: string;
    detail: string | null;
    notAfter: Date | null;
    checkedAt: Date;
  }[];
}

/** The drift watch's last results for the dashboard. */
export async function driftSummary(
  db: Queryable,
  customerId: string | undefined,
  limit: number,
): Promise<DriftSummary> {
  const [counts, problems] = await Promise.all([
    db.query<{ state: EndpointCheck['state']; n: string; checked_at: Date | null }>(
      `SELECT e.state, count(*) AS n, max(e.checked_at) AS checked_at
         FROM endpoint_checks e JOIN deployments d ON d.id = e.deployment_id JOIN certificates c ON c.id = d.certificate_id
        WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL AND ($1::bigint IS NULL OR c.customer_id = $1) GROUP BY e.state`,
      [customerId ?? null],
    ),
    db.query<DriftSummary['problems'][number]>(
      `SELECT e.deployment_id AS "deploymentId", c.id AS "certificateId", c.common_name AS "commonName", t.name AS "targetName", e.endpoint, e.state,
              e.detail, e.not_after AS "notAfter", e.checked_at AS "checkedAt"
         FROM endpoint_checks e JOIN deployments d ON d.id = e.deployment_id JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id
        WHERE e.state <> 'match' AND d.deleted_at IS NULL AND c.deleted_at IS NULL AND ($1::bigint IS NULL OR c.customer_id = $1)
        ORDER BY CASE e.state WHEN 'drift' THEN 0 WHEN 'expiring' THEN 1 ELSE 2 END, e.checked_at DESC LIMIT $2`,
      [customerId ?? null, limit],
    ),
  ]);
  const total: Record<EndpointCheck['state'], number> = { match: 0, drift: 0, expiring: 0, unreachable: 0 };
  let checkedAt: Date | null = null;
  for (const r of counts) {
    total[r.state] = Number(r.n);
    if (r.checked_at && (!checkedAt || r.checked_at > checkedAt)) checkedAt = r.checked_at;
  }
  return { checkedAt, counts: total, problems };
}
