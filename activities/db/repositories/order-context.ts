/**
 * An ACME order and its certificate in one statement instead of two: every challenge and ACME step
 * (present, propagation check, cleanup, validate, finalize) needs both. The order comes as JSON from
 * the same columns its repository selects (ids brought back to strings); the certificate as its row.
 */
import type { Queryable } from '../pool';
import { ORDER_COLUMNS, type AcmeOrderRecord } from './acme-orders';
import { CERTIFICATE_SELECT, toCertificate, type CertificateRecord, type CertificateRow } from './certificates';

export interface OrderContext {
  /** Undefined: no such order. */
  order: AcmeOrderRecord | undefined;
  /** Undefined: the order's certificate was deleted (or there is no order). */
  certificate: CertificateRecord | undefined;
}

const idOf = (v: unknown): string => (typeof v === 'number' || typeof v === 'string' ? String(v) : '');

export async function getOrderContext(db: Queryable, orderId: string): Promise<OrderContext> {
  if (!/^\d{1,18}$/.test(orderId)) return { order: undefined, certificate: undefined };
  const [row] = await db.query<{ order: Record<string, unknown> } & CertificateRow>(
    `WITH o AS (SELECT ${ORDER_COLUMNS} FROM acme_orders WHERE id = $1)
     SELECT to_jsonb(o) AS "order", cert.*
       FROM o LEFT JOIN LATERAL (${CERTIFICATE_SELECT} WHERE c.id = o."certificateId" AND c.deleted_at IS NULL) cert ON true`,
    [orderId],
  );
  if (!row) return { order: undefined, certificate: undefined };
  const order = {
    ...row.order,
    id: idOf(row.order['id']),
    certificateId: idOf(row.order['certificateId']),
    directoryId: idOf(row.order['directoryId']),
  } as unknown as AcmeOrderRecord;
  return { order, certificate: row.id === null ? undefined : toCertificate(row) };
}
