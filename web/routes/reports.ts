import { X509Certificate } from 'node:crypto';
import { Router } from 'express';
import { complianceRows, type ComplianceRow } from '../../activities/db/repositories/compliance';
import { listCustomers } from '../../activities/db/repositories/customers';
import { csvLine } from '../csv';
import type { WebDeps } from '../deps';
import { idParam, pageParam } from '../list-query';
import type { Views } from '../render';

const PAGE = 200;
const CSV_BATCH = 1000;

/** The issuer's common name (or organisation) of a PEM certificate; '?' when it cannot be read. */
function issuerOf(pem: string | null): string {
  if (!pem) return '';
  try {
    const issuer = new X509Certificate(pem).issuer;
    return (
      /(?:^|\n)CN=([^\n]+)/.exec(issuer)?.[1] ?? /(?:^|\n)O=([^\n]+)/.exec(issuer)?.[1] ?? issuer.replace(/\n/g, ', ')
    );
  } catch {
    return '?';
  }
}

const reportLine = (r: ComplianceRow) => ({
  ...r,
  issuer: issuerOf(r.certPem),
  targetList: r.targets.join(', '),
});

/** For each certificate: name, customer, expiry, issuer, key type, targets, last deploy outcome, last verification. */
export function reportRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  router.get('/reports/compliance', async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const customerId = idParam(query, 'customer');
    const page = pageParam(query);
    const [rows, customers] = await Promise.all([
      complianceRows(deps.db, { ...(customerId ? { customerId } : {}), limit: PAGE + 1, offset: (page - 1) * PAGE }),
      listCustomers(deps.db),
    ]);
    const q = customerId ? `customer=${customerId}&` : '';
    views.page(req, res, 'compliance', {
      title: 'Compliance report',
      rows: rows.slice(0, PAGE).map(reportLine),
      customers,
      customerId,
      generatedAt: new Date(),
      csvUrl: `/reports/compliance.csv${customerId ? `?customer=${customerId}` : ''}`,
      ...(page > 1 ? { prevUrl: `/reports/compliance?${q}page=${page - 1}` } : {}),
      ...(rows.length > PAGE ? { nextUrl: `/reports/compliance?${q}page=${page + 1}` } : {}),
    });
  });

  router.get('/reports/compliance.csv', async (req, res) => {
    const customerId = idParam(req.query, 'customer');
    res
      .status(200)
      .type('text/csv; charset=utf-8')
      .attachment(`certfleet-compliance-${new Date().toISOString().slice(0, 10)}.csv`);
    res.write(
      csvLine([
        'certificate',
        'customer',
        'status',
        'expires',
        'issuer',
        'key_type',
        'targets',
        'last_deploy_outcome',
        'last_deploy_target',
        'last_deploy_at',
        'last_verified_at',
        'last_verification',
      ]),
    );
    for (let offset = 0; ; offset += CSV_BATCH) {
      const rows = await complianceRows(deps.db, { ...(customerId ? { customerId } : {}), limit: CSV_BATCH, offset });
      for (const r of rows.map(reportLine)) {
        res.write(
          csvLine([
            r.commonName,
            r.customerName,
            r.status,
            r.notAfter,
            r.issuer,
            r.keyType,
            r.targetList,
            r.lastDeployOutcome,
            r.lastDeployTarget,
            r.lastDeployAt,
            r.lastVerifiedAt,
            r.lastVerification,
          ]),
        );
      }
      if (rows.length < CSV_BATCH) break;
    }
    res.end();
  });

  return router;
}
