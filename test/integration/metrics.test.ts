/**
 * Monitoring: /metrics (Prometheus text, read from the database at scrape time) checked line by line
 * against SQL on a seeded fleet; METRICS_TOKEN; /healthz; /readyz when PostgreSQL or Temporal is
 * down; request ids; and the worker's own Temporal metrics on WORKER_METRICS_ADDRESS.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { createDatabase } from '../../activities/db/pool';
import { createApp } from '../../web/app';
import type { WebDeps } from '../../web/deps';
import { DURATION_BUCKETS } from '../../web/metrics';
import { startConsoleApp, type ConsoleApp } from '../support/console-app';
import { freePort } from '../support/free-port';
import { seedFleet } from '../support/seed';
import { eventually, startStack, type Stack } from '../support/stack';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  type: string | undefined;
  help: string | undefined;
  samples: Sample[];
}

/** The Prometheus text format (version 0.0.4), enough for these checks: HELP, TYPE and sample lines. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: undefined, help: undefined, samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') family(meta[2] ?? '').type = meta[3];
      else family(meta[2] ?? '').help = meta[3];
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment: ${line}`);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `a sample line: ${line}`);
    const name = sample[1] ?? '';
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1] ?? ''] = (m[2] ?? '').replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = sample[3] ?? '';
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    assert.ok(!Number.isNaN(value) || raw === 'NaN' || raw === 'Nan', `a number: ${line}`);
    // A histogram's _bucket/_sum/_count lines belong to the family declared by TYPE.
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const owner =
      families.get(name) ?? (families.get(base)?.type === 'histogram' ? families.get(base) : undefined) ?? family(name);
    owner.samples.push({ name, labels, value });
  }
  return families;
}

function familyOf(metrics: Map<string, Family>, name: string): Family {
  const f = metrics.get(name);
  assert.ok(f, `${name} is exposed`);
  return f;
}

function valueOf(f: Family, name: string, labels: Record<string, string>): number | undefined {
  return f.samples.find(
    (s) =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
      Object.keys(s.labels).length === Object.keys(labels).length,
  )?.value;
}

async function listen(deps: WebDeps): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = createApp(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const METRICS_TOKEN = 'metrics-token-' + Math.random().toString(36).slice(2);
const withToken = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

describe('web console /metrics, /healthz, /readyz', () => {
  let c: ConsoleApp;
  /** Every customer name in the seeded fleet. */
  let customers: string[];

  before(async () => {
    c = await startConsoleApp({ metricsToken: METRICS_TOKEN });
    await seedFleet(
      c.db.db,
      { customers: 3, certificates: 150, targetsPerCustomer: 2, deploymentRuns: 300, auditEntries: 1 },
      c.box.seal('placeholder', SecretPurpose.versionKey),
    );
    // Renewal runs: durations on and around bucket bounds (a run of exactly 5 s is in le="5").
    await c.db.db.query(
      `INSERT INTO lifecycle_runs (certificate_id, workflow_id, run_id, trigger, outcome, reason, started_at, ended_at)
       SELECT c.id, 'certificate:' || c.id, 'metrics-run-' || r.n, 'schedule', r.outcome, NULL, now() - r.seconds * interval '1 second', now()
         FROM (SELECT id FROM certificates ORDER BY id LIMIT 1) c,
              (VALUES (1, 'issued', 5), (2, 'issued', 5.5), (3, 'issued', 42), (4, 'partial', 4000), (5, 'failed', 0.5), (6, 'failed', 300000)) AS r(n, outcome, seconds)`,
    );
    // A running deployment run is not counted; a ready one (manual target) is.
    await c.db.db.query(
      "UPDATE deployment_runs SET outcome = 'running', ended_at = NULL WHERE id IN (SELECT id FROM deployment_runs ORDER BY id LIMIT 2)",
    );
    await c.db.db.query(
      "UPDATE deployment_runs SET outcome = 'ready' WHERE id IN (SELECT id FROM deployment_runs ORDER BY id DESC LIMIT 3)",
    );
    await c.db.db.query(
      `INSERT INTO incidents (key, kind, title, detail) VALUES ('drift:1:a', 'drift', 'Drift', 'changed by hand'), ('drift:2:a', 'drift', 'Drift', 'changed by hand'),
         ('renewal:1', 'renewal-failed', 'Renewal failed', 'x')`,
    );
    await c.db.db.query(
      "INSERT INTO incidents (key, kind, title, detail, resolved_at) VALUES ('deploy:9', 'deploy-failed', 'Deploy failed', 'x', now())",
    );
    customers = (await c.db.db.query<{ name: string }>('SELECT name FROM customers')).map((r) => r.name);
    assert.ok(customers.length >= 3);
  });
  after(async () => {
    await c?.stop();
  });

  it('exposes every metric with its TYPE, without a session', async () => {
    const response = await fetch(`${c.url}/metrics`, withToken);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const metrics = parseExposition(text);
    const types: Record<string, string> = {
      certfleet_certificate_expiry_timestamp_seconds: 'gauge',
      certfleet_certificate_ready: 'gauge',
      certfleet_certificates: 'gauge',
      certfleet_renewals_total: 'counter',
      certfleet_deployments_total: 'counter',
      certfleet_workflow_duration_seconds: 'histogram',
      certfleet_open_incidents: 'gauge',
      certfleet_web_process_cpu_user_seconds_total: 'counter',
      certfleet_web_nodejs_heap_size_used_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(types)) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
      assert.ok(familyOf(metrics, name).help, `${name} has a HELP line`);
    }
  });

  it('reports each certificate: expiry timestamp and ready', async () => {
    const metrics = parseExposition(await (await fetch(`${c.url}/metrics`, withToken)).text());
    const expiry = familyOf(metrics, 'certfleet_certificate_expiry_timestamp_seconds');
    const ready = familyOf(metrics, 'certfleet_certificate_ready');
    const live = await c.db.db.query<{
      common_name: string;
      customer: string;
      status: string;
      current_not_after: Date | null;
    }>(
      'SELECT c.common_name, cu.name AS customer, c.status, c.current_not_after FROM certificates c JOIN customers cu ON cu.id = c.customer_id WHERE c.deleted_at IS NULL',
    );
    assert.equal(ready.samples.length, live.length, 'one ready line per live certificate');
    assert.equal(
      expiry.samples.length,
      live.filter((r) => r.current_not_after).length,
      'one expiry line per issued certificate',
    );

    const now = Date.now();
    const pick = (what: string, test: (r: (typeof live)[number]) => boolean) => {
      const row = live.find(test);
      assert.ok(row, `the seed has ${what}`);
      return row;
    };
    const valid = pick(
      'a valid certificate',
      (r) => r.status === 'valid' && (r.current_not_after?.getTime() ?? 0) > now + 86_400_000,
    );
    const expired = pick(
      'an expired one',
      (r) => r.status === 'valid' && (r.current_not_after?.getTime() ?? Infinity) < now - 86_400_000,
    );
    const failed = pick('a failed one', (r) => r.status === 'failed' && (r.current_not_after?.getTime() ?? 0) > now);
    const pending = pick('one not issued', (r) => r.current_not_after === null);
    const labels = (r: (typeof live)[number]) => ({ certificate: r.common_name, customer: r.customer });

    assert.equal(
      valueOf(expiry, 'certfleet_certificate_expiry_timestamp_seconds', labels(valid)),
      Math.floor((valid.current_not_after?.getTime() ?? 0) / 1000),
    );
    assert.equal(
      valueOf(expiry, 'certfleet_certificate_expiry_timestamp_seconds', labels(expired)),
      Math.floor((expired.current_not_after?.getTime() ?? 0) / 1000),
    );
    assert.equal(valueOf(expiry, 'certfleet_certificate_expiry_timestamp_seconds', labels(pending)), undefined);
    assert.equal(valueOf(ready, 'certfleet_certificate_ready', labels(valid)), 1);
    assert.equal(valueOf(ready, 'certfleet_certificate_ready', labels(expired)), 0);
    assert.equal(valueOf(ready, 'certfleet_certificate_ready', labels(failed)), 0);
    assert.equal(valueOf(ready, 'certfleet_certificate_ready', labels(pending)), 0);
    const readyInSql = live.filter((r) => r.status === 'valid' && (r.current_not_after?.getTime() ?? 0) > now).length;
    assert.equal(ready.samples.filter((s) => s.value === 1).length, readyInSql);

    const statuses = familyOf(metrics, 'certfleet_certificates');
    for (const status of ['pending', 'issuing', 'valid', 'failed']) {
      assert.equal(
        valueOf(statuses, 'certfleet_certificates', { status }),
        live.filter((r) => r.status === status).length,
        status,
      );
    }
  });

  it('counts renewals and deployments by outcome as SQL does, and open incidents by kind', async () => {
    const metrics = parseExposition(await (await fetch(`${c.url}/metrics`, withToken)).text());
    const renewals = familyOf(metrics, 'certfleet_renewals_total');
    const renewalCounts = await c.db.db.query<{ outcome: string; n: number }>(
      'SELECT outcome, count(*)::int AS n FROM lifecycle_runs GROUP BY outcome',
    );
    assert.deepEqual(renewalCounts.map((r) => r.n).sort(), [1, 2, 3]);
    for (const r of renewalCounts)
      assert.equal(valueOf(renewals, 'certfleet_renewals_total', { outcome: r.outcome }), r.n, r.outcome);

    const deployments = familyOf(metrics, 'certfleet_deployments_total');
    const deploymentCounts = await c.db.db.query<{ outcome: string; vendor: string; n: number }>(
      `SELECT r.outcome, t.vendor, count(*)::int AS n FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id JOIN targets t ON t.id = d.target_id
        WHERE r.outcome <> 'running' GROUP BY r.outcome, t.vendor`,
    );
    assert.ok(deploymentCounts.length >= 4, 'several outcomes and vendors');
    assert.ok(deploymentCounts.some((r) => r.outcome === 'ready'));
    assert.equal(deployments.samples.length, deploymentCounts.length, 'no other series (running runs are not counted)');
    for (const r of deploymentCounts)
      assert.equal(
        valueOf(deployments, 'certfleet_deployments_total', { outcome: r.outcome, vendor: r.vendor }),
        r.n,
        `${r.outcome} ${r.vendor}`,
      );

    const incidents = familyOf(metrics, 'certfleet_open_incidents');
    assert.equal(valueOf(incidents, 'certfleet_open_incidents', { kind: 'drift' }), 2);
    assert.equal(valueOf(incidents, 'certfleet_open_incidents', { kind: 'renewal-failed' }), 1);
    assert.equal(
      valueOf(incidents, 'certfleet_open_incidents', { kind: 'deploy-failed' }),
      0,
      'a resolved incident is not open',
    );
  });

  it('exposes run durations as a histogram: cumulative buckets, +Inf = _count = finished runs', async () => {
    const metrics = parseExposition(await (await fetch(`${c.url}/metrics`, withToken)).text());
    const h = familyOf(metrics, 'certfleet_workflow_duration_seconds');
    const series = new Map<string, Sample[]>();
    for (const s of h.samples) {
      const key = `${s.labels['workflow']}/${s.labels['outcome']}`;
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    let renewalRuns = 0;
    let deployRuns = 0;
    for (const [key, samples] of series) {
      const buckets = samples.filter((s) => s.name === 'certfleet_workflow_duration_seconds_bucket');
      assert.deepEqual(
        buckets.map((b) => b.labels['le']),
        [...DURATION_BUCKETS.map(String), '+Inf'],
        `${key}: every bucket, in order`,
      );
      for (let i = 1; i < buckets.length; i++)
        assert.ok(
          (buckets[i]?.value ?? -1) >= (buckets[i - 1]?.value ?? Infinity),
          `${key}: cumulative at le=${buckets[i]?.labels['le']}`,
        );
      const count = samples.find((s) => s.name === 'certfleet_workflow_duration_seconds_count')?.value;
      const sum = samples.find((s) => s.name === 'certfleet_workflow_duration_seconds_sum')?.value;
      assert.equal(buckets.at(-1)?.value, count, `${key}: +Inf = _count`);
      assert.ok(sum !== undefined && sum >= 0, `${key}: _sum`);
      if (key.startsWith('renewal/')) renewalRuns += count ?? 0;
      else deployRuns += count ?? 0;
    }
    const [sql] = await c.db.db.query<{ renewals: number; deploys: number }>(
      "SELECT (SELECT count(*)::int FROM lifecycle_runs) AS renewals, (SELECT count(*)::int FROM deployment_runs WHERE outcome <> 'running' AND ended_at IS NOT NULL) AS deploys",
    );
    assert.equal(renewalRuns, sql?.renewals);
    assert.equal(deployRuns, sql?.deploys);

    // The seeded renewal runs: issued took 5 s, 5.5 s and 42 s; failed 0.5 s and 300,000 s.
    const bucket = (outcome: string, le: string) =>
      valueOf(h, 'certfleet_workflow_duration_seconds_bucket', { workflow: 'renewal', outcome, le });
    assert.equal(bucket('issued', '1'), 0);
    assert.equal(bucket('issued', '5'), 1, 'le is inclusive');
    assert.equal(bucket('issued', '15'), 2);
    assert.equal(bucket('issued', '60'), 3);
    assert.equal(bucket('failed', '1'), 1);
    assert.equal(bucket('failed', '259200'), 1, 'a run longer than the last bound is only in +Inf');
    assert.equal(bucket('failed', '+Inf'), 2);
    const issuedSum =
      valueOf(h, 'certfleet_workflow_duration_seconds_sum', { workflow: 'renewal', outcome: 'issued' }) ?? 0;
    assert.ok(Math.abs(issuedSum - 52.5) < 0.01, `sum of the issued runs: ${issuedSum}`);
    // Seeded deploy runs take 3 s each.
    assert.equal(
      valueOf(h, 'certfleet_workflow_duration_seconds_bucket', { workflow: 'deploy', outcome: 'deployed', le: '1' }),
      0,
    );
    assert.equal(
      valueOf(h, 'certfleet_workflow_duration_seconds_bucket', { workflow: 'deploy', outcome: 'deployed', le: '5' }),
      valueOf(h, 'certfleet_workflow_duration_seconds_count', { workflow: 'deploy', outcome: 'deployed' }),
    );
  });

  it('requires the bearer token when METRICS_TOKEN is set', async () => {
    const without = await fetch(`${c.url}/metrics`);
    assert.equal(without.status, 401);
    assert.match(without.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.doesNotMatch(await without.text(), /certfleet_/);
    assert.equal((await fetch(`${c.url}/metrics`, { headers: { authorization: 'Bearer wrong-token' } })).status, 401);
    const authorized = await fetch(`${c.url}/metrics`, withToken);
    assert.equal(authorized.status, 200);
    const text = await authorized.text();
    assert.match(text, /^certfleet_renewals_total\{outcome="issued"\} 3$/m);
    assert.ok(
      customers.some((name) => text.includes(`customer="${name}"`)),
      'the token holder sees the customers',
    );
    assert.equal((await fetch(`${c.url}/healthz`)).status, 200, 'health checks stay open');
  });

  it('without METRICS_TOKEN shows no customer to anyone: 401 with what to set', async () => {
    const { metricsToken: _unused, ...withoutToken } = c.deps;
    const open = await listen(withoutToken);
    try {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: `Bearer ${METRICS_TOKEN}` },
        { authorization: 'Bearer x' },
      ];
      for (const headers of attempts) {
        const response = await fetch(`${open.url}/metrics`, { headers });
        assert.equal(response.status, 401);
        const text = await response.text();
        assert.match(text, /set METRICS_TOKEN/);
        assert.doesNotMatch(text, /certfleet_/);
      }
      for (const path of ['/metrics', '/healthz', '/readyz', '/login', '/metrics?format=text', '/metrics/']) {
        const text = await (await fetch(`${open.url}${path}`)).text();
        for (const name of customers) assert.ok(!text.includes(name), `${path} does not name the customer ${name}`);
      }
    } finally {
      await open.close();
    }
  });

  it('METRICS_PUBLIC=unlabelled serves the fleet totals without a token, and no customer or certificate name', async () => {
    const { metricsToken: _unused, ...withoutToken } = c.deps;
    const open = await listen({ ...withoutToken, metricsPublic: 'unlabelled' });
    try {
      const response = await fetch(`${open.url}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      const metrics = parseExposition(text);
      assert.equal(
        valueOf(familyOf(metrics, 'certfleet_renewals_total'), 'certfleet_renewals_total', { outcome: 'issued' }),
        3,
      );
      assert.ok(metrics.has('certfleet_open_incidents'));
      assert.ok(
        !metrics.has('certfleet_certificate_ready') && !metrics.has('certfleet_certificate_expiry_timestamp_seconds'),
        'no per-certificate series',
      );
      assert.doesNotMatch(text, /customer=|certificate=/);
      for (const name of customers) assert.ok(!text.includes(name), `no ${name}`);
    } finally {
      await open.close();
    }
  });

  it('answers /healthz and /readyz, with a request id on every response', async () => {
    const health = await fetch(`${c.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    assert.match(health.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const ready = await fetch(`${c.url}/readyz`, { headers: { 'x-request-id': 'lb-probe.42' } });
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ok: true, checks: { database: 'ok', temporal: 'ok' } });
    assert.equal(ready.headers.get('x-request-id'), 'lb-probe.42', 'a safe incoming id is kept');
    const unsafe = await fetch(`${c.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(65) } });
    assert.match(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'too long: replaced');
  });

  it('is not ready while PostgreSQL is unreachable, and says so without connection details', async () => {
    const nowhere = createDatabase({ connectionString: 'postgres://postgres:pw-not-logged@127.0.0.1:1/none' });
    const app = await listen({ ...c.deps, db: nowhere, log: pino({ level: 'silent' }) });
    try {
      const ready = await fetch(`${app.url}/readyz`);
      assert.equal(ready.status, 503);
      const text = await ready.text();
      assert.deepEqual(JSON.parse(text), {
        ok: false,
        checks: { database: 'failed: connection refused', temporal: 'ok' },
      });
      assert.doesNotMatch(text, /127\.0\.0\.1|postgres:|pw-not-logged|none/);
      assert.equal((await fetch(`${app.url}/healthz`)).status, 200, 'still alive');
      const metrics = await fetch(`${app.url}/metrics`, withToken);
      assert.equal(metrics.status, 503);
      assert.doesNotMatch(await metrics.text(), /127\.0\.0\.1|pw-not-logged/);
    } finally {
      await app.close();
      await nowhere.close();
    }
  });

  it('is not ready while Temporal is down, and answers within the 2 s probe timeout', async () => {
    c.temporal.child.kill('SIGKILL');
    await new Promise((resolve) => c.temporal.child.once('exit', resolve));
    const started = Date.now();
    const ready = await fetch(`${c.url}/readyz`);
    const elapsed = Date.now() - started;
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { ok: boolean; checks: { database: string; temporal: string } };
    assert.equal(body.ok, false);
    assert.equal(body.checks.database, 'ok');
    assert.match(body.checks.temporal, /^failed: (unreachable|timed out)/);
    assert.ok(elapsed < 3_500, `answered in ${elapsed} ms`);
    assert.equal((await fetch(`${c.url}/metrics`, withToken)).status, 200, 'metrics come from the database only');
  });
});

describe('worker metrics (Temporal Core on WORKER_METRICS_ADDRESS)', () => {
  let stack: Stack;
  let address: string;

  before(async () => {
    address = `127.0.0.1:${await freePort()}`;
    stack = await startStack({ env: { WORKER_METRICS_ADDRESS: address } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('serves Temporal worker metrics while a worker runs', async () => {
    const worker = await stack.startWorker();
    assert.match(worker.output(), /worker metrics for Prometheus/);
    const text = await eventually(
      'worker task slot metrics',
      async () => {
        const response = await fetch(`http://${address}/metrics`).catch(() => undefined);
        const body = response?.ok ? await response.text() : '';
        // Core reports each worker's slots once that worker has polled: wait for both kinds and the pollers.
        const ready =
          /^temporal_worker_task_slots_available\{[^}]*worker_type="WorkflowWorker"/m.test(body) &&
          /^temporal_worker_task_slots_available\{[^}]*worker_type="ActivityWorker"/m.test(body) &&
          /^temporal_num_pollers\b/m.test(body);
        return ready ? body : undefined;
      },
      30_000,
    );
    const metrics = parseExposition(text);
    assert.equal(familyOf(metrics, 'temporal_worker_task_slots_available').type, 'gauge');
    const slots = familyOf(metrics, 'temporal_worker_task_slots_available').samples;
    assert.ok(
      slots.some((s) => s.labels['worker_type'] === 'ActivityWorker' && s.labels['task_queue'] === 'certfleet'),
      'activity slots of our task queue',
    );
    assert.ok(
      slots.some((s) => s.labels['worker_type'] === 'WorkflowWorker'),
      'workflow slots',
    );
    assert.ok(metrics.has('temporal_num_pollers'), 'pollers');
    assert.ok(
      [...metrics.keys()].every((name) => name.startsWith('temporal_')),
      'the SDK prefix on every metric',
    );
  });
});
