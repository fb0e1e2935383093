/**
 * `npm run demo`: the demo starts everything on this machine (embedded PostgreSQL, the Temporal dev
 * server, Pebble, the fake Cloudflare and appliances, an SMTP catcher, worker and console), seeds its
 * data through the console, and completes one lifecycle: a certificate issued by Pebble and deployed,
 * verified, to a fake appliance. The printed URL and credentials work; stop() leaves no process behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import type { VerifyEndpoint } from '../../activities/deployers/types';
import { startDemo, type DemoHandle } from '../../scripts/demo';
import { ConsoleClient } from '../support/console-client';
import { freePort } from '../support/free-port';
import { runningProcessCount } from '../support/process';
import { eventually } from '../support/stack';

/** Live processes of a process group (Linux), e.g. "1234 postgres". */
function processGroup(pgid: number): string[] {
  const members: string[] = [];
  for (const entry of existsSync('/proc') ? readdirSync('/proc') : []) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === pgid && state !== 'Z')
        members.push(`${entry} ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`);
    } catch {
      // the process ended meanwhile
    }
  }
  return members;
}

/** Live child processes of this process (Linux), e.g. "1234 postgres". */
/** The demo's environment: no database URL (it brings its own), data under `dir`, free ports, removed when it stops, quiet. */
async function demoEnv(dir: string): Promise<NodeJS.ProcessEnv> {
  const [webPort, uiPort] = await Promise.all([freePort(), freePort()]);
  return {
    ...process.env,
    DATABASE_URL: '',
    DEMO_DATA_DIR: path.join(dir, 'demo'),
    DEMO_PORT: String(webPort),
    DEMO_TEMPORAL_UI_PORT: String(uiPort),
    DEMO_KEEP: '',
    LOG_LEVEL: 'error',
  };
}

function childProcesses(): string[] {
  if (!existsSync('/proc')) return [];
  const children: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') children.push(`${entry} ${name}`);
    } catch {
      // the process ended meanwhile
    }
  }
  return children;
}

describe('npm run demo', () => {
  let demo: DemoHandle | undefined;
  let dir: string;
  const printed: string[] = [];
  let childrenBefore: Set<string>;
  const startedAt = Date.now();

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'certfleet-demo-'));
    childrenBefore = new Set(childProcesses());
    demo = await startDemo({
      env: { ...(await demoEnv(dir)), DEMO_ADMIN_PASSWORD: '' },
      say: (line) => printed.push(line),
    });
  });
  after(async () => {
    await demo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts and completes one lifecycle', { timeout: 120_000 }, async () => {
    assert.ok(demo);
    const first = await demo.waitForFirstLifecycle(60_000);
    assert.notEqual(first.vendor, 'manual');

    // The appliance really serves the new version (the deploy's own verify said so; check again from outside).
    const [deployment] = await demo.db.query<{ verify_endpoints: VerifyEndpoint[] }>(
      `SELECT d.verify_endpoints FROM deployments d JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id
        WHERE c.common_name = $1 AND t.name = $2 AND d.deleted_at IS NULL`,
      [first.commonName, first.targetName],
    );
    assert.ok(deployment && deployment.verify_endpoints.length > 0, 'the seeded link names its verify endpoints');
    await verifyServedFingerprint(first.vendor, deployment.verify_endpoints, first.fingerprint);
    await demo.smtp.waitFor((mail) => mail.subject.includes(`Issued ${first.commonName}`), 15_000);

    // Seeded through the console: two customers, the users, certificates and targets of both.
    const customers = await demo.db.query<{ name: string; alert_recipients: string[] }>(
      'SELECT name, alert_recipients FROM customers WHERE deleted_at IS NULL ORDER BY name',
    );
    assert.deepEqual(
      customers.map((c) => c.name),
      ['Acme Bakery', 'Müller Logistik GmbH'],
    );
    assert.ok(
      customers.every((c) => c.alert_recipients.length > 0),
      'every customer has alert recipients',
    );
    const [counts] = await demo.db.query<{ certificates: string; targets: string; vendors: string[] }>(
      `SELECT (SELECT count(*) FROM certificates WHERE deleted_at IS NULL) AS certificates,
              (SELECT count(*) FROM targets WHERE deleted_at IS NULL) AS targets,
              (SELECT array_agg(DISTINCT vendor ORDER BY vendor) FROM targets WHERE deleted_at IS NULL) AS vendors`,
    );
    assert.ok(Number(counts?.certificates) >= 3, `certificates: ${counts?.certificates}`);
    assert.ok(Number(counts?.targets) >= 3, `targets: ${counts?.targets}`);
    assert.deepEqual(counts?.vendors, ['f5-bigip', 'fortigate', 'manual', 'panos']);
    const users = await demo.db.query<{ username: string; role: string }>(
      'SELECT username, role FROM users ORDER BY username',
    );
    assert.deepEqual(
      users.map((u) => [u.username, u.role]),
      [
        ['demo', 'admin'],
        ['viewer', 'readonly'],
      ],
    );
    const audited = await demo.db.query<{ action: string }>(
      "SELECT DISTINCT action FROM audit_log WHERE action IN ('customer.create', 'target.create', 'certificate.create', 'deployment.create')",
    );
    assert.equal(audited.length, 4, 'the seed went through the console (audited)');

    // The target with a maintenance window holds its deploy back, waiting for "Deploy now".
    await eventually(
      'the PAN-OS deploy to wait for its maintenance window',
      async () => {
        const rows = await demo?.db.query<{ status: string }>(
          "SELECT d.status FROM deployments d JOIN targets t ON t.id = d.target_id WHERE t.vendor = 'panos'",
        );
        return rows?.[0]?.status === 'waiting' ? true : undefined;
      },
      30_000,
    );

    // The console answers at the printed URL, with the printed credentials.
    const url = printed.map((line) => /^\s*Console\s+(http:\/\/\S+)$/.exec(line)?.[1]).find(Boolean);
    const adminLine = printed.map((line) => /^\s*admin:\s+(\S+) \/ (\S+)$/.exec(line)).find(Boolean);
    const viewerLine = printed.map((line) => /^\s*read-only:\s+(\S+) \/ (\S+)$/.exec(line)).find(Boolean);
    assert.equal(url, demo.consoleUrl);
    assert.ok(
      adminLine?.[1] && adminLine[2] && viewerLine?.[1] && viewerLine[2],
      `credentials printed:\n${printed.join('\n')}`,
    );
    const uiUrl = demo.temporalUiUrl;
    assert.ok(uiUrl, `the demo runs its Temporal UI; it printed why not:\n${printed.join('\n')}`);
    assert.ok(
      printed.some((line) => line.includes(uiUrl)),
      'the Temporal UI URL is printed',
    );
    // The Temporal UI beside the demo is read-only: it refuses signals, starts, terminations and batch actions.
    const uiSettings = (await (await fetch(`${uiUrl}/api/v1/settings`)).json()) as Record<string, unknown>;
    assert.equal(uiSettings['DisableWriteActions'], true, "the demo's Temporal UI is read-only");
    const admin = new ConsoleClient(url);
    await admin.login(adminLine[1], adminLine[2]);
    const dashboard = await admin.get('/');
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.text, /Drift watch/);
    const certificates = await admin.get('/certificates');
    assert.match(certificates.text, /shop\.mueller-logistik\.test/);
    const viewer = new ConsoleClient(url);
    await viewer.login(viewerLine[1], viewerLine[2]);
    assert.equal((await viewer.get('/targets/new?vendor=manual')).status, 403, 'the read-only user changes nothing');

    // Stopping leaves nothing running (of what ran: PostgreSQL, the Temporal server, Pebble, challtestsrv).
    const running = childProcesses()
      .filter((child) => !childrenBefore.has(child))
      .join(', ');
    if (existsSync('/proc'))
      for (const name of ['postgres', 'temporal', 'pebble'])
        assert.match(running, new RegExp(` ${name}`), `${name} runs: ${running}`);
    await demo.stop();
    demo = undefined;
    assert.equal(runningProcessCount(), 0, 'Pebble and challtestsrv stopped');
    const leftovers = childProcesses().filter((child) => !childrenBefore.has(child) && !/ esbuild$/.test(child));
    assert.deepEqual(leftovers, [], 'no child process outlives the demo');
    await assert.rejects(fetch(url), 'the console is closed');
    console.log(
      `demo test: started, completed one lifecycle and stopped in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    );
  });
});

describe('npm run demo, stopped with kill -INT <its pid>', () => {
  it(
    'stops the whole tree, as Ctrl-C does',
    { timeout: 180_000, skip: !existsSync('/proc') && 'needs /proc' },
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'certfleet-demo-int-'));
      // Its own process group, like a shell job: the signal goes to the npm process only, not the group.
      const demo = spawn('npm', ['run', '--silent', 'demo'], {
        cwd: path.join(__dirname, '..', '..'),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: await demoEnv(dir),
      });
      let output = '';
      demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      // 'close', not 'exit': the exit can be reported before the last output lines are read from the pipes.
      const exited = new Promise<number | null>((resolve) => demo.on('close', (code) => resolve(code)));
      const pgid = demo.pid ?? 0;
      try {
        await eventually(
          'the demo to be up',
          async () => (output.includes('Press Ctrl-C to stop.') ? true : undefined),
          150_000,
        );
        assert.ok(
          processGroup(pgid).some((p) => / postgres$/.test(p)),
          'the demo runs its PostgreSQL',
        );
        process.kill(pgid, 'SIGINT');
        const stopped = await Promise.race([
          exited.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), 60_000)),
        ]);
        assert.ok(
          stopped,
          `the demo stopped on SIGINT to its process (${pgid}); still running: ${processGroup(pgid).join(', ')}\n${output.slice(-2000)}`,
        );
        assert.match(output, /demo: stopped/);
        await eventually(
          'every process of the demo to end',
          async () => (processGroup(pgid).length === 0 ? true : undefined),
          10_000,
        ).catch(() => undefined);
        assert.deepEqual(processGroup(pgid), [], 'no process of the demo is left');
      } finally {
        // A failed test leaves nothing behind either.
        if (processGroup(pgid).length) process.kill(-pgid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
