/**
 * bench/hang.ts — issue 18's liveness figure: the time N healthy renewals (DNS-01 at the stack's
 * Pebble) take alone, and the time N others take while K certificates of a CA that accepts
 * connections and never answers (a second Pebble behind a hang proxy) run beside them. Goal: the
 * second at most 1.5 times the first. Breaker and timeouts as in the hang test (test/support/hang-stack.ts).
 *
 * With --device the same for deploys: N healthy deploys to one fake BIG-IP alone, then N others
 * while K deploys wait for a second fake BIG-IP behind the hang proxy (test/support/device-hang-stack.ts).
 *
 *   npm run bench:hang                # N = 20 healthy, K = 10 stuck
 *   npm run bench:hang -- 50 20       # N = 50, K = 20
 *   npm run bench:hang -- --device 8 3
 */
import { startDeviceHangStack } from '../test/support/device-hang-stack';
import { startHangStack } from '../test/support/hang-stack';
import { eventually } from '../test/support/stack';
import { runBenchmark } from './stats';

const [nArg, kArg] = process.argv.slice(2).filter((a) => /^\d+$/.test(a));
const N = Number(nArg ?? 20);
const K = Number(kArg ?? 10);
const s = (ms: number) => (ms / 1000).toFixed(1);

/** Healthy deploys alone, then beside K deploys to a device that hangs, then the K after recovery. */
async function deviceBench(): Promise<void> {
  const WARM = 2;
  const hang = await startDeviceHangStack({ healthy: WARM + 2 * N, hung: K });
  try {
    const notDeployed: string[] = [];
    const completed = async (deploys: Awaited<ReturnType<typeof hang.deploy>>) => {
      const outcomes = await Promise.all(deploys.map((d) => hang.outcome(d)));
      const failed = outcomes.filter((o) => o.outcome !== 'deployed');
      for (const o of failed)
        notDeployed.push(`deployment ${o.deploymentId} (${o.targetName}) ${o.outcome}: ${o.reason ?? ''}`);
      return outcomes.length - failed.length;
    };
    const [warm, alone, beside, stuck] = [
      await hang.issue('warm', WARM),
      await hang.issue('alone', N),
      await hang.issue('beside', N),
      await hang.issue('stuck', K),
    ];
    await completed(await hang.deploy(warm, 'healthy'));

    let started = Date.now();
    const aloneDone = await completed(await hang.deploy(alone, 'healthy'));
    const aloneMs = Date.now() - started;

    hang.proxy.hang();
    const waiting = await hang.deploy(stuck, 'hung');
    started = Date.now();
    const besideDone = await completed(await hang.deploy(beside, 'healthy'));
    const besideMs = Date.now() - started;

    // Recovery measured from an open breaker, as in an outage: the stuck deploys wait on timers.
    const key = `device:${hang.devices.hung.targetId}`;
    await eventually(
      'the hung device breaker opens',
      async () => {
        const rows = await hang.stack.db.db.query<{ state: string }>(
          'SELECT state FROM dependency_health WHERE key = $1',
          [key],
        );
        return rows[0] && rows[0].state !== 'closed' ? true : undefined;
      },
      120_000,
    );
    const openAfterMs = Date.now() - started;
    hang.proxy.forward();
    started = Date.now();
    const recovered = await completed(waiting);
    const recoveryMs = Date.now() - started;

    console.log(`\nbench:hang --device  N = ${N} healthy deploys (fake BIG-IP), K = ${K} to a device that hangs`);
    console.log(`  healthy alone:                 ${s(aloneMs)} s  (${aloneDone}/${N} deployed)`);
    console.log(`  healthy beside the hang:       ${s(besideMs)} s  (${besideDone}/${N} deployed)`);
    console.log(`  ratio:                         ${(besideMs / aloneMs).toFixed(2)}×  (goal ≤ 1.5×)`);
    console.log(`  breaker open after:            ${s(openAfterMs)} s  (from the start of the healthy deploys)`);
    console.log(`  stuck ones after recovery:     ${s(recoveryMs)} s  (${recovered}/${K} deployed)`);
    console.log(`  held connections at the device: ${hang.proxy.held}`);
    for (const line of notDeployed) console.log(`  not deployed: ${line}`);
  } finally {
    await hang.stop();
  }
}

runBenchmark(async () => {
  if (process.argv.includes('--device')) return deviceBench();
  const hang = await startHangStack();
  try {
    // Warm-up: accounts at both CAs, the provider's token check, the worker's first compilations.
    await hang.waitAll(await hang.request('warm', 2, hang.healthyDirectory), 180_000);
    await hang.waitAll(await hang.request('warm-silent', 1, hang.silentDirectory), 180_000);

    let started = Date.now();
    await hang.waitAll(await hang.request('alone', N, hang.healthyDirectory), 600_000);
    const aloneMs = Date.now() - started;

    hang.proxy.hang();
    const stuck = await hang.request('stuck', K, hang.silentDirectory);
    started = Date.now();
    const beside = await hang.waitAll(await hang.request('beside', N, hang.healthyDirectory), 600_000);
    const besideMs = Date.now() - started;
    const completed = beside.filter((f) => f.includes('run-COMPLETED')).length;

    hang.proxy.forward();
    started = Date.now();
    const recovered = await hang.waitAll(stuck, 600_000);
    const recoveryMs = Date.now() - started;

    console.log(`\nbench:hang  N = ${N} healthy renewals, K = ${K} at a CA that hangs`);
    console.log(`  healthy alone:                 ${s(aloneMs)} s`);
    console.log(`  healthy beside the hang:       ${s(besideMs)} s  (${completed}/${N} completed)`);
    console.log(`  ratio:                         ${(besideMs / aloneMs).toFixed(2)}×  (goal ≤ 1.5×)`);
    console.log(
      `  stuck ones after recovery:     ${s(recoveryMs)} s  (${recovered.filter((f) => f.includes('run-COMPLETED')).length}/${K} completed)`,
    );
    console.log(`  held connections at the CA:   ${hang.proxy.held}`);
    const notDone = await hang.stack.db.db.query<{ common_name: string; status: string; last_error: string | null }>(
      "SELECT common_name, status, last_error FROM certificates WHERE status <> 'valid' ORDER BY id",
    );
    for (const c of notDone) console.log(`  not valid: ${c.common_name} ${c.status}: ${c.last_error ?? ''}`);
  } finally {
    await hang.stop();
  }
});
