import type { Queryable } from '../pool';
import { softDelete } from './soft-delete';
import { liveNameTaken } from './live-name-taken';

/** A customer of the MSP: every certificate and target belongs to one. */
export interface CustomerRecord {
  id: string;
  name: string;
  notes: string;
  /** Alerts about the customer's certificates also go here; the customer gets its own digest. */
  alertRecipients: string[];
  createdAt: Date;
}

export interface CustomerSummary extends CustomerRecord {
  certificates: number;
  targets: number;
}

interface Row {
  id: string;
  name: string;
  notes: string;
  alert_recipients: string[];
  created_at: Date;
}
const toCustomer = (r: Row): CustomerRecord => ({
  id: r.id,
  name: r.name,
  notes: r.notes,
  alertRecipients: r.alert_recipients,
  createdAt: r.created_at,
});
const isId = (id: string): boolean => /^\d{1,18}$/.test(id);

export async function listCustomers(db: Queryable): Promise<CustomerRecord[]> {
  return (
    await db.query<Row>(
      'SELECT id, name, notes, alert_recipients, created_at FROM customers WHERE deleted_at IS NULL ORDER BY lower(name), id',
    )
  ).map(toCustomer);
}

/** Customers with how many live certificates and targets each has. */
export async function listCustomerSummaries(db: Queryable): Promise<CustomerSummary[]> {
  const rows = await db.query<Row & { certificates: string; targets: string }>(
    `SELECT cu.id, cu.name, cu.notes, cu.alert_recipients, cu.created_at,
            (SELECT count(*) FROM certificates c WHERE c.customer_id = cu.id AND c.deleted_at IS NULL) AS certificates,
            (SELECT count(*) FROM targets t WHERE t.customer_id = cu.id AND t.deleted_at IS NULL) AS targets
       FROM customers cu WHERE cu.deleted_at IS NULL ORDER BY lower(cu.name), cu.id`,
  );
  return rows.map((r) => ({ ...toCustomer(r), certificates: Number(r.certificates), targets: Number(r.targets) }));
}

export async function getCustomer(db: Queryable, id: string): Promise<CustomerRecord | undefined> {
  if (!isId(id)) return undefined;
  const rows = await db.query<Row>(
    'SELECT id, name, notes, alert_recipients, created_at FROM customers WHERE id = $1 AND deleted_at IS NULL',
    [id],
  );
  return rows[0] && toCustomer(rows[0]);
}

/** Whether another live customer has this name (case-insensitive). */
export const customerNameTaken = (db: Queryable, name: string, exceptId?: string): Promise<boolean> =>
  liveNameTaken(db, 'customers', name, exceptId, true);

export interface CustomerFields {
  name: string;
  notes: string;
  alertRecipients: string[];
}

export async function insertCustomer(db: Queryable, c: CustomerFields): Promise<CustomerRecord> {
  const rows = await db.query<Row>(
    'INSERT INTO customers (name, notes, alert_recipients) VALUES ($1, $2, $3) RETURNING id, name, notes, alert_recipients, created_at',
    [c.name, c.notes, c.alertRecipients],
  );
  return toCustomer(rows[0] as Row);
}

export async function updateCustomer(db: Queryable, id: string, c: CustomerFields): Promise<void> {
  await db.query(
    'UPDATE customers SET name = $2, notes = $3, alert_recipients = $4, updated_at = now() WHERE id = $1 AND deleted_at IS NULL',
    [id, c.name, c.notes, c.alertRecipients],
  );
}

/** How many live certificates and targets still belong to the customer. */
export async function customerUsage(db: Queryable, id: string): Promise<{ certificates: number; targets: number }> {
  const rows = await db.query<{ certificates: string; targets: string }>(
    `SELECT (SELECT count(*) FROM certificates WHERE customer_id = $1 AND deleted_at IS NULL) AS certificates,
            (SELECT count(*) FROM targets WHERE customer_id = $1 AND deleted_at IS NULL) AS targets`,
    [id],
  );
  return { certificates: Number(rows[0]?.certificates ?? 0), targets: Number(rows[0]?.targets ?? 0) };
}

/** Soft delete: history keeps pointing at the row. */
export const deleteCustomer = (db: Queryable, id: string): Promise<void> => softDelete(db, 'customers', id);
