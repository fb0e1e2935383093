import {
  CERTIFICATE_SORTS,
  EXPIRY_FILTERS,
  type CertificateFilter,
} from '../activities/db/repositories/certificate-list';
import type { CertificateStatus } from '../activities/db/repositories/certificates';
import { RUN_OUTCOMES, type DeploymentHistoryFilter } from '../activities/db/repositories/deployment-history';
import { vendorDescriptors } from '../activities/deployers/descriptors';
import { givenFilters, idParam, oneOf, pageParam, searchText, type Query } from './list-query';

export const CERTIFICATE_STATUSES: CertificateStatus[] = ['pending', 'issuing', 'valid', 'failed'];

/** The certificate list's filters from a query string (console and API alike); unknown values are ignored. */
export function certificateFiltersOf(query: Query, pageSize: number) {
  const filters = {
    q: searchText(query, 'q'),
    status: oneOf(query, 'status', CERTIFICATE_STATUSES),
    customer: idParam(query, 'customer'),
    expiry: oneOf(query, 'expiry', EXPIRY_FILTERS),
    vendor: oneOf(query, 'vendor', Object.keys(vendorDescriptors)),
    sort: oneOf(query, 'sort', CERTIFICATE_SORTS) ?? 'expiry',
    dir: oneOf(query, 'dir', ['asc', 'desc'] as const) ?? 'asc',
  };
  const page = pageParam(query);
  const { q, status, customer, expiry, vendor } = filters;
  const filter: CertificateFilter = {
    ...givenFilters({ q, status, customerId: customer, expiry, vendor }),
    sort: filters.sort,
    descending: filters.dir === 'desc',
    page,
    pageSize,
  };
  return { filters, filter, page };
}

/** The deployment history's filters from a query string (`before`: keyset paging by run id). */
export function historyFiltersOf(query: Query, limit: number) {
  const filters = {
    outcome: oneOf(query, 'outcome', RUN_OUTCOMES),
    customer: idParam(query, 'customer'),
    vendor: oneOf(query, 'vendor', Object.keys(vendorDescriptors)),
    target: idParam(query, 'target'),
    certificate: idParam(query, 'certificate'),
  };
  const before = idParam(query, 'before');
  const { outcome, customer, vendor, target, certificate } = filters;
  const filter: DeploymentHistoryFilter = {
    ...givenFilters({
      outcome,
      customerId: customer,
      vendor,
      targetId: target,
      certificateId: certificate,
      beforeId: before,
    }),
    limit,
  };
  return { filters, filter, before };
}
