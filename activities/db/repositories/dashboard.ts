import type { ScheduleHealthRow } from '../../../temporal/contract';
import type { DeploymentLabels } from './deployments';
import type { Queryable } from '../pool';
import { expiresWithinSql } from './expiry-sql';

export interface ExpiryCounts {
  expired: number;
  within7: number;
  within14: number;
  within30: number;
  notIssued: number;
}

export interface ExpiringCertificate {
  id: string;
  commonName: string;
  customerName: string;
  notBefore: Date;
  notAfter: Date;
  status: string;
}

export interface FailingDeployment extends DeploymentLabels {
  id: string;
  customerName: string;
  lastError: string | null;
  updatedAt: Date;
}

export interface UpcomingRenewal {
  id: string;
  commonName: string;
  customerName: string;
  renewAt: Date;
  notAfter: Date;
}

export interface ScheduleHealthSummary {
  checkedAt: Date | null;
  schedules: number;
  /** Paused although renewal is enabled for the certificate. */
  pausedUnexpectedly: { certificateId: string; commonName: string; note: string | null }[];
  /** Paused because renewal is disabled. */
  pausedDisabled: number;
  /** Actions skipped (a run still in progress) or missed (the server was down longer than the catch-up window). */
  skipped: { certificateId: string; commonName: string; skipped: number; missed: number }[];
  /** Live certificates without a renewal schedule in the last check. */
  missing: { certificateId: string; commonName: string }[];
}

const byCustomer = (alias: string) => `($1::bigint IS NULL OR ${alias}.customer_id = $1)`;

export async function expiryCounts(db: Queryable, customerId?: string): Promise<ExpiryCounts> {
  const rows = await db.query<Record<keyof ExpiryCounts, string>>(
    `SELECT count(*) FILTER (WHERE c.current_not_after <= now()) AS expired,
            count(*) FILTER (WHERE c.current_not_after > now() AND ${expiresWithinSql('c', '7')}) AS within7,
            count(*) FILTER (WHERE c.current_not_after > now() AND ${expiresWithinSql('c', '14')}) AS within14,
            count(*) FILTER (WHERE c.current_not_after > now() AND ${expiresWithinSql('c', '30')}) AS within30,
            count(*) FILTER (WHERE c.current_version_id IS NULL) AS "notIssued"
       FROM certificates c
      WHERE c.deleted_at IS NULL AND ${byCustomer('c')}`,
    [customerId ?? null],
  );
  const r = rows[0];
  return {
    expired: Number(r?.expired ?? 0),
    within7: Number(r?.within7 ?? 0),
    within14: Number(r?.within14 ?? 0),
    within30: Number(r?.within30 ?? 0),
    notIssued: Number(r?.notIssued ?? 0),
  };
}

/** A dashboard list of one customer's rows (`customerId` undefined: every customer's), at most `limit` of them. */
type CustomerList<Result> = (db: Queryable, customerId: string | undefined, limit: number) => Promise<Result>;

/** Expired or expiring within 30 days (scaled to the lifetime: activities/domain/expiry-threshold.ts), soonest first. */
export const expiringSoon: CustomerList<ExpiringCertificate[]> = async (db, customerId, limit) => {
  return db.query<ExpiringCertificate>(
    `SELECT c.id, c.common_name AS "commonName", cu.name AS "customerName", c.current_not_before AS "notBefore",
            c.current_not_after AS "notAfter", c.status
       FROM certificates c JOIN customers cu ON cu.id = c.customer_id
      WHERE c.deleted_at IS NULL AND ${expiresWithinSql('c', '30')} AND ${byCustomer('c')}
      ORDER BY c.current_not_after, c.id LIMIT $2`,
    [customerId ?? null, limit],
  );
};

export const failingDeployments: CustomerList<{ total: number; rows: FailingDeployment[] }> = async (
  db,
  customerId,
  limit,
) => {
  const rows = await db.query<FailingDeployment & { total: string }>(
    `SELECT count(*) OVER () AS total, d.id, d.certificate_id AS "certificateId", c.common_name AS "commonName", d.target_id AS "targetId",
            t.name AS "targetName", t.vendor, cu.name AS "customerName", d.last_error AS "lastError", d.updated_at AS "updatedAt"
       FROM deployments d JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id JOIN customers cu ON cu.id = c.customer_id
      WHERE d.deleted_at IS NULL AND d.status = 'failed' AND c.deleted_at IS NULL AND t.deleted_at IS NULL AND ${byCustomer('c')}
      ORDER BY d.updated_at DESC, d.id DESC LIMIT $2`,
    [customerId ?? null, limit],
  );
  return { total: rows[0] ? Number(rows[0].total) : 0, rows: rows.map(({ total: _total, ...row }) => row) };
};

/** Enabled certificates by when their renewal becomes due (certificates.renew_at, kept by a trigger). */
export const upcomingRenewals: CustomerList<UpcomingRenewal[]> = async (db, customerId, limit) => {
  return db.query<UpcomingRenewal>(
    `SELECT c.id, c.common_name AS "commonName", cu.name AS "customerName", c.renew_at AS "renewAt", c.current_not_after AS "notAfter"
       FROM certificates c JOIN customers cu ON cu.id = c.customer_id
      WHERE c.deleted_at IS NULL AND c.enabled AND c.renew_at IS NOT NULL AND ${byCustomer('c')}
      ORDER BY c.renew_at, c.id LIMIT $2`,
    [customerId ?? null, limit],
  );
};

const LIST_LIMIT = 20;

export async function scheduleHealthSummary(db: Queryable, customerId?: string): Promise<ScheduleHealthSummary> {
  const params = [customerId ?? null, LIST_LIMIT];
  const [meta, pausedUnexpectedly, pausedDisabled, skipped, missing] = await Promise.all([
    db.query<{ checked_at: Date | null; n: string }>(
      'SELECT min(checked_at) AS checked_at, count(*) AS n FROM schedule_health',
    ),
    db.query<{ certificateId: string; commonName: string; note: string | null }>(
      `SELECT c.id AS "certificateId", c.common_name AS "commonName", h.note
         FROM schedule_health h JOIN certificates c ON c.id = h.certificate_id
        WHERE h.paused AND c.enabled AND c.deleted_at IS NULL AND ${byCustomer('c')} ORDER BY c.common_name LIMIT $2`,
      params,
    ),
    db.query<{ n: string }>(
      `SELECT count(*) AS n FROM schedule_health h JOIN certificates c ON c.id = h.certificate_id
        WHERE h.paused AND NOT c.enabled AND c.deleted_at IS NULL AND ${byCustomer('c')}`,
      [customerId ?? null],
    ),
    db.query<{ certificateId: string; commonName: string; skipped: number; missed: number }>(
      `SELECT c.id AS "certificateId", c.common_name AS "commonName", h.skipped_overlap AS skipped, h.missed_catchup AS missed
         FROM schedule_health h JOIN certificates c ON c.id = h.certificate_id
        WHERE (h.skipped_overlap > 0 OR h.missed_catchup > 0) AND c.deleted_at IS NULL AND ${byCustomer('c')}
        ORDER BY h.skipped_overlap + h.missed_catchup DESC, c.id LIMIT $2`,
      params,
    ),
    db.query<{ certificateId: string; commonName: string }>(
      `SELECT c.id AS "certificateId", c.common_name AS "commonName" FROM certificates c
        WHERE c.deleted_at IS NULL AND ${byCustomer('c')}
          AND EXISTS (SELECT 1 FROM schedule_health)
          AND c.created_at < (SELECT min(checked_at) FROM schedule_health)
          AND NOT EXISTS (SELECT 1 FROM schedule_health h WHERE h.certificate_id = c.id)
        ORDER BY c.common_name LIMIT $2`,
      params,
    ),
  ]);
  return {
    checkedAt: meta[0]?.checked_at ?? null,
    schedules: Number(meta[0]?.n ?? 0),
    pausedUnexpectedly,
    pausedDisabled: Number(pausedDisabled[0]?.n ?? 0),
    skipped,
    missing,
  };
}

/** Replaces the snapshot with what Temporal reported just now. */
export async function replaceScheduleHealth(db: Queryable, rows: ScheduleHealthRow[]): Promise<void> {
  await db.query('DELETE FROM schedule_health');
  const chunk = 500;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    await db.query(
      `INSERT INTO schedule_health (schedule_id, certificate_id, paused, note, skipped_overlap, missed_catchup, last_action_at, next_action_at)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::text[], $5::int[], $6::int[], $7::timestamptz[], $8::timestamptz[])`,
      [
        part.map((r) => r.scheduleId),
        part.map((r) => r.certificateId),
        part.map((r) => r.paused),
        part.map((r) => r.note),
        part.map((r) => r.skippedOverlap),
        part.map((r) => r.missedCatchup),
        part.map((r) => r.lastActionAt),
        part.map((r) => r.nextActionAt),
      ],
    );
  }
}

export type RunSubjectKind = 'certificate' | 'deployment' | 'target' | 'dns-provider';

/** What a running workflow is about, by name: a certificate, "certificate → target", a target, a DNS provider. */
export interface RunSubject {
  kind: RunSubjectKind;
  id: string;
  name: string;
  /** A deployment waiting for its target's maintenance window, or a certificate's order for the CA's rate limit. */
  waitingUntil: Date | null;
  waitingTimeZone: string | null;
  /** 'rate-limit': the certificate's run waits for its CA's rate-limit budget (pacing). */
  waitingFor: 'maintenance-window' | 'rate-limit' | null;
}

/** The names of the things running workflows are about (ids from the workflow ids), in one round trip. */
export async function runSubjects(db: Queryable, ids: Record<RunSubjectKind, string[]>): Promise<RunSubject[]> {
  return db.query<RunSubject>(
    `SELECT 'certificate' AS kind, id::text AS id, common_name AS name,
            CASE WHEN status = 'issuing' THEN rate_limit_wait_until END AS "waitingUntil", 'UTC' AS "waitingTimeZone",
            CASE WHEN status = 'issuing' AND rate_limit_wait_until IS NOT NULL THEN 'rate-limit' END AS "waitingFor"
       FROM certificates WHERE id = ANY($1::bigint[])
     UNION ALL
     SELECT 'deployment', d.id::text, c.common_name || ' → ' || t.name,
            CASE WHEN d.status = 'waiting' THEN d.waiting_until END, CASE WHEN d.status = 'waiting' THEN d.waiting_time_zone END,
            CASE WHEN d.status = 'waiting' THEN 'maintenance-window' END
       FROM deployments d JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id WHERE d.id = ANY($2::bigint[])
     UNION ALL
     SELECT 'target', id::text, name, NULL, NULL, NULL FROM targets WHERE id = ANY($3::bigint[])
     UNION ALL
     SELECT 'dns-provider', id::text, name, NULL, NULL, NULL FROM dns_providers WHERE id = ANY($4::bigint[])`,
    [ids.certificate, ids.deployment, ids.target, ids['dns-provider']],
  );
}

export type { ScheduleHealthRow } from '../../../temporal/contract';
