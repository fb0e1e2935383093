import type { Queryable } from '../pool';

export interface AcmeOrderRecord {
  id: string;
  certificateId: string;
  /** The ACME directory the order went to (a run that fell over has one order per directory it tried). */
  directoryId: string;
  workflowId: string;
  runId: string;
  orderUrl: string;
  status: string;
  keySealed: string;
  txtRecordName: string | null;
  txtValues: string[];
  /** Where the TXT record was written: the CNAME target of txtRecordName (delegation), or null for the name itself. */
  txtTargetName: string | null;
  /** The ACME profile the order asked for (null: none sent, the CA's default). */
  profile: string | null;
}

/** Every column under its field's name, so a row is the record as it stands. */
export const ORDER_COLUMNS = `id, certificate_id AS "certificateId", directory_id AS "directoryId", workflow_id AS "workflowId", run_id AS "runId",
  order_url AS "orderUrl", status, key_encrypted AS "keySealed", txt_record_name AS "txtRecordName",
  txt_values AS "txtValues", profile, txt_target_name AS "txtTargetName"`;

export async function findOrderByRun(
  db: Queryable,
  runId: string,
  directoryId: string,
): Promise<AcmeOrderRecord | undefined> {
  const rows = await db.query<AcmeOrderRecord>(
    `SELECT ${ORDER_COLUMNS} FROM acme_orders WHERE run_id = $1 AND directory_id = $2`,
    [runId, directoryId],
  );
  return rows[0];
}

export async function getOrder(db: Queryable, id: string): Promise<AcmeOrderRecord | undefined> {
  const rows = await db.query<AcmeOrderRecord>(`SELECT ${ORDER_COLUMNS} FROM acme_orders WHERE id = $1`, [id]);
  return rows[0];
}

/** First writer wins per workflow run and directory: a retried "create order" reuses the stored order and key. */
export async function insertOrderOnce(
  db: Queryable,
  o: Omit<AcmeOrderRecord, 'id' | 'txtTargetName'>,
): Promise<AcmeOrderRecord> {
  await db.query(
    `INSERT INTO acme_orders (certificate_id, directory_id, workflow_id, run_id, order_url, status, key_encrypted, txt_record_name, txt_values, profile)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (run_id, directory_id) DO NOTHING`,
    [
      o.certificateId,
      o.directoryId,
      o.workflowId,
      o.runId,
      o.orderUrl,
      o.status,
      o.keySealed,
      o.txtRecordName,
      o.txtValues,
      o.profile,
    ],
  );
  return (await findOrderByRun(db, o.runId, o.directoryId)) as AcmeOrderRecord;
}

export async function setOrderStatus(db: Queryable, id: string, status: string): Promise<void> {
  await db.query('UPDATE acme_orders SET status = $2, updated_at = now() WHERE id = $1', [id, status]);
}

/** Records where the order's TXT record goes (first writer wins: a retried present keeps the first answer). */
export async function setOrderTxtTarget(db: Queryable, id: string, target: string): Promise<string> {
  const rows = await db.query<{ target: string }>(
    `UPDATE acme_orders SET txt_target_name = coalesce(txt_target_name, $2), updated_at = now() WHERE id = $1
     RETURNING txt_target_name AS target`,
    [id, target],
  );
  return rows[0]?.target ?? target;
}
