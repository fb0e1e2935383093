/**
 * bench/sonicwall-queue.ts — N concurrent renewals (1, 5, 20) deploying to ONE SonicWall, whose single
 * admin session the per-device coordinator hands out one deploy at a time. Prints the total time
 * against N, each deploy's own time, the wait in the queue, and the overhead per session (the gap
 * between one deploy giving the session back and the next one starting).
 *
 *   npm run bench:sonicwall-queue             # 1, 5, 20
 *   npm run bench:sonicwall-queue -- 1 10     # other sizes
 */
import { Connection } from '@temporalio/client';
import { benchConsole } from './console-setup';
import { certificateWorkflowId, type LifecycleResult } from '../temporal/contract';
import { startFakeSonicWall } from '../test/fakes/sonicwall/server';
import {
  addSonicWallTarget,
  linkDeployment,
  renewNow,
  requestCertificate,
  waitForRunToEnd,
} from '../test/support/console-actions';
import { startFtpServer } from '../test/support/ftp';
import { startStack } from '../test/support/stack';
import { median, runBenchmark, sizesFromArgs } from './stats';

async function main(): Promise<void> {
  const queues = sizesFromArgs([1, 5, 20]);
  const stack = await startStack({ authzReusePercent: 0, env: { DEVICE_BUSY_RETRY_MS: '300' } });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const ftp = await startFtpServer({ directories: ['certfleet'] });
  const sonicwall = await startFakeSonicWall({ users: { admin: 'bench-password' } });
  try {
    const { client, admin, directoryId, providerId } = await benchConsole(stack, connection);
    const targetId = await addSonicWallTarget(admin, 'SW bench', sonicwall, ftp, {
      admin: 'bench-password',
      ftp: ftp.password,
    });
    const rows: string[] = [];
    let round = 0;
    for (const n of queues) {
      round += 1;
      const ids: string[] = [];
      for (let i = 0; i < n; i++)
        ids.push(
          await requestCertificate(admin, {
            commonName: `q${round}-${i}.example.test`,
            dnsProviderId: providerId,
            acmeDirectoryId: directoryId,
          }),
        );
      for (const id of ids) await waitForRunToEnd(admin, id);
      for (const id of ids) await linkDeployment(admin, id, targetId, { sslVpn: 'on' }, [sonicwall.endpoints.sslVpn]);
      const started = Date.now();
      await Promise.all(ids.map((id) => renewNow(admin, id)));
      const results = await Promise.all(
        ids.map((id) => client.workflow.getHandle(certificateWorkflowId(id)).result() as Promise<LifecycleResult>),
      );
      const total = Date.now() - started;
      if (results.some((r) => r.outcome !== 'issued'))
        throw new Error(`queue ${n}: ${results.map((r) => r.outcome).join(', ')}`);
      // Each deploy's session window: its first and last step rows (stage … finish), in the order served.
      const windows = await stack.db.db.query<{ started: Date; ended: Date; queued: Date }>(
        `SELECT min(s.at) FILTER (WHERE s.step = 'stage') AS started, max(s.at) AS ended, r.started_at AS queued
           FROM deployment_run_steps s JOIN deployment_runs r ON r.id = s.run_id JOIN deployments d ON d.id = r.deployment_id
          WHERE d.certificate_id = ANY($1::bigint[]) AND r.trigger = 'lifecycle' GROUP BY r.id ORDER BY 1`,
        [ids],
      );
      const own = windows.map((w) => w.ended.getTime() - w.started.getTime());
      const waited = windows.map((w) => w.started.getTime() - w.queued.getTime());
      const gaps = windows.slice(1).map((w, i) => w.started.getTime() - (windows[i]?.ended.getTime() ?? 0));
      rows.push(
        `  ${String(n).padStart(3)} concurrent: total ${String(total).padStart(6)} ms, one deploy (median) ${String(Math.round(median(own))).padStart(5)} ms, ` +
          `queue wait (max) ${String(Math.max(...waited)).padStart(6)} ms, overhead per session (median handoff) ${gaps.length ? `${Math.round(median(gaps))} ms` : '—'}`,
      );
      console.log(rows.at(-1));
    }
    console.log(
      `\nsonicwall-queue: N renewals deploying to one SonicWall (one admin session), real stack, Pebble, FTP`,
    );
    for (const row of rows) console.log(row);
    console.log(
      `  sessions: max concurrent ${sonicwall.maxConcurrentSessions()}, refused logins ${sonicwall.refusedLogins()}`,
    );
  } finally {
    await connection.close();
    await sonicwall.close();
    await ftp.close();
    await stack.stop();
  }
}

runBenchmark(main);
