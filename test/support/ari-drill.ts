/**
 * The mass-revocation drill (issue 15 item 2), shared by test/integration/ari-drill.test.ts (small N)
 * and bench/ari-drill.ts (N = 200): on a fleet issued and deployed once (test/support/fleet.ts), the CA
 * moves every certificate's ARI window into the past (Pebble's set-renewal-info, as a CA announcing a
 * revocation does); the renewal schedules alone must renew and redeploy every one. Measured: the time
 * from the windows moved to the last certificate redeployed, and what the CA refused.
 */
import type { Fleet } from './fleet';
import { pastWindow, setRenewalInfo } from './pebble-ari';
import type { Stack } from './stack';

export interface DrillTiming {
  /** The renewal schedules' interval and jitter (RENEWAL_CHECK_*). */
  checkIntervalSeconds: number;
  checkJitterSeconds: number;
  /** Upper bound of the ARI poll interval (ARI_POLL_MAX_SECONDS): Pebble's Retry-After of 6 h is kept to this. */
  pollMaxSeconds: number;
}

/** The stack's environment for a drill: short schedules, so the drill takes minutes, not hours. */
export const drillEnv = (t: DrillTiming): Record<string, string> => ({
  RENEWAL_CHECK_INTERVAL_SECONDS: String(t.checkIntervalSeconds),
  RENEWAL_CHECK_JITTER_SECONDS: String(t.checkJitterSeconds),
  ARI_POLL_MIN_SECONDS: '1',
  ARI_POLL_MAX_SECONDS: String(t.pollMaxSeconds),
});

export interface DrillFigures {
  n: number;
  /** Windows moved → every certificate renewed and its new version deployed and verified. */
  allRedeployedMs: number;
  /** Per certificate, windows moved → its new version deployed (sampled every 500 ms). */
  redeployedMs: number[];
  redeployed: number;
  /** Orders placed after the windows moved (one per certificate when nothing is refused). */
  orders: number;
  ordersWithReplaces: number;
  /** Orders whose `replaces` the CA refused, plus renewal runs that failed. */
  refusedByCa: number;
  failedRuns: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runAriDrill(stack: Stack, fleet: Fleet, timeoutMs: number): Promise<DrillFigures> {
  const db = stack.db.db;
  const ids = fleet.certificates.map((c) => c.id);
  const before = await db.query<{ id: string; version_id: string; cert_pem: string }>(
    `SELECT c.id, c.current_version_id AS version_id, v.cert_pem
       FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = ANY($1::bigint[])`,
    [ids],
  );
  const [{ max_order: lastOrder } = { max_order: '0' }] = await db.query<{ max_order: string }>(
    'SELECT coalesce(max(id), 0) AS max_order FROM acme_orders',
  );
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < before.length) {
        const cert = before[next++];
        if (cert) await setRenewalInfo(stack.pebble, cert.cert_pem, pastWindow('https://ca.example/incident'));
      }
    }),
  );
  const done = new Map<string, number>();
  for (;;) {
    const rows = await db.query<{ id: string }>(
      `SELECT c.id FROM certificates c JOIN deployments d ON d.certificate_id = c.id
        WHERE c.id = ANY($1::bigint[]) AND c.current_version_id <> ALL($2::bigint[])
          AND d.status = 'deployed' AND d.current_version_id = c.current_version_id`,
      [ids, before.map((b) => b.version_id)],
    );
    const now = performance.now() - started;
    for (const r of rows) if (!done.has(r.id)) done.set(r.id, now);
    if (done.size === ids.length || now > timeoutMs) break;
    await pause(500);
  }
  const [orders] = await db.query<{ orders: string; with_replaces: string; refused: string }>(
    `SELECT count(*) AS orders, count(replaces) AS with_replaces, count(replaces_refused) AS refused
       FROM acme_orders WHERE id > $1 AND certificate_id = ANY($2::bigint[])`,
    [lastOrder, ids],
  );
  const [failed] = await db.query<{ n: string }>(
    "SELECT count(*) AS n FROM certificates WHERE id = ANY($1::bigint[]) AND status = 'failed'",
    [ids],
  );
  const failedRuns = Number(failed?.n ?? 0);
  const redeployedMs = [...done.values()].sort((a, b) => a - b);
  return {
    n: ids.length,
    allRedeployedMs: done.size === ids.length ? (redeployedMs.at(-1) ?? 0) : Number.NaN,
    redeployedMs,
    redeployed: done.size,
    orders: Number(orders?.orders ?? 0),
    ordersWithReplaces: Number(orders?.with_replaces ?? 0),
    refusedByCa: Number(orders?.refused ?? 0) + failedRuns,
    failedRuns,
  };
}
