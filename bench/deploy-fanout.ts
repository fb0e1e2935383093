/**
 * bench/deploy-fanout.ts — one certificate renewed and deployed to 1, 10 and 50 fake appliances
 * (FortiGate, PAN-OS and F5 in turn) on the real stack. Prints, per fan-out: the total time
 * (Renew now → run complete), the deploy phase, the median time of one target's deploy, and the
 * overhead per target (how much each extra target adds to the deploy phase).
 *
 *   npm run bench:deploy-fanout              # 1, 10, 50
 *   npm run bench:deploy-fanout -- 1 5 20    # other sizes
 */
import { Connection } from '@temporalio/client';
import { benchConsole } from './console-setup';
import { median, ms, runBenchmark, sizesFromArgs } from './stats';
import { certificateWorkflowId, type LifecycleResult } from '../temporal/contract';
import { startFakeBigip, type FakeBigip } from '../test/fakes/f5-bigip/server';
import { startFakeFortiGate, type FakeFortiGate } from '../test/fakes/fortigate/server';
import { startFakePanos, type FakePanos } from '../test/fakes/panos/server';
import {
  addTarget,
  linkDeployment,
  renewNow,
  requestCertificate,
  waitForRunToEnd,
} from '../test/support/console-actions';
import type { ConsoleClient } from '../test/support/console-client';
import { startStack, type Stack } from '../test/support/stack';

type Fake = FakeFortiGate | FakePanos | FakeBigip;

async function linkFake(admin: ConsoleClient, certificateId: string, index: number, fakes: Fake[]): Promise<void> {
  const name = `bench-${certificateId}-${index}`;
  if (index % 3 === 0) {
    const token = `fgt-bench-token-${index}`;
    const fake = await startFakeFortiGate({ token });
    fakes.push(fake);
    const id = await addTarget(admin, {
      vendor: 'fortigate',
      name,
      host: fake.host,
      port: fake.port,
      fingerprint: fake.managementFingerprint(),
      credentials: { token },
      options: { sslVpnPort: String(fake.endpoints.sslVpn?.port ?? 0) },
    });
    await linkDeployment(admin, certificateId, id, { sslVpn: 'on' }, []);
    return;
  }
  // PAN-OS and F5 alike: a username/password login, one TLS profile to bind.
  const { vendor, profile, fake } =
    index % 3 === 1
      ? { vendor: 'panos', profile: 'gp-portal', fake: await startFakePanos({ profiles: [{ name: 'gp-portal' }] }) }
      : { vendor: 'f5-bigip', profile: 'clientssl-web', fake: await startFakeBigip({ profiles: ['clientssl-web'] }) };
  fakes.push(fake);
  const id = await addTarget(admin, {
    vendor,
    name,
    host: fake.host,
    port: fake.port,
    fingerprint: fake.managementFingerprint,
    credentials: { username: fake.username, password: fake.password },
  });
  await linkDeployment(admin, certificateId, id, { profiles: profile }, fake.endpoints);
}

async function main(): Promise<void> {
  const fanouts = sizesFromArgs([1, 10, 50]);
  const stack: Stack = await startStack({
    authzReusePercent: 0,
    env: { DEPLOY_COMMIT_POLL_MS: '100', WORKER_MAX_CONCURRENT_ACTIVITIES: '100' },
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const fakes: Fake[] = [];
  try {
    const { client, admin, directoryId, providerId } = await benchConsole(stack, connection);
    const rows: string[] = [];
    const phases = new Map<number, number>();
    for (const n of fanouts) {
      const id = await requestCertificate(admin, {
        commonName: `fanout-${n}.example.test`,
        dnsProviderId: providerId,
        acmeDirectoryId: directoryId,
      });
      await waitForRunToEnd(admin, id);
      for (let i = 0; i < n; i++) await linkFake(admin, id, i, fakes);
      const started = Date.now();
      await renewNow(admin, id);
      const handle = client.workflow.getHandle(certificateWorkflowId(id));
      const result = (await handle.result()) as LifecycleResult;
      const total = Date.now() - started;
      const deployed = result.deployments?.filter((d) => d.outcome === 'deployed').length ?? 0;
      if (result.outcome !== 'issued' || deployed !== n)
        throw new Error(`fan-out ${n}: ${result.outcome}, ${deployed} deployed: ${result.reason ?? ''}`);
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const firstChild = events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
      const lastChild = [...events].reverse().find((e) => e.childWorkflowExecutionCompletedEventAttributes);
      const phase = ms(lastChild?.eventTime) - ms(firstChild?.eventTime);
      phases.set(n, phase);
      const perTarget = await stack.db.db.query<{ ms: number }>(
        `SELECT EXTRACT(EPOCH FROM (r.ended_at - r.started_at)) * 1000 AS ms FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id
          WHERE d.certificate_id = $1 AND r.trigger = 'lifecycle' AND r.outcome = 'deployed'`,
        [id],
      );
      const one = median(perTarget.map((r) => Number(r.ms)));
      const base = phases.get(fanouts[0] as number) ?? phase;
      const overhead = n > (fanouts[0] as number) ? (phase - base) / (n - (fanouts[0] as number)) : 0;
      rows.push(
        `  ${String(n).padStart(3)} targets: total ${String(total).padStart(6)} ms, deploy phase ${String(phase).padStart(6)} ms, one target's deploy (median) ${String(Math.round(one)).padStart(5)} ms, overhead per extra target ${n > (fanouts[0] as number) ? `${Math.round(overhead)} ms` : '—'}`,
      );
      console.log(rows.at(-1));
    }
    console.log(
      `\ndeploy-fanout: one renewal deployed to N fake appliances (FortiGate, PAN-OS, F5 in turn), real stack, Pebble`,
    );
    for (const row of rows) console.log(row);
  } finally {
    await connection.close();
    await Promise.all(fakes.map((f) => f.close().catch(() => undefined)));
    await stack.stop();
  }
}

runBenchmark(main);
