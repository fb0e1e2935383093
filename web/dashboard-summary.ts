/** What the dashboard page and the API's /dashboard both show, for one customer or all of them. */
import type { Queryable } from '../activities/db/pool';
import { countByStatus } from '../activities/db/repositories/certificates';
import {
  expiringSoon,
  expiryCounts,
  failingDeployments,
  scheduleHealthSummary,
  upcomingRenewals,
} from '../activities/db/repositories/dashboard';
import { driftSummary } from '../activities/db/repositories/fleet-watch';
import { listOpenIncidents } from '../activities/db/repositories/incidents';

/** `lists`: rows per certificate or deployment list; `watch`: open incidents and drifted deployments shown. */
export async function dashboardSummary(
  db: Queryable,
  customerId: string | undefined,
  limits: { lists: number; watch: number },
) {
  const [counts, expiry, expiring, failing, renewals, scheduleHealth, incidents, drift] = await Promise.all([
    countByStatus(db, customerId),
    expiryCounts(db, customerId),
    expiringSoon(db, customerId, limits.lists),
    failingDeployments(db, customerId, limits.lists),
    upcomingRenewals(db, customerId, limits.lists),
    scheduleHealthSummary(db, customerId),
    listOpenIncidents(db, customerId, limits.watch),
    driftSummary(db, customerId, limits.watch),
  ]);
  return { counts, expiry, expiring, failing, renewals, scheduleHealth, incidents, drift };
}
