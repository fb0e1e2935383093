import { Router } from 'express';
import { getCustomer, listCustomers } from '../../activities/db/repositories/customers';
import { listDependenciesNotAnswering, NOT_ANSWERING } from '../../activities/db/repositories/dependency-health';
import { dashboardSummary } from '../dashboard-summary';
import type { WebDeps } from '../deps';
import { idParam } from '../list-query';
import type { Views } from '../render';
import { nameRunningWorkflows } from '../running-workflows';
import { temporalUiUrlFor } from '../temporal-ui';

const LIST = 10;

export function dashboardRoutes(deps: WebDeps, views: Views): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const customerId = idParam(req.query, 'customer');
    const [summary, customers, notAnswering] = await Promise.all([
      dashboardSummary(deps.db, customerId, { lists: LIST, watch: LIST }),
      listCustomers(deps.db),
      listDependenciesNotAnswering(deps.db),
    ]);
    const { counts, expiry, expiring, failing, renewals, scheduleHealth: health, incidents, drift } = summary;
    const q = customerId ? `&customer=${customerId}` : '';
    views.page(req, res, 'dashboard', {
      title: 'Dashboard',
      counts,
      expiry,
      expiring,
      failing,
      renewals,
      health,
      customers,
      customerId,
      q,
      drift,
      // Circuit breakers that are open (the worker's dependency_health): runs that need them wait on timers.
      notAnswering: notAnswering.map((d) => ({ ...d, what: NOT_ANSWERING[d.kind] })),
      incidents: incidents.map((i) => ({
        ...i,
        href: i.deploymentId
          ? `/deployments/${i.deploymentId}`
          : i.certificateId
            ? `/certificates/${i.certificateId}`
            : undefined,
      })),
      total: counts.pending + counts.issuing + counts.valid + counts.failed,
    });
  });

  /** htmx fragment: what runs right now (Temporal visibility), refreshed every few seconds. */
  router.get('/dashboard/running', async (req, res) => {
    const customerId = idParam(req.query, 'customer');
    try {
      const running = await deps.commands.listRunning(temporalUiUrlFor(deps, req), customerId ? 100 : 20);
      const customer = customerId ? await getCustomer(deps.db, customerId) : undefined;
      const runs = customer ? (await filterByCustomer(deps, running.runs, customer.id)).slice(0, 20) : running.runs;
      views.partial(res, 'running', {
        runs: await nameRunningWorkflows(deps.db, runs),
        total: customer ? runs.length : running.total,
        customerId,
      });
    } catch (error) {
      views.partial(res, 'running', { error: `Temporal is unreachable: ${(error as Error).message}`, customerId });
    }
  });

  return router;
}

/** Keeps runs about certificates of the customer (others cannot be attributed). */
async function filterByCustomer<T extends { certificateId: string | undefined }>(
  deps: WebDeps,
  runs: T[],
  customerId: string,
): Promise<T[]> {
  const ids = [...new Set(runs.map((r) => r.certificateId).filter((id): id is string => Boolean(id)))];
  if (ids.length === 0) return [];
  const rows = await deps.db.query<{ id: string }>(
    'SELECT id FROM certificates WHERE id = ANY($1::bigint[]) AND customer_id = $2',
    [ids, customerId],
  );
  const mine = new Set(rows.map((r) => r.id));
  return runs.filter((r) => r.certificateId && mine.has(r.certificateId));
}
