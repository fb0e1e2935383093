import { likePattern } from '../like';
import type { Queryable } from '../pool';
import { expiresWithinSql } from './expiry-sql';
import {
  CERTIFICATE_SELECT,
  toCertificate,
  type CertificateRecord,
  type CertificateRow,
  type CertificateStatus,
} from './certificates';

export const CERTIFICATE_SORTS = ['expiry', 'name', 'status', 'customer', 'created'] as const;
export type CertificateSort = (typeof CERTIFICATE_SORTS)[number];
export const EXPIRY_FILTERS = ['expired', '7', '14', '30', 'none'] as const;
export type ExpiryFilter = (typeof EXPIRY_FILTERS)[number];

export interface CertificateFilter {
  /** Part of the name or of the customer's name. */
  q?: string;
  status?: CertificateStatus;
  customerId?: string;
  /** Expired, expiring within N days, or not issued yet. */
  expiry?: ExpiryFilter;
  /** Deployed to a target of this vendor. */
  vendor?: string;
  sort: CertificateSort;
  descending: boolean;
  page: number;
  pageSize: number;
}

export interface CertificatePage {
  rows: CertificateRecord[];
  total: number;
}

const ORDER: Record<CertificateSort, string> = {
  expiry: 'c.current_not_after',
  name: 'c.common_name',
  status: 'c.status',
  customer: 'lower(cu.name)',
  created: 'c.created_at',
};

/**
 * One page of live certificates matching the filter, and how many match in all. The page stops
 * after `pageSize` rows on an index for every sort; the total is a separate count that joins the
 * customers only when the search needs their names.
 */
export async function listCertificatePage(db: Queryable, f: CertificateFilter): Promise<CertificatePage> {
  // Certificates only ever belong to live customers (a customer with certificates cannot be deleted);
  // saying so lets the customer sort walk the customers' name index.
  const where = ['c.deleted_at IS NULL', 'cu.deleted_at IS NULL'];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (f.q) {
    const p = param(likePattern(f.q));
    where.push(`(c.common_name ILIKE ${p} OR cu.name ILIKE ${p})`);
  }
  if (f.status) where.push(`c.status = ${param(f.status)}`);
  if (f.customerId) where.push(`c.customer_id = ${param(f.customerId)}`);
  if (f.expiry === 'none') where.push('c.current_version_id IS NULL');
  else if (f.expiry === 'expired') where.push('c.current_not_after <= now()');
  else if (f.expiry) where.push(`c.current_not_after > now() AND ${expiresWithinSql('c', param(Number(f.expiry)))}`);
  if (f.vendor) {
    where.push(`EXISTS (SELECT 1 FROM deployments d JOIN targets t ON t.id = d.target_id
                         WHERE d.certificate_id = c.id AND d.deleted_at IS NULL AND t.deleted_at IS NULL AND t.vendor = ${param(f.vendor)})`);
  }
  const filterParams = [...params];
  const direction = f.descending ? 'DESC' : 'ASC';
  const nulls = f.sort === 'expiry' ? (f.descending ? 'NULLS LAST' : 'NULLS FIRST') : '';
  const limit = param(f.pageSize);
  const offset = param((f.page - 1) * f.pageSize);
  const [rows, count] = await Promise.all([
    db.query<CertificateRow>(
      `${CERTIFICATE_SELECT} WHERE ${where.join(' AND ')}
        ORDER BY ${ORDER[f.sort]} ${direction} ${nulls}, c.id ${direction}
        LIMIT ${limit} OFFSET ${offset}`,
      params,
    ),
    db.query<{ n: string }>(
      `SELECT count(*) AS n FROM certificates c ${f.q ? 'JOIN customers cu ON cu.id = c.customer_id' : ''}
        WHERE ${where.filter((w) => f.q || !w.startsWith('cu.')).join(' AND ')}`,
      filterParams,
    ),
  ]);
  return { rows: rows.map(toCertificate), total: Number(count[0]?.n ?? 0) };
}
