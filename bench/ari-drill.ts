/**
 * bench/ari-drill.ts — the mass-revocation drill at fleet size (issue 15 item 2): N certificates (200 by
 * default) issued on Pebble 2.10.3 and deployed to a fake F5 BIG-IP (one client-ssl profile and TLS
 * listener each); Pebble then moves every certificate's ARI window into the past, and only the renewal
 * schedules act. Prints the time from the windows moved to every certificate renewed, redeployed and
 * verified by a TLS handshake, its spread, the orders placed (with `replaces`) and the orders the CA refused.
 *
 *   npm run bench:ari-drill                 # N = 200
 *   npm run bench:ari-drill -- 50           # another size
 *
 * The schedules check every ARI_DRILL_CHECK_SECONDS (default 30, jitter 10) and ARI is polled at most
 * every ARI_DRILL_POLL_SECONDS (default 30) instead of hourly, so the drill takes minutes: the figure
 * to read is the time after detection, and detection itself is at most check + poll interval.
 */
import { median, runBenchmark, sizesFromArgs } from './stats';
import { drillEnv, runAriDrill } from '../test/support/ari-drill';
import { createFleet } from '../test/support/fleet';
import { startStack } from '../test/support/stack';

const seconds = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

runBenchmark(async () => {
  const [n = 200] = sizesFromArgs([200]);
  const timing = {
    checkIntervalSeconds: seconds('ARI_DRILL_CHECK_SECONDS', 30),
    checkJitterSeconds: seconds('ARI_DRILL_JITTER_SECONDS', 10),
    pollMaxSeconds: seconds('ARI_DRILL_POLL_SECONDS', 30),
  };
  const stack = await startStack({
    webProcess: true,
    env: {
      ...drillEnv(timing),
      WORKER_MAX_CONCURRENT_ACTIVITIES: '200',
      DEPLOY_DEVICE_RETRY_INITIAL_MS: '200',
      LOG_LEVEL: 'warn',
    },
  });
  try {
    await stack.startWorker();
    const setupStarted = performance.now();
    const fleet = await createFleet(stack, n);
    process.stderr.write(
      `[ari-drill ${n}] issued and deployed once in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s; moving every window into the past\n`,
    );
    try {
      const f = await runAriDrill(stack, fleet, 30 * 60_000);
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      const p95 = f.redeployedMs[Math.max(0, Math.ceil(0.95 * f.redeployedMs.length) - 1)] ?? Number.NaN;
      console.log(`ARI mass-revocation drill, N = ${f.n} (Pebble 2.10.3, fake F5 BIG-IP, one worker)`);
      console.log(
        `  schedules: every ${timing.checkIntervalSeconds} s (jitter ${timing.checkJitterSeconds} s); ARI polled at most every ${timing.pollMaxSeconds} s`,
      );
      console.log(
        `  windows moved -> all renewed and redeployed: ${s(f.allRedeployedMs)} (${f.redeployed}/${f.n} redeployed)`,
      );
      console.log(
        `  per certificate: first ${s(f.redeployedMs[0] ?? Number.NaN)}, median ${s(median(f.redeployedMs))}, p95 ${s(p95)}`,
      );
      console.log(`  orders placed: ${f.orders} (${f.ordersWithReplaces} with replaces)`);
      console.log(`  orders refused by the CA: ${f.refusedByCa} (failed runs: ${f.failedRuns})`);
    } finally {
      await fleet.close();
    }
  } finally {
    await stack.stop();
  }
});
