/**
 * F5 BIG-IP deployer against the fake BIG-IP: HA config-sync followed until "In Sync", the account's
 * role checked in preflight and before any change, the fake's role enforcement, and two client-ssl
 * profiles in one deployment (issue 13 items 4, 7).
 *
 *   npx tsx --test test/unit/deployer-f5-bigip-ha-roles.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBigipDeployer, createBigipDeployerWith } from '../../activities/deployers/f5-bigip/index';
import type {
  Activation,
  ActivationStatus,
  CertificateMaterial,
  Deployer,
  DeployerContext,
  DeployerFactory,
} from '../../activities/deployers/types';
import { expectedChainOf, verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { startFakeBigip, type FakeBigip, type FakeBigipOptions } from '../fakes/f5-bigip/server';
import { assertCheck, rejection } from '../support/assertions';
import {
  assertBigipRefuses,
  assertProfilesBoundTo,
  bigipContext,
  BIGIP_PROFILES as PROFILES,
  withBigipClient,
} from '../support/bigip-context';
import { createTestCa } from '../support/certificates';
import { suiteTestCa } from '../support/suite-ca';
import { closing } from '../support/closing';

const GROUP = 'certfleet-sync';
/** Short sync timings for tests (production: 60 s timeout, 3 s polls); 3 s leaves room for a loaded machine. */
const quick = createBigipDeployerWith({ syncTimeoutMs: 3_000, syncPollMs: 20 });

const contextFor = (fake: FakeBigip, options: Record<string, unknown> = { partition: 'Common' }): DeployerContext =>
  bigipContext(fake, { options });
const withSync = (fake: FakeBigip): DeployerContext => contextFor(fake, { partition: 'Common', syncGroup: GROUP });

const use = <T>(
  ctx: DeployerContext,
  work: (d: Deployer) => Promise<T>,
  factory: DeployerFactory = quick,
): Promise<T> => closing(factory(ctx), work);

const failureOf = (promise: Promise<unknown>): Promise<ClassifiedError> => rejection(promise, ClassifiedError);

/** What the deploy workflow does with an activation job: poll activationStatus (each time a new deployer) until it is not pending. */
async function follow(
  ctx: DeployerContext,
  activation: Activation,
): Promise<{ final: ActivationStatus; pending: number }> {
  assert.ok(activation.jobId, 'a config-sync job was returned');
  let pending = 0;
  for (let i = 0; i < 200; i++) {
    const status = await use(ctx, (d) => d.activationStatus(activation.jobId ?? ''));
    if (status.state !== 'pending') return { final: status, pending };
    pending += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('the sync job never left pending');
}

describe('f5-bigip: HA config-sync waits for "In Sync"', () => {
  let fake: FakeBigip;
  const ca = suiteTestCa();
  let v1: CertificateMaterial;
  let v2: CertificateMaterial;
  before(async () => {
    v1 = ca.issue('ha.example.test', 'rsa-2048');
    v2 = ca.issue('ha.example.test', 'ecdsa-p256');
    fake = await startFakeBigip({ profiles: PROFILES, syncPollsToInSync: 3 });
  });
  after(async () => {
    await fake?.close();
  });
  /** Runs `work` with the device group in `behaviour`, and puts it back to syncing whatever happens. */
  const whileSync = async (behaviour: Parameters<FakeBigip['setSyncBehaviour']>[0], work: () => Promise<void>) => {
    fake.setSyncBehaviour(behaviour);
    try {
      await work();
    } finally {
      fake.setSyncBehaviour('syncs');
    }
  };

  it('activate syncs the group and the job stays pending until the group reports In Sync', async () => {
    const ctx = withSync(fake);
    const staged = await use(ctx, (d) => d.stage(v1));
    assert.equal(fake.syncStatus(), 'Changes Pending', 'the import left the group with changes to sync');
    const from = fake.calls.length;
    const activation = await use(ctx, (d) => d.activate(staged));
    assert.match(activation.jobId ?? '', /^config-sync:certfleet-sync:\d+$/);
    assert.deepEqual(fake.configSyncs(), [GROUP]);
    const { final, pending } = await follow(ctx, activation);
    assert.deepEqual(final, { state: 'done' });
    assert.ok(pending >= 2, `pending while "Not All Devices Synced" (${pending} polls)`);
    assert.equal(fake.syncStatus(), 'In Sync');
    const reads = fake.calls.slice(from).filter((c) => c.method === 'GET' && c.path === '/mgmt/tm/cm/sync-status');
    assert.equal(reads.length, pending + 1, 'one sync-status read per poll');
    const uploads = fake.calls.slice(from).filter((c) => c.path.startsWith('/mgmt/shared/file-transfer/'));
    assert.deepEqual(uploads, [], 'activate and its job imported nothing');
    await verifyServedFingerprint('f5-bigip', fake.endpoints, v1.fingerprintSha256);
  });

  it('a group that stays "Changes Pending" fails the job after the timeout, quoting the status and its details', async () => {
    const ctx = withSync(fake);
    const staged = await use(ctx, (d) => d.stage(v2));
    await whileSync('changes-pending', async () => {
      const activation = await use(ctx, (d) => d.activate(staged));
      const { final, pending } = await follow(ctx, activation);
      assert.ok(pending >= 1, 'Changes Pending may settle: polled until the deadline');
      assert.equal(final.state, 'failed');
      const detail = final.state === 'failed' ? final.detail : '';
      assert.match(
        detail,
        /^f5-bigip: config-sync to certfleet-sync did not reach "In Sync" within 3 s: device group certfleet-sync is Changes Pending \(yellow\): /,
      );
      assert.match(detail, /Recommended action: Synchronize bigip1\.certfleet\.test to group certfleet-sync/);
      // A retried activate binds the same objects again: no import, the same binding.
      const from = fake.calls.length;
      const again = await use(ctx, (d) => d.activate(staged));
      assert.ok(again.jobId);
      assert.deepEqual(
        fake.calls
          .slice(from)
          .filter((c) => c.path.startsWith('/mgmt/shared/file-transfer/') || c.path.startsWith('/mgmt/tm/sys/crypto/')),
        [],
      );
    });
  });

  it('a disconnected peer fails the job at once (waiting will not fix it); rollback is a sync job too', async () => {
    const ctx = withSync(fake);
    const staged1 = await use(ctx, (d) => d.stage(v1));
    const staged2 = await use(ctx, (d) => d.stage(v2));
    assert.equal((await follow(ctx, await use(ctx, (d) => d.activate(staged1)))).final.state, 'done');
    await whileSync('disconnected', async () => {
      const activation = await use(ctx, (d) => d.activate(staged2));
      const { final, pending } = await follow(ctx, activation);
      assert.equal(pending, 0, 'no waiting on Disconnected');
      assert.equal(final.state, 'failed');
      assert.match(
        final.state === 'failed' ? final.detail : '',
        /^f5-bigip: config-sync to certfleet-sync: device group certfleet-sync is Disconnected \(red\): .*bigip2\.certfleet\.test: disconnected.*resolve the communication problem/,
      );
      fake.setSyncBehaviour('syncs');
      const back = await use(ctx, (d) => d.rollback(activation.previous));
      assert.match(back.jobId ?? '', /^config-sync:certfleet-sync:/);
      assert.deepEqual((await follow(ctx, back)).final, { state: 'done' });
      await verifyServedFingerprint('f5-bigip', fake.endpoints, v1.fingerprintSha256);
    });
  });

  it('removeSuperseded syncs and waits itself; a disconnected peer fails it (TARGET_COMMIT_FAILED)', async () => {
    const ctx = withSync(fake);
    const staged1 = await use(ctx, (d) => d.stage(v1));
    const staged2 = await use(ctx, (d) => d.stage(v2));
    await follow(ctx, await use(ctx, (d) => d.activate(staged2)));
    const syncs = fake.configSyncs().length;
    const removed = await use(ctx, (d) => d.removeSuperseded([staged2], [staged1]));
    assert.ok(removed.length >= 2, removed.join(', '));
    assert.equal(fake.configSyncs().length, syncs + 1);
    assert.equal(fake.syncStatus(), 'In Sync', 'waited until In Sync');

    const v3 = ca.issue('ha.example.test', 'rsa-2048');
    const staged3 = await use(ctx, (d) => d.stage(v3));
    await whileSync('disconnected', async () => {
      const error = await failureOf(use(ctx, (d) => d.removeSuperseded([staged2], [staged3])));
      assert.equal(error.type, FailureType.commitFailed);
      assert.match(error.message, /Disconnected/);
    });
  });

  it('preflight reports the device group and its sync status', async () => {
    const ctx = withSync(fake);
    await use(ctx, (d) => d.stage(ca.issue('pending.example.test', 'ecdsa-p256')));
    const pendingReport = await use(ctx, (d) => d.preflight());
    const pendingCheck = pendingReport.checks.find((c) => c.name === 'sync status');
    assert.equal(pendingCheck?.ok, false);
    assert.match(
      pendingCheck?.detail ?? '',
      /^device group certfleet-sync is Changes Pending \(yellow\): .*a deploy pushes this device's whole configuration to the group/,
    );
    // A deploy syncs the group; preflight then reports it in sync.
    await follow(ctx, await use(ctx, (d) => d.activate({ cert: '/Common/default.crt', key: '/Common/default.key' })));
    const report = await use(ctx, (d) => d.preflight());
    assertCheck(
      report,
      'sync status',
      true,
      'device group certfleet-sync is In Sync (green): All devices in the device group are in sync; bigip1.certfleet.test: connected; bigip2.certfleet.test: connected; certfleet-sync (In Sync): All devices in the device group are in sync',
    );
    assert.ok(report.changes.includes('device group certfleet-sync: config-sync from this device'));
  });
});

describe('f5-bigip: the account role', () => {
  const ca = suiteTestCa();
  let v1: CertificateMaterial;
  const fakes: FakeBigip[] = [];
  const start = async (opts: FakeBigipOptions): Promise<FakeBigip> => {
    const fake = await startFakeBigip({ profiles: PROFILES, ...opts });
    fakes.push(fake);
    return fake;
  };
  before(() => {
    v1 = ca.issue('role.example.test', 'rsa-2048');
  });
  after(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('an Administrator passes the role check', async () => {
    const fake = await start({});
    const report = await use(contextFor(fake), (d) => d.preflight(), createBigipDeployer);
    assertCheck(
      report,
      'account role',
      true,
      'required: Administrator (admin) on all partitions; user "certfleet" has Administrator (admin) on all partitions',
    );
  });

  it('a Certificate Manager fails preflight with a clear role check, and a deploy is refused before it changes anything', async () => {
    const fake = await start({ partitionAccess: [{ name: 'Common', role: 'certificate-manager' }] });
    const ctx = contextFor(fake);
    const report = await use(ctx, (d) => d.preflight());
    assertCheck(
      report,
      'account role',
      false,
      'required: Administrator (admin) on all partitions; user "certfleet" has Certificate Manager (certificate-manager) on partition Common',
    );
    assert.ok(
      report.checks.filter((c) => c.name !== 'account role').every((c) => c.ok),
      'everything else it may read',
    );

    const before = fake.mutatingCalls();
    const objects = fake.certificateObjects().length;
    const error = await failureOf(use(ctx, (d) => d.stage(v1)));
    assert.equal(error.type, FailureType.targetPermission);
    assert.equal(
      error.message,
      'f5-bigip: the BIG-IP account\'s role is not enough (required: Administrator (admin) on all partitions; user "certfleet" has Certificate Manager (certificate-manager) on partition Common). Nothing was changed on the device. Give the user the Administrator role.',
    );
    const activateError = await failureOf(
      use(ctx, (d) => d.activate({ cert: '/Common/default.crt', key: '/Common/default.key' })),
    );
    assert.equal(activateError.type, FailureType.targetPermission);
    assert.equal(fake.mutatingCalls(), before, 'refused early: no upload, no install, no bind');
    assert.equal(fake.certificateObjects().length, objects);
    assert.ok(!error.message.includes(fake.password));
  });

  it('the fake enforces the roles: a Certificate Manager may import in its partition, but not bind, save, sync or rm', async () => {
    const fake = await start({ partitionAccess: [{ name: 'Common', role: 'certificate-manager' }] });
    const refused = async (call: Promise<unknown>, resource: string, verb: string): Promise<void> => {
      await assertBigipRefuses(
        call,
        401,
        `Authorization failed: user=https://localhost/mgmt/shared/authz/users/certfleet resource=${resource} verb=${verb} uri:http://localhost:8100${resource} referrer:127.0.0.1 sender:127.0.0.1`,
      );
    };
    await withBigipClient(fake, async (client) => {
      assert.deepEqual(await client.userPartitionAccess('certfleet'), [
        { partition: 'Common', role: 'certificate-manager' },
      ]);
      await refused(client.userPartitionAccess('admin'), '/mgmt/tm/auth/user/admin', 'GET');
      const pem = Buffer.from(v1.certPem);
      await client.uploadChunk('leaf.crt', pem, 0, pem.length);
      await client.installCert('/Common/role_leaf.crt', '/var/config/rest/downloads/leaf.crt');
      assert.ok(await client.getCert('/Common/role_leaf.crt'), 'installed in its partition');
      await refused(
        client.installCert('/Tenant/role_leaf.crt', '/var/config/rest/downloads/leaf.crt'),
        '/mgmt/tm/sys/crypto/cert',
        'POST',
      );
      const path = '/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl-web';
      await refused(
        client.patchClientSslProfile('/Common/clientssl-web', {
          certKeyChain: [{ name: 'x', cert: '/Common/default.crt', key: '/Common/default.key' }],
        }),
        path,
        'PATCH',
      );
      const transId = await client.createTransaction();
      await refused(
        client.patchClientSslProfile('/Common/clientssl-web', { chain: '/Common/role_leaf.crt' }, transId),
        path,
        'PATCH',
      );
      await refused(client.saveConfig(), '/mgmt/tm/sys/config', 'POST');
      await refused(client.configSyncToGroup(GROUP), '/mgmt/tm/cm', 'POST');
      await refused(client.removeUploadedFile('/var/config/rest/downloads/leaf.crt'), '/mgmt/tm/util/unix-rm', 'POST');
      assert.equal(await client.deleteCert('/Common/role_leaf.crt'), true, 'it may delete its certificates');
    });
  });

  it('Guest and Operator may read but not upload; No Access may not even read', async () => {
    for (const role of ['guest', 'operator']) {
      const fake = await start({ partitionAccess: [{ name: 'all-partitions', role }] });
      const report = await use(contextFor(fake), (d) => d.preflight());
      assert.match(
        report.checks.find((c) => c.name === 'account role')?.detail ?? '',
        new RegExp(`has ${role === 'guest' ? 'Guest' : 'Operator'} \\(${role}\\) on all partitions$`),
      );
      const error = await failureOf(use(contextFor(fake), (d) => d.stage(v1)));
      assert.equal(error.type, FailureType.targetPermission, role);
      assert.equal(fake.mutatingCalls(), 0, role);
    }
    const none = await start({ partitionAccess: [{ name: 'all-partitions', role: 'no-access' }] });
    const error = await failureOf(use(contextFor(none), (d) => d.preflight()));
    assert.equal(error.type, FailureType.targetPermission);
    assert.match(
      error.message,
      /Authorization failed: user=https:\/\/localhost\/mgmt\/shared\/authz\/users\/certfleet resource=\/mgmt\/tm\/sys\/version verb=GET.*needs the Administrator role/,
    );
  });

  it('a user whose role cannot be read (no local user: remote auth) fails the preflight check but the device decides each call', async () => {
    const fake = await start({ partitionAccess: [{ name: 'Common', role: 'certificate-manager' }] });
    const ctx = contextFor(fake);
    fake.failNext(/\/mgmt\/tm\/auth\/user\//, {
      status: 404,
      times: 10,
      body: {
        code: 404,
        message: '01020036:3: The requested user (certfleet) was not found.',
        errorStack: [],
        apiError: 3,
      },
    });
    try {
      const report = await use(ctx, (d) => d.preflight());
      const check = report.checks.find((c) => c.name === 'account role');
      assert.equal(check?.ok, false);
      assert.match(
        check?.detail ?? '',
        /^required: Administrator \(admin\) on all partitions; user "certfleet" is not a local BIG-IP user \(a remote LDAP\/RADIUS\/TACACS\+ user\?\)/,
      );
      const staged = await use(ctx, (d) => d.stage(v1));
      const error = await failureOf(use(ctx, (d) => d.activate(staged)));
      assert.equal(error.type, FailureType.targetPermission);
      assert.match(
        error.message,
        /PATCH \/mgmt\/tm\/ltm\/profile\/client-ssl\/~Common~clientssl-(web|api) answered HTTP 401: Authorization failed: .*needs the Administrator role/,
      );
    } finally {
      fake.clearFailures();
    }
  });

  it('a refused read of its own user object means the account is not an Administrator', async () => {
    const fake = await start({});
    fake.failNext(/\/mgmt\/tm\/auth\/user\//, {
      status: 401,
      times: 2,
      body: {
        code: 401,
        message:
          'Authorization failed: user=https://localhost/mgmt/shared/authz/users/certfleet resource=/mgmt/tm/auth/user/certfleet verb=GET',
        errorStack: [],
      },
    });
    try {
      const report = await use(contextFor(fake), (d) => d.preflight());
      assert.match(
        report.checks.find((c) => c.name === 'account role')?.detail ?? '',
        /may not even read its own user object \(HTTP 401\), so it is not an Administrator$/,
      );
      const error = await failureOf(use(contextFor(fake), (d) => d.stage(v1)));
      assert.equal(error.type, FailureType.targetPermission);
      assert.equal(fake.mutatingCalls(), 0);
    } finally {
      fake.clearFailures();
    }
  });
});

describe('f5-bigip: two client-ssl profiles in one deployment', () => {
  it('both profiles are bound in one transaction and each serves exactly the bound certificate and chain', async () => {
    const ca = createTestCa();
    const fake = await startFakeBigip({ profiles: PROFILES });
    try {
      const v1 = ca.issue('two.example.test', 'ecdsa-p256');
      const ctx = contextFor(fake);
      const staged = await use(ctx, (d) => d.stage(v1));
      const from = fake.calls.length;
      const activation = await use(ctx, (d) => d.activate(staged));
      assert.equal(activation.jobId, undefined, 'no device group: nothing to follow');
      const calls = fake.calls.slice(from);
      const queued = calls.filter((c) => c.transId !== undefined);
      assert.deepEqual(queued.map((c) => c.path).sort(), [
        '/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl-api',
        '/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl-web',
      ]);
      assert.equal(new Set(queued.map((c) => c.transId)).size, 1, 'one transaction');
      assert.equal(
        calls.filter((c) => c.method === 'PATCH' && /^\/mgmt\/tm\/transaction\/\d+$/.test(c.path)).length,
        1,
        'one commit',
      );
      assertProfilesBoundTo(fake, staged);
      const seen = await verifyServedFingerprint(
        'f5-bigip',
        fake.endpoints,
        expectedChainOf(v1.fingerprintSha256, v1.chainPems),
      );
      assert.equal(seen.length, 2);
      for (const line of seen) assert.ok(line.endsWith(`${v1.fingerprintSha256} + 1 intermediate(s)`), line);
      assert.deepEqual(activation.previous, {
        '/Common/clientssl-web#name': 'default',
        '/Common/clientssl-web#cert': '/Common/default.crt',
        '/Common/clientssl-web#key': '/Common/default.key',
        '/Common/clientssl-api#name': 'default',
        '/Common/clientssl-api#cert': '/Common/default.crt',
        '/Common/clientssl-api#key': '/Common/default.key',
      });
    } finally {
      await fake.close();
      ca.dispose();
    }
  });
});
