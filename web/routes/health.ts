import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import { transportWords } from '../../activities/domain/transport-failure';
import type { MetricsPublic, WebDeps } from '../deps';
import { createWebMetrics, type WebMetrics } from '../metrics';

/** How long /readyz waits for each peer. */
export const READY_TIMEOUT_MS = 2_000;

/** gRPC status codes worth a word (the numbers are fixed by the gRPC spec). */
const GRPC_STATUS: Record<number, string> = {
  1: 'cancelled',
  4: 'timed out',
  7: 'permission denied',
  8: 'resource exhausted',
  14: 'unreachable',
  16: 'authentication failed',
};

/** PostgreSQL SQLSTATEs worth a word (socket errors: transportWords). */
const DB_CODES: Record<string, string> = {
  '28P01': 'authentication failed',
  '28000': 'authentication failed',
  '3D000': 'database does not exist',
  '57P01': 'server shutting down',
  '57P03': 'server starting up',
  '53300': 'too many connections',
};

class ProbeTimeout extends Error {}

/**
 * Why a check failed, in a few words: never the error's own message, which may hold a host, a user
 * or a connection string.
 */
export function failureReason(error: unknown): string {
  if (error instanceof ProbeTimeout) return `timed out after ${READY_TIMEOUT_MS / 1000} s`;
  for (
    let e: unknown = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && GRPC_STATUS[code]) return GRPC_STATUS[code];
    if (typeof code === 'string')
      return DB_CODES[code] ?? transportWords(code) ?? `error ${code.replace(/[^A-Za-z0-9_]/g, '').slice(0, 20)}`;
  }
  return 'error';
}

async function probe(work: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout()), READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([work(), timeout]);
    return 'ok';
  } catch (error) {
    return `failed: ${failureReason(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. */
function bearerMatches(req: Request, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  return match?.[1] !== undefined && timingSafeEqual(sha256(match[1]), sha256(token));
}

/** Who may read which series of /metrics, from METRICS_TOKEN and METRICS_PUBLIC. */
export type MetricsAccess = { full: boolean } | { unauthorized: string };

export function metricsAccess(req: Request, token: string | undefined, publicSeries: MetricsPublic): MetricsAccess {
  const sentAuthorization = req.get('authorization') !== undefined;
  if (token && bearerMatches(req, token)) return { full: true };
  if (publicSeries === 'unlabelled' && !sentAuthorization) return { full: false };
  if (token) return { unauthorized: 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.\n' };
  return {
    unauthorized:
      'Metrics are off: set METRICS_TOKEN and scrape with Authorization: Bearer <token> (or METRICS_PUBLIC=unlabelled for the series without customer and certificate names).\n',
  };
}

/**
 * /healthz (liveness: the process answers), /readyz (PostgreSQL and Temporal answer within 2 s) and
 * /metrics (Prometheus, web/metrics.ts). Mounted before sessions: monitors have no cookie. /metrics
 * names customers and certificates, so it needs `Authorization: Bearer <METRICS_TOKEN>`; without a
 * token configured it answers 401, unless METRICS_PUBLIC=unlabelled, which serves anyone the series
 * without those names.
 */
export function healthRoutes(deps: WebDeps): Router {
  const router = Router();
  const full = createWebMetrics(deps.db, { perCertificate: true });
  let unlabelled: WebMetrics | undefined;
  const publicSeries = deps.metricsPublic ?? 'none';

  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  router.get('/readyz', async (_req, res) => {
    const [database, temporal] = await Promise.all([
      probe(() => deps.db.query('SELECT 1')),
      probe(() => deps.commands.ping(READY_TIMEOUT_MS)),
    ]);
    const ok = database === 'ok' && temporal === 'ok';
    res
      .status(ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ ok, checks: { database, temporal } });
  });

  router.get('/metrics', async (req, res) => {
    const access = metricsAccess(req, deps.metricsToken, publicSeries);
    if ('unauthorized' in access) {
      res
        .set('WWW-Authenticate', 'Bearer realm="certfleet-metrics"')
        .set('Cache-Control', 'no-store')
        .status(401)
        .type('text/plain')
        .send(access.unauthorized);
      return;
    }
    const metrics = access.full ? full : (unlabelled ??= createWebMetrics(deps.db, { perCertificate: false }));
    let text: string;
    try {
      text = await metrics.scrape();
    } catch (error) {
      req.log.warn({ err: error }, 'metrics: the database could not be read');
      res
        .status(503)
        .type('text/plain')
        .send(`Metrics unavailable: the database could not be read (${failureReason(error)}).\n`);
      return;
    }
    res.set('Cache-Control', 'no-store').type(metrics.registry.contentType).send(text);
  });

  return router;
}
