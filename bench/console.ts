/**
 * bench/console.ts — server-side timings of the web console at fleet size: a fresh database seeded
 * with 200 customers, 10,000 certificates (600 targets), 100,000 deployment runs and 100,000 audit
 * entries, the real app on the Temporal dev server. Each page is warmed up, then requested N times
 * (default 200) one after the other; the figures are the server's own time from its
 * `Server-Timing: app;dur=<ms>` header (web/middleware/server-timing.ts), with the client round trip
 * median for reference. Each line is marked against the goal p95 < 50 ms; a missed goal is printed,
 * not failed (the exit code is non-zero only on errors).
 *
 *   npm run bench:console              # 200 requests per page
 *   npm run bench:console -- 50        # 50 requests per page
 */
import { performance } from 'node:perf_hooks';
import { SecretPurpose } from '../activities/crypto/secret-box';
import { median, runBenchmark } from './stats';
import type { ConsoleClient } from '../test/support/console-client';
import { startConsoleApp } from '../test/support/console-app';
import { seedFleet, type FleetSize } from '../test/support/seed';

const FLEET: FleetSize = {
  customers: 200,
  certificates: 10_000,
  targetsPerCustomer: 3,
  deploymentRuns: 100_000,
  auditEntries: 100_000,
};
const WARM_UP = 5;
const GOAL_P95_MS = 50;
/** Parts of certificate names (`cert-<i>.c<customer>.example.test`) and of customer names (`Customer 0042`). */
const SEARCHES = ['cert-4711', 'c42.example', 'Customer 0150', '77.c1', 'cert-99'];

interface Case {
  label: string;
  /** Cycled through request by request. */
  paths: string[];
  /** Through the JSON API with the bearer token instead of the signed-in console client. */
  api?: boolean;
  headers?: Record<string, string>;
}

interface Sample {
  server: number;
  roundTrip: number;
}

/** Nearest-rank percentile. */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

function serverDuration(headers: Headers, path: string): number {
  const dur = /(?:^|,)\s*app;dur=([\d.]+)/.exec(headers.get('server-timing') ?? '')?.[1];
  if (dur === undefined) throw new Error(`${path}: no Server-Timing app;dur header`);
  return Number(dur);
}

function requestsOf(n: string): number {
  const value = Number(n);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`the number of requests per page must be a positive integer, not ${n}`);
  return value;
}

async function main(): Promise<void> {
  const requests = requestsOf(process.argv[2] ?? '200');
  console.log('console: starting PostgreSQL database and Temporal dev server …');
  const c = await startConsoleApp();
  try {
    console.log(
      `console: seeding ${FLEET.customers} customers, ${FLEET.certificates.toLocaleString('en')} certificates, ${FLEET.customers * FLEET.targetsPerCustomer} targets, ` +
        `${FLEET.deploymentRuns.toLocaleString('en')} deployment runs, ${FLEET.auditEntries.toLocaleString('en')} audit entries …`,
    );
    const seedStart = performance.now();
    const fleet = await seedFleet(c.db.db, FLEET, c.box.seal('placeholder', SecretPurpose.versionKey));
    console.log(`console: seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s (including ANALYZE)`);

    const customerId = fleet.customerIds[Math.floor(fleet.customerIds.length / 2)];
    if (!customerId) throw new Error('the seed wrote no customers');
    // Certificates spread over the fleet, so the detail page does not read one row over and over.
    const certificateIds = (
      await c.db.db.query<{ id: string }>(
        'SELECT id FROM certificates WHERE deleted_at IS NULL AND id % 97 = 13 ORDER BY id LIMIT 50',
      )
    ).map((r) => r.id);
    if (certificateIds.length === 0) throw new Error('the seed wrote no certificates');
    const [middle] = await c.db.db.query<{ id: string }>(
      'SELECT id FROM audit_log ORDER BY id OFFSET (SELECT count(*) / 2 FROM audit_log) LIMIT 1',
    );
    if (!middle) throw new Error('the seed wrote no audit entries');

    const cases: Case[] = [
      { label: '/ (dashboard)', paths: ['/'] },
      { label: '/dashboard/running (Temporal)', paths: ['/dashboard/running'], headers: { 'HX-Request': 'true' } },
      { label: '/certificates', paths: ['/certificates'] },
      { label: '/certificates?q=…', paths: SEARCHES.map((q) => `/certificates?q=${encodeURIComponent(q)}`) },
      { label: '/certificates?sort=name&dir=desc', paths: ['/certificates?sort=name&dir=desc'] },
      { label: '/certificates?sort=customer&page=37', paths: ['/certificates?sort=customer&page=37'] },
      { label: '/certificates?customer=…&expiry=30', paths: [`/certificates?customer=${customerId}&expiry=30`] },
      { label: '/certificates?vendor=panos', paths: ['/certificates?vendor=panos'] },
      {
        label: `/certificates/<id> (${certificateIds.length} ids)`,
        paths: certificateIds.map((id) => `/certificates/${id}`),
      },
      { label: '/audit', paths: ['/audit'] },
      { label: '/audit?action=certificate.', paths: ['/audit?action=certificate.'] },
      { label: '/audit?actor=alice&before=…', paths: [`/audit?actor=alice&before=${middle.id}`] },
      { label: '/deployments', paths: ['/deployments'] },
      {
        label: '/deployments?outcome=failed&customer=…',
        paths: [`/deployments?outcome=failed&customer=${customerId}`],
      },
      { label: '/targets?customer=…', paths: [`/targets?customer=${customerId}`] },
      { label: 'API /api/v1/certificates?pageSize=50', paths: ['/api/v1/certificates?pageSize=50'], api: true },
    ];

    const consoleClient: ConsoleClient = await c.signedIn('readonly', 'bench-reader');
    const token = await c.apiToken('readonly', 'bench-api');

    const request = async (item: Case, path: string): Promise<Sample> => {
      const start = performance.now();
      let status: number;
      let headers: Headers;
      if (item.api) {
        const response = await fetch(new URL(path, c.url), { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        status = response.status;
        headers = response.headers;
      } else {
        const response = await consoleClient.get(path, item.headers);
        status = response.status;
        headers = response.headers;
      }
      const roundTrip = performance.now() - start;
      if (status !== 200) throw new Error(`GET ${path} answered ${status}`);
      return { server: serverDuration(headers, path), roundTrip };
    };

    console.log(
      `console: ${cases.length} pages, ${WARM_UP} warm-up requests and ${requests} measured requests each, one at a time …`,
    );
    const results: { item: Case; samples: Sample[] }[] = [];
    for (const item of cases) {
      for (let i = 0; i < WARM_UP; i++) await request(item, item.paths[i % item.paths.length] as string);
      const samples: Sample[] = [];
      for (let i = 0; i < requests; i++) samples.push(await request(item, item.paths[i % item.paths.length] as string));
      results.push({ item, samples });
    }

    const width = Math.max(...cases.map((k) => k.label.length));
    const num = (v: number) => v.toFixed(1).padStart(7);
    console.log(
      `\nconsole: server time (Server-Timing app;dur) over ${requests} requests per page, goal p95 < ${GOAL_P95_MS} ms`,
    );
    console.log(
      `  ${'page'.padEnd(width)}  ${'p50'.padStart(7)}  ${'p95'.padStart(7)}  ${'max'.padStart(7)}  ${'rt p50'.padStart(7)}  goal`,
    );
    let missed = 0;
    for (const { item, samples } of results) {
      const server = samples.map((s) => s.server);
      const p95 = percentile(server, 95);
      const ok = p95 < GOAL_P95_MS;
      if (!ok) missed += 1;
      console.log(
        `  ${item.label.padEnd(width)}  ${num(median(server))}  ${num(p95)}  ${num(Math.max(...server))}  ${num(median(samples.map((s) => s.roundTrip)))}  ${ok ? '✓' : '✗'}`,
      );
    }
    console.log('  (ms; p50/p95/max: server time; rt p50: client round trip median, for reference)');
    console.log(`  ${cases.length - missed} of ${cases.length} pages meet the goal`);

    // A Prometheus scrape of the whole fleet (one series per certificate): not a page, so not held to the page goal.
    const scrapes: Sample[] = [];
    let scrapeBytes = 0;
    for (let i = 0; i < 3 + Math.min(requests, 20); i++) {
      const start = performance.now();
      const response = await fetch(new URL('/metrics', c.url));
      scrapeBytes = (await response.arrayBuffer()).byteLength;
      if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
      if (i >= 3)
        scrapes.push({ server: serverDuration(response.headers, '/metrics'), roundTrip: performance.now() - start });
    }
    const scrapeServer = scrapes.map((s) => s.server);
    console.log(
      `\nconsole: /metrics (Prometheus scrape, ${(scrapeBytes / 1024).toFixed(0)} KiB) over ${scrapes.length} scrapes: ` +
        `p50 ${median(scrapeServer).toFixed(1)} ms, p95 ${percentile(scrapeServer, 95).toFixed(1)} ms (server time)`,
    );

    const [size] = await c.db.db.query<{
      certificates: string;
      runs: string;
      audit: string;
      bytes: string;
      pretty: string;
    }>(
      `SELECT (SELECT count(*) FROM certificates) AS certificates, (SELECT count(*) FROM deployment_runs) AS runs,
              (SELECT count(*) FROM audit_log) AS audit, pg_database_size(current_database()) AS bytes,
              pg_size_pretty(pg_database_size(current_database())) AS pretty`,
    );
    if (size) {
      console.log(
        `\nconsole: ${Number(size.certificates).toLocaleString('en')} certificates, ${Number(size.runs).toLocaleString('en')} deployment runs, ` +
          `${Number(size.audit).toLocaleString('en')} audit entries; database size ${size.pretty} (${Number(size.bytes).toLocaleString('en')} bytes)`,
      );
    }
  } finally {
    await c.stop();
  }
}

runBenchmark(main);
