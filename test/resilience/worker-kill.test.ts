/**
 * kill -9 of workers at random moments during 50 renewals that each deploy to a fake F5 BIG-IP: every
 * run completes, every certificate gets exactly one new version from exactly one ACME order, and the
 * device receives each version exactly once (one certificate object, one successful deploy run).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { useFleetOnStack } from '../support/fleet-on-stack';
import type { ManagedProcess } from '../support/process';

const CERTIFICATES = 50;
const fleetOnStack = useFleetOnStack({
  certificates: CERTIFICATES,
  env: { WORKER_MAX_CONCURRENT_ACTIVITIES: '100', DEPLOY_DEVICE_RETRY_INITIAL_MS: '200' },
  workers: 2,
});

const alive = (w: ManagedProcess): boolean => w.child.exitCode === null && w.child.signalCode === null;

it('every renewal completes once and every version reaches the device exactly once, whatever is killed when', async () => {
  const { stack, fleet } = fleetOnStack();
  const renewing = fleet.renewAll();
  // Kill a random live worker every 1.5–4 s, five times, and replace it at once.
  const kills: string[] = [];
  for (let i = 0; i < 5; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1_500 + Math.random() * 2_500));
    if (i === 0) assert.ok(fleet.ended() < CERTIFICATES, 'the first kill hits runs in flight');
    const live = stack.workers.filter(alive);
    const victim = live[Math.floor(Math.random() * live.length)];
    if (!victim) break;
    victim.child.kill('SIGKILL');
    await victim.exited;
    kills.push(victim.name);
    await stack.startWorker();
  }
  const results = await renewing;
  assert.equal(kills.length, 5, 'five workers were killed mid-run');
  assert.deepEqual(
    results.map((r) => r.outcome).filter((o) => o !== 'issued'),
    [],
    'every run ended issued',
  );

  const versions = await stack.db.db.query<{ certificate_id: string; n: string; orders: string }>(
    `SELECT c.id AS certificate_id, count(DISTINCT v.id) AS n, count(DISTINCT o.id) AS orders
       FROM certificates c LEFT JOIN certificate_versions v ON v.certificate_id = c.id LEFT JOIN acme_orders o ON o.certificate_id = c.id
      GROUP BY c.id`,
  );
  for (const row of versions) {
    assert.equal(row.n, '2', `certificate ${row.certificate_id}: the first version and exactly one renewal`);
    assert.equal(row.orders, '2', `certificate ${row.certificate_id}: one ACME order per run`);
  }
  const deployed = await stack.db.db.query<{ deployment_id: string; version_id: string; n: string }>(
    "SELECT deployment_id, version_id, count(*) AS n FROM deployment_runs WHERE outcome = 'deployed' GROUP BY deployment_id, version_id",
  );
  assert.equal(deployed.length, CERTIFICATES * 2, 'each version deployed to its profile');
  assert.deepEqual(
    deployed.filter((d) => d.n !== '1'),
    [],
    'never deployed twice',
  );

  // The device received each version once: one successful install of its certificate and its key.
  const installs = new Map<string, number>();
  for (const call of fleet.bigip.calls) {
    const body = call.body as { command?: unknown; name?: unknown } | undefined;
    if (
      call.method === 'POST' &&
      /^\/mgmt\/tm\/sys\/crypto\/(cert|key)$/.test(call.path) &&
      call.status === 200 &&
      body?.command === 'install' &&
      typeof body.name === 'string' &&
      !body.name.includes('Intermediate')
    ) {
      installs.set(body.name, (installs.get(body.name) ?? 0) + 1);
    }
  }
  assert.equal(installs.size, CERTIFICATES * 2 * 2, 'a certificate and a key installed for every version');
  assert.deepEqual(
    [...installs].filter(([, n]) => n !== 1),
    [],
    'nothing installed twice',
  );

  // On the device: one certificate object per version, the current one served.
  const objects = fleet.bigip.certificateObjects().filter((o) => !o.endsWith('.key'));
  const serials = await stack.db.db.query<{
    certificate_id: string;
    serial_hex: string;
    fingerprint_sha256: string;
    current: boolean;
  }>(
    'SELECT v.certificate_id, v.serial_hex, v.fingerprint_sha256, v.id = c.current_version_id AS current FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id',
  );
  for (const v of serials) {
    const matching = objects.filter((o) => o.toLowerCase().includes(v.serial_hex.toLowerCase().slice(-12)));
    assert.equal(
      matching.length,
      1,
      `version ${v.serial_hex} of certificate ${v.certificate_id} is on the device once: ${matching.join(', ')}`,
    );
  }
  for (const c of fleet.certificates.slice(0, 10)) {
    const current = serials.find((v) => v.certificate_id === c.id && v.current);
    await verifyServedFingerprint('f5-bigip', [fleet.bigip.endpointFor(c.profile)], current?.fingerprint_sha256 ?? '');
  }
});
