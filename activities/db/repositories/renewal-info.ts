import type { Queryable } from '../pool';

export type RenewalInfoKind = 'window' | 'unsupported' | 'error';

export interface RenewalInfoRecord {
  certificateId: string;
  versionId: string;
  certId: string;
  kind: RenewalInfoKind;
  windowStart: Date | null;
  windowEnd: Date | null;
  renewAt: Date | null;
  explanationUrl: string | null;
  error: string | null;
  polledAt: Date;
  nextPollAt: Date;
}

const COLUMNS = `certificate_id AS "certificateId", version_id AS "versionId", cert_id AS "certId", kind,
  window_start AS "windowStart", window_end AS "windowEnd", renew_at AS "renewAt",
  explanation_url AS "explanationUrl", error, polled_at AS "polledAt", next_poll_at AS "nextPollAt"`;

export async function getRenewalInfo(db: Queryable, certificateId: string): Promise<RenewalInfoRecord | undefined> {
  const rows = await db.query<RenewalInfoRecord>(
    `SELECT ${COLUMNS} FROM certificate_renewal_info WHERE certificate_id = $1`,
    [certificateId],
  );
  return rows[0];
}

/** The row for the certificate's current version only (a row for an older version says nothing now). */
export async function getCurrentRenewalInfo(
  db: Queryable,
  certificateId: string,
): Promise<RenewalInfoRecord | undefined> {
  const rows = await db.query<RenewalInfoRecord>(
    `SELECT ${COLUMNS} FROM certificate_renewal_info r
      WHERE r.certificate_id = $1
        AND r.version_id = (SELECT current_version_id FROM certificates WHERE id = $1)`,
    [certificateId],
  );
  return rows[0];
}

export async function saveRenewalInfo(db: Queryable, r: RenewalInfoRecord): Promise<void> {
  await db.query(
    `INSERT INTO certificate_renewal_info
       (certificate_id, version_id, cert_id, kind, window_start, window_end, renew_at, explanation_url, error, polled_at, next_poll_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (certificate_id) DO UPDATE SET
       version_id = EXCLUDED.version_id, cert_id = EXCLUDED.cert_id, kind = EXCLUDED.kind,
       window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end, renew_at = EXCLUDED.renew_at,
       explanation_url = EXCLUDED.explanation_url, error = EXCLUDED.error, polled_at = EXCLUDED.polled_at,
       next_poll_at = EXCLUDED.next_poll_at`,
    [
      r.certificateId,
      r.versionId,
      r.certId,
      r.kind,
      r.windowStart,
      r.windowEnd,
      r.renewAt,
      r.explanationUrl,
      r.error,
      r.polledAt,
      r.nextPollAt,
    ],
  );
}

/** What a renewal order sent as `replaces`, and the CA's problem when it refused it (then sent without). */
export async function recordOrderReplaces(
  db: Queryable,
  orderId: string,
  replaces: string,
  refused: string | null,
): Promise<void> {
  await db.query('UPDATE acme_orders SET replaces = $2, replaces_refused = $3 WHERE id = $1', [
    orderId,
    replaces,
    refused,
  ]);
}
