/**
 * bench/vs-certbot.ts — the same N certificates issued by CertFleet and by certbot (Debian's
 * `certbot`, `apt-get install certbot`) against the same Pebble, in the same run.
 *
 * - CertFleet: N certificates created through the JSON API at once; each is issued by its lifecycle
 *   workflow (DNS-01 through the fake Cloudflare, propagation check, ACME, stored, email). Timed from
 *   the first create to the last run complete.
 * - certbot: the way it is normally run, one `certbot certonly` process after another, with a manual
 *   DNS hook that publishes the TXT value in challtestsrv (what a DNS plugin would do at a provider)
 *   and a cleanup hook that removes it. Its account is registered before the clock starts.
 *
 * Prints both times, certificates per second and the ratio (the goal is at least 20 times certbot).
 *
 *   npm run bench:vs-certbot              # N = 100
 *   npm run bench:vs-certbot -- 1000      # other N (certbot takes about a second per certificate)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { certificateWorkflowId, type LifecycleResult } from '../temporal/contract';
import { addCloudflareProvider, addPebbleDirectory, apiCall, createApiToken } from '../test/support/console-actions';
import { startStack, type Stack } from '../test/support/stack';
import { runBenchmark } from './stats';

const run = promisify(execFile);
const CERTBOT = process.env['CERTBOT_PATH'] ?? '/usr/bin/certbot';

/** Issues n certificates through CertFleet's API at once; returns seconds from the first create to the last issued. */
async function certfleetIssues(stack: Stack, n: number): Promise<number> {
  const admin = await stack.admin();
  const directoryId = await addPebbleDirectory(admin, stack);
  const providerId = await addCloudflareProvider(admin, stack, 'Bench CF');
  const token = await createApiToken(admin, 'bench');
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    const client = new Client({ connection });
    const started = performance.now();
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) {
          const i = next++;
          const { json } = await apiCall<{ id: string }>(stack.web.url, token, 'POST', '/api/v1/certificates', {
            commonName: `cf-${i}.example.test`,
            dnsProviderId: providerId,
            acmeDirectoryId: directoryId,
          });
          ids[i] = String(json.id);
        }
      }),
    );
    const results = await Promise.all(
      ids.map((id) => client.workflow.getHandle(certificateWorkflowId(id)).result() as Promise<LifecycleResult>),
    );
    const seconds = (performance.now() - started) / 1000;
    const failed = results.filter((r) => r.outcome !== 'issued');
    if (failed.length)
      throw new Error(`${failed.length} CertFleet issuances failed, e.g. ${JSON.stringify(failed[0])}`);
    return seconds;
  } finally {
    await connection.close();
  }
}

/** Issues n certificates with certbot, one process after another; returns seconds for all of them. */
async function certbotIssues(stack: Stack, n: number): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-certbot-'));
  try {
    const caFile = path.join(dir, 'pebble-ca.pem');
    await writeFile(caFile, stack.pebble.caBundlePem);
    // The hooks get CERTBOT_DOMAIN and CERTBOT_VALIDATION from certbot.
    const hook = (endpoint: string, body: string): string =>
      `fetch(${JSON.stringify(`${stack.pebble.challtestsrvUrl}/${endpoint}`)}, { method: 'POST', body: JSON.stringify(${body}) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));\n`;
    const authHook = path.join(dir, 'auth-hook.js');
    const cleanupHook = path.join(dir, 'cleanup-hook.js');
    await writeFile(
      authHook,
      hook(
        'set-txt',
        '{ host: `_acme-challenge.${process.env.CERTBOT_DOMAIN}.`, value: process.env.CERTBOT_VALIDATION }',
      ),
    );
    await writeFile(cleanupHook, hook('clear-txt', '{ host: `_acme-challenge.${process.env.CERTBOT_DOMAIN}.` }'));
    const common = [
      '--non-interactive',
      '--server',
      stack.pebble.directoryUrl,
      '--config-dir',
      path.join(dir, 'config'),
      '--work-dir',
      path.join(dir, 'work'),
      '--logs-dir',
      path.join(dir, 'logs'),
    ];
    const env = { ...process.env, REQUESTS_CA_BUNDLE: caFile };
    await run(CERTBOT, ['register', ...common, '--agree-tos', '--register-unsafely-without-email'], { env });
    const certonly = (name: string): string[] => [
      'certonly',
      ...common,
      '--manual',
      '--preferred-challenges',
      'dns',
      '--manual-auth-hook',
      `${process.execPath} ${authHook}`,
      '--manual-cleanup-hook',
      `${process.execPath} ${cleanupHook}`,
      '--key-type',
      'ecdsa',
      '-d',
      name,
    ];
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      try {
        await run(CERTBOT, certonly(`cb-${i}.example.test`), { env });
      } catch (error) {
        const { stderr } = error as { stderr?: string };
        throw new Error(`certbot failed on certificate ${i}: ${stderr ?? String(error)}`);
      }
      if ((i + 1) % 25 === 0) process.stderr.write(`[certbot] ${i + 1} of ${n}\n`);
    }
    return (performance.now() - started) / 1000;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100);
  if (!Number.isInteger(n) || n < 1) throw new Error('usage: bench/vs-certbot.ts [N]');
  const { stdout: version } = await run(CERTBOT, ['--version']).catch(() => {
    throw new Error(`certbot not found at ${CERTBOT}: apt-get install certbot (or set CERTBOT_PATH)`);
  });
  const stack = await startStack({
    authzReusePercent: 0,
    env: {
      WORKER_MAX_CONCURRENT_ACTIVITIES: '200',
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '100',
      WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '200',
    },
  });
  try {
    await stack.startWorker();
    const certfleet = await certfleetIssues(stack, n);
    process.stderr.write(`[certfleet] ${n} issued in ${certfleet.toFixed(1)} s; now certbot\n`);
    const certbot = await certbotIssues(stack, n);
    console.log(
      `# bench/vs-certbot.ts — ${new Date().toISOString()}, ${os.cpus().length} CPUs, ${version.trim()}, N = ${n}\n`,
    );
    console.log('| | time for N | per second | per certificate |');
    console.log('|---|---|---|---|');
    console.log(
      `| CertFleet (API → Temporal → DNS-01 → ACME → stored → email) | ${certfleet.toFixed(1)} s | ${(n / certfleet).toFixed(2)} | ${((certfleet / n) * 1000).toFixed(0)} ms |`,
    );
    console.log(
      `| certbot certonly, one process after another | ${certbot.toFixed(1)} s | ${(n / certbot).toFixed(2)} | ${((certbot / n) * 1000).toFixed(0)} ms |`,
    );
    console.log(`\nCertFleet is ${(certbot / certfleet).toFixed(1)} times as fast as certbot (goal: at least 20).`);
  } finally {
    await stack.stop();
  }
}

runBenchmark(main);
