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

/** A run's history page in the Temporal UI, when the UI is linked for this user. */
export function temporalUiLink(
  uiUrl: string | undefined,
  namespace: string,
  workflowId: string,
  runId: string,
): string | undefined {
  return uiUrl
    ? `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`
    : undefined;
}
