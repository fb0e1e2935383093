/**
 * Rate-limit pacing against Pebble 2.10.3 (issue 15 item 5): onboarding many new names with a small
 * configured budget (5 new orders per account per 4 s) neither hammers the CA nor fails. Every
 * certificate issues, no window of the budget ever holds more than 5 orders, and each run that waits
 * shows "waiting for the CA's rate limit" with the time it will go, on its page and on the dashboard.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConsoleClient } from '../support/console-client';
import { addCloudflareProvider, addPebbleDirectory, requestCertificate } from '../support/console-actions';
import { eventually, startStack, type Stack } from '../support/stack';

const BUDGET = 5;
const WINDOW_SECONDS = 4;
const CERTIFICATES = 30;
const GRACE_MS = 3_000;

describe('rate-limit pacing', () => {
  let stack: Stack;
  let admin: ConsoleClient;
  let directoryId: string;
  let providerId: string;

  before(async () => {
    stack = await startStack({ env: { ACME_ORDER_SLOT_GRACE_MS: String(GRACE_MS) } });
    await stack.startWorker();
    admin = await stack.admin();
    directoryId = await addPebbleDirectory(admin, stack);
    providerId = await addCloudflareProvider(admin, stack, 'Onboarding Cloudflare');
    // Settings → Rate-limit budgets: a bad value is refused and changes nothing, then the small budget is saved.
    await admin.get('/settings');
    const form = {
      ordersPerAccount: String(BUDGET),
      accountWindowSeconds: String(WINDOW_SECONDS),
      certificatesPerDomain: '50',
      duplicatesPerIdentifiers: '5',
      domainWindowSeconds: '604800',
      fallbackDirectoryIds: '',
      fallbackAfterSeconds: '900',
    };
    const refused = await admin.post(`/settings/acme-directories/${directoryId}/pacing`, {
      ...form,
      ordersPerAccount: '0',
      fallbackDirectoryIds: directoryId,
    });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /Enter new orders per account: a whole number from 1 to 100000\./);
    assert.match(refused.text, /List other ACME directories by their number/);
    const saved = await admin.post(`/settings/acme-directories/${directoryId}/pacing`, form);
    assert.equal(saved.status, 303, saved.text);
    const stored = await stack.db.db.query<{ n: number; w: number }>(
      'SELECT orders_per_account AS n, account_window_seconds AS w FROM acme_directories WHERE id = $1',
      [directoryId],
    );
    assert.deepEqual(stored[0], { n: BUDGET, w: WINDOW_SECONDS });
  });
  after(async () => {
    await stack?.stop();
  });

  it(`${CERTIFICATES} new names with a budget of ${BUDGET} per ${WINDOW_SECONDS} s: all issue, paced, each wait shown`, async () => {
    const started = Date.now();
    const ids: string[] = [];
    for (let i = 1; i <= CERTIFICATES; i++) {
      ids.push(
        await requestCertificate(admin, {
          commonName: `host${i}.example.test`,
          dnsProviderId: providerId,
          acmeDirectoryId: directoryId,
        }),
      );
    }

    // While runs wait: their page says so with the time they go, and so does the dashboard.
    const seenOnPage = new Set<string>();
    let seenOnDashboard = 0;
    const statuses = await eventually(
      'every certificate issued',
      async () => {
        const waiting = await stack.db.db.query<{ id: string; until: Date }>(
          `SELECT id::text AS id, rate_limit_wait_until AS until FROM certificates
            WHERE status = 'issuing' AND rate_limit_wait_until > now() ORDER BY id LIMIT 3`,
        );
        for (const w of waiting) {
          const fragment = await admin.get(`/certificates/${w.id}/progress`, { 'HX-Request': 'true' });
          const shown = /waiting for the CA&#x27;s rate limit until \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)/.exec(
            fragment.text,
          );
          if (shown && /new orders per account per 4 s/.test(fragment.text)) seenOnPage.add(w.id);
        }
        if (waiting.length > 0) {
          const running = await admin.get('/dashboard/running', { 'HX-Request': 'true' });
          if (/waiting for the CA&#x27;s rate limit until/.test(running.text)) seenOnDashboard += 1;
        }
        const rows = await stack.db.db.query<{ status: string; n: string }>(
          'SELECT status, count(*)::text AS n FROM certificates GROUP BY status',
        );
        const byStatus = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
        assert.equal(byStatus['failed'] ?? 0, 0, `no certificate failed: ${JSON.stringify(byStatus)}`);
        return byStatus['valid'] === CERTIFICATES ? byStatus : undefined;
      },
      180_000,
      200,
    );
    const elapsedMs = Date.now() - started;
    assert.equal(statuses['valid'], CERTIFICATES);

    // Never more than BUDGET orders in any window, counted where the CA counts them (order creation)
    // and in the ledger (the reservation).
    const maxInWindow = async (sql: string): Promise<number> => {
      const times = (await stack.db.db.query<{ at: Date }>(sql)).map((r) => r.at.getTime()).sort((a, b) => a - b);
      let most = 0;
      for (let i = 0; i < times.length; i++) {
        const start = times[i] as number;
        most = Math.max(most, times.filter((t) => t >= start && t < start + WINDOW_SECONDS * 1000).length);
      }
      return most;
    };
    const slots = await maxInWindow('SELECT spent_at AS at FROM acme_order_slots');
    assert.equal(
      (await stack.db.db.query('SELECT 1 FROM acme_order_slots')).length,
      CERTIFICATES,
      'one slot per run: none taken twice',
    );
    assert.ok(slots <= BUDGET, `at most ${BUDGET} reservations in any ${WINDOW_SECONDS} s window, saw ${slots}`);
    const orders = await maxInWindow('SELECT created_at AS at FROM acme_orders');
    const delay = await stack.db.db.query<{ ms: number }>(
      `SELECT max(extract(epoch FROM o.created_at - s.spent_at) * 1000)::float8 AS ms
         FROM acme_orders o JOIN acme_order_slots s ON s.run_id = o.run_id AND s.directory_id = o.directory_id`,
    );
    assert.ok((delay[0]?.ms ?? 0) < GRACE_MS, `every order reached the CA within the grace (${delay[0]?.ms} ms)`);
    assert.ok(orders <= BUDGET, `at most ${BUDGET} orders at the CA in any ${WINDOW_SECONDS} s window, saw ${orders}`);
    // 30 orders at 5 per 4 s cannot all go in fewer than 5 full windows.
    assert.ok(elapsedMs >= (CERTIFICATES / BUDGET - 1) * WINDOW_SECONDS * 1000, `paced: took ${elapsedMs} ms`);
    assert.ok(seenOnPage.size >= 3, `waiting runs showed their wait and time on their page (${seenOnPage.size})`);
    assert.ok(seenOnDashboard >= 1, 'the dashboard showed a waiting run');
    // Nothing waits any more.
    const stale = await stack.db.db.query(
      "SELECT 1 FROM certificates WHERE rate_limit_wait_until IS NOT NULL AND status = 'issuing'",
    );
    assert.equal(stale.length, 0);
    console.log(
      `pacing: ${CERTIFICATES} certificates issued in ${elapsedMs} ms with ${BUDGET} orders per ${WINDOW_SECONDS} s; ` +
        `most reservations in a window ${slots}, most orders ${orders}; max reservation→order ${Math.round(delay[0]?.ms ?? 0)} ms; ` +
        `${seenOnPage.size} waiting pages seen`,
    );
  });
});
