import { Router, type Request } from 'express';
import { auditFacets, listAudit, type AuditFilter } from '../../activities/db/repositories/audit-log';
import { auditChanges } from '../audit-changes';
import { csvLine } from '../csv';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { filterParams, idParam, keysetPage, searchText } from '../list-query';
import type { Views } from '../render';

export const AUDIT_PAGE_SIZE = 100;
const CSV_BATCH = 1000;

/**
 * Entries only admins read: about users (sign-ins, names, roles, lockouts), API tokens, settings
 * (email, renewal defaults, network allow-list) and ACME directories, the admin-only Settings pages.
 * The read-only role sees the rest (customers, certificates, targets, deployments, DNS providers).
 */
export const ADMIN_ONLY_AUDIT_ENTITY_TYPES: readonly string[] = ['user', 'api_token', 'settings', 'acme_directory'];

/** What the signed-in user may not read in the audit log. */
export const hiddenAuditEntityTypes = (req: Request): readonly string[] =>
  req.user?.role === 'readonly' ? ADMIN_ONLY_AUDIT_ENTITY_TYPES : [];

/** `YYYY-MM-DD` (a whole day, UTC) or a full ISO timestamp. */
function dateParam(value: unknown, endOfDay: boolean): Date | undefined | 'invalid' {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text)
    ? new Date(`${text}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z`)
    : new Date(text);
  return Number.isNaN(date.getTime()) || text.length > 40 ? 'invalid' : date;
}

/** The viewer's filters from the query string; a malformed date is a 400, not an empty list. */
export function auditFilterOf(req: Request): {
  filter: Omit<AuditFilter, 'limit'>;
  filters: Record<string, string | undefined>;
} {
  const query = req.query as Record<string, unknown>;
  const from = dateParam(query['from'], false);
  const to = dateParam(query['to'], true);
  if (from === 'invalid' || to === 'invalid')
    throw new HttpError(400, 'Dates are YYYY-MM-DD (or a full ISO 8601 time).');
  const filters = {
    actor: searchText(query, 'actor', 64),
    action: searchText(query, 'action', 64),
    entityType: searchText(query, 'entityType', 64),
    entityId: searchText(query, 'entityId', 64),
    from: typeof query['from'] === 'string' && from ? query['from'] : undefined,
    to: typeof query['to'] === 'string' && to ? query['to'] : undefined,
  };
  return {
    filters,
    filter: {
      ...(filters.actor ? { actor: filters.actor } : {}),
      ...(filters.action ? { action: filters.action } : {}),
      ...(filters.entityType ? { entityType: filters.entityType } : {}),
      ...(filters.entityId ? { entityId: filters.entityId } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      hiddenEntityTypes: hiddenAuditEntityTypes(req),
    },
  };
}

export function auditRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  router.get('/audit', async (req, res) => {
    const { filter, filters } = auditFilterOf(req);
    const before = idParam(req.query, 'before');
    const [rows, facets] = await Promise.all([
      listAudit(deps.db, { ...filter, ...(before ? { beforeId: before } : {}), limit: AUDIT_PAGE_SIZE + 1 }),
      auditFacets(deps.db, hiddenAuditEntityTypes(req)),
    ]);
    const { page, nextUrl, firstUrl } = keysetPage('/audit', filters, rows, {
      pageSize: AUDIT_PAGE_SIZE,
      before,
      cursorOf: (e) => e.id,
    });
    const params = filterParams(filters);
    views.page(req, res, 'audit', {
      title: 'Audit log',
      entries: page.map((e) => ({ ...e, changes: auditChanges(e.before, e.after) })),
      filters,
      facets,
      nextUrl,
      firstUrl,
      csvUrl: `/audit.csv${params.size ? `?${params.toString()}` : ''}`,
    });
  });

  /**
   * Every matching entry, oldest last, streamed in batches (keyset paging). The filters are checked
   * and the first batch read before the 200 goes out, so a bad filter or a failing query is a proper
   * error page, not a truncated file.
   */
  router.get('/audit.csv', async (req, res) => {
    const { filter } = auditFilterOf(req);
    let rows = await listAudit(deps.db, { ...filter, limit: CSV_BATCH });
    res
      .status(200)
      .type('text/csv; charset=utf-8')
      .attachment(`certfleet-audit-${new Date().toISOString().slice(0, 10)}.csv`);
    res.write(csvLine(['id', 'at', 'actor', 'actor_ip', 'action', 'entity_type', 'entity_id', 'before', 'after']));
    for (;;) {
      for (const r of rows)
        res.write(csvLine([r.id, r.at, r.actor, r.actorIp, r.action, r.entityType, r.entityId, r.before, r.after]));
      const beforeId = rows.at(-1)?.id;
      if (rows.length < CSV_BATCH || !beforeId) break;
      rows = await listAudit(deps.db, { ...filter, beforeId, limit: CSV_BATCH });
    }
    res.end();
  });

  return router;
}
