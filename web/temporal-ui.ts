import type { Request } from 'express';
import type { WebDeps } from './deps';

/**
 * The Temporal UI base URL for this request's user: admins only. The Temporal UI has no CertFleet
 * sign-in and shows every run's history, so the console links technicians and read-only users nowhere
 * near it (it is read-only too; see scripts/temporal/ui-server.ts and docs/install-compose.md).
 */
export function temporalUiUrlFor(deps: Pick<WebDeps, 'temporal'>, req: Pick<Request, 'user'>): string | undefined {
  return req.user?.role === 'admin' ? deps.temporal.uiUrl : undefined;
}
