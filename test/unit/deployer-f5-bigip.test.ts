/**
 * F5 BIG-IP deployer against the fake BIG-IP (test/fakes/f5-bigip): the shared deployer contract plus
 * vendor cases (transactions vs the key/cert match check, chunked uploads, token hygiene and cap,
 * save, refused binds, stale serving, descriptor validation).
 *
 *   npx tsx --test test/unit/deployer-f5-bigip.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { buildPfx } from '../../activities/crypto/pem';
import { BigipClient } from '../../activities/deployers/f5-bigip/client';
import { bigipDescriptor } from '../../activities/deployers/f5-bigip/descriptor';
import { createBigipDeployer, createBigipDeployerWith } from '../../activities/deployers/f5-bigip/index';
import type { DeviceHttp } from '../../activities/deployers/device-http';
import type { CertificateMaterial, Deployer, DeployerContext, DeployerFactory } from '../../activities/deployers/types';
import { servedCertificate, verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { assertCheck, assertChecks, assertVerifyPortsOnHost, rejection } from '../support/assertions';
import {
  assertBigipRefuses,
  assertProfilesBoundTo,
  bigipContext,
  BIGIP_PROFILES,
  withBigipClient,
} from '../support/bigip-context';
import { suiteTestCa } from '../support/suite-ca';
import { closing } from '../support/closing';
import { runDeployerContract } from '../support/deployer-contract';
import { assertPinnedClientNeverResumes } from '../support/tls-handshakes';

const PROFILES = BIGIP_PROFILES;
const contextFor = bigipContext;

runDeployerContract({
  vendor: 'f5-bigip',
  create: createBigipDeployer,
  async setup() {
    const fake = await startFakeBigip({ profiles: PROFILES });
    const context = contextFor(fake);
    return {
      context,
      endpoints: fake.endpoints,
      fake: fake.view(),
      withWrongCredentials: () => contextFor(fake, { password: `${fake.password}-wrong` }),
      stop: () => fake.close(),
    };
  },
});

const failureOf = (promise: Promise<unknown>): Promise<ClassifiedError> => rejection(promise, ClassifiedError);

describe('f5-bigip vendor cases', () => {
  let fake: FakeBigip;
  const ca = suiteTestCa();
  let v1: CertificateMaterial;
  let v2: CertificateMaterial;
  let context: DeployerContext;
  const use = <T>(
    work: (d: Deployer) => Promise<T>,
    factory: DeployerFactory = createBigipDeployer,
    ctx: DeployerContext = context,
  ): Promise<T> => closing(factory(ctx), work);
  /** A logged-in iControl client that talks to the fake directly (as another admin would). */
  const direct = <T>(work: (client: BigipClient, http: DeviceHttp) => Promise<T>): Promise<T> =>
    withBigipClient(fake, work);
  const served = async (profile: string): Promise<string> =>
    (await servedCertificate(fake.endpointFor(profile))).fingerprintSha256;

  before(async () => {
    v1 = ca.issue('shop.example.test', 'rsa-2048');
    v2 = ca.issue('shop.example.test', 'ecdsa-p256');
    fake = await startFakeBigip({ profiles: PROFILES });
    context = contextFor(fake);
  });
  after(async () => {
    await fake?.close();
  });

  it('the fake refuses changing only the key outside a transaction; the deployer’s transaction succeeds', async () => {
    const staged1 = await use((d) => d.stage(v1));
    const staged2 = await use((d) => d.stage(v2));
    await use((d) => d.activate(staged1));
    const before = fake.bindings();

    await direct(async (client) => {
      // Legacy top-level key only: the profile's key no longer matches its certificate.
      const patch = client.patchClientSslProfile('/Common/clientssl-web', { key: staged2['key'] });
      await assertBigipRefuses(
        patch,
        400,
        "01070317:3: profile /Common/clientssl-web's key and certificate do not match",
      );
      // cert-key-chain naming the new key with the old certificate: same refusal.
      const mixed = client.patchClientSslProfile('/Common/clientssl-web', {
        certKeyChain: [{ name: 'x', cert: staged1['cert'] ?? '', key: staged2['key'] ?? '' }],
      });
      await assert.rejects(mixed, /01070317:3/);
      // Replacing the key file of an object a profile uses, in place (f5-ansible issues #1217, #2505).
      const upload = Buffer.from(v2.keyPem);
      await client.uploadChunk('replace.key', upload, 0, upload.length);
      await assert.rejects(
        client.updateKeySource(staged1['key'] ?? '', '/var/config/rest/downloads/replace.key'),
        /01070317:3/,
      );
      await client.removeUploadedFile('/var/config/rest/downloads/replace.key');
    });
    assert.deepEqual(fake.bindings(), before, 'the refused changes left the profiles as they were');
    assert.equal(await served('clientssl-web'), v1.fingerprintSha256);

    // The deployer changes key and certificate of both profiles together.
    await use((d) => d.activate(staged2));
    assertProfilesBoundTo(fake, staged2);
    const transactional = fake.calls.filter((c) => c.transId !== undefined);
    assert.ok(
      transactional.length >= 2 &&
        transactional.every((c) => c.method === 'PATCH' && c.path.startsWith('/mgmt/tm/ltm/profile/client-ssl/')),
      'profile PATCHes were queued',
    );
    const commit = fake.calls.find(
      (c) => c.method === 'PATCH' && /^\/mgmt\/tm\/transaction\/\d+$/.test(c.path) && c.status === 200,
    );
    assert.deepEqual(commit?.body, { state: 'VALIDATING', validateOnly: false });
    await verifyServedFingerprint('f5-bigip', fake.endpoints, v2.fingerprintSha256);
    const chainServed = await new Promise<string>((resolve, reject) => {
      // The listener presents the chain too: a client without the intermediate can build the path.
      const socket = connect({ ...fake.endpointFor('clientssl-web'), rejectUnauthorized: false }, () => {
        const peer = socket.getPeerCertificate(true);
        socket.end();
        resolve(String(peer.issuerCertificate?.subject?.CN ?? ''));
      });
      socket.once('error', reject);
    });
    assert.equal(chainServed, 'CertFleet Test Intermediate');
  });

  it('uploads in chunks with Content-Range, restarts a broken upload from 0 and removes the uploaded key', async () => {
    const v3 = ca.issue('chunks.example.test', 'rsa-2048');
    const chunked = createBigipDeployerWith({ chunkSize: 200 });
    const from = fake.calls.length;
    fake.failNext(/\/file-transfer\/uploads\/.*\.key$/, { status: 500, after: 2 });
    fake.failNext(/\/file-transfer\/uploads\/.*-[0-9a-f]+\.crt$/, { destroy: true, after: 1 });
    const staged = await use((d) => d.stage(v3), chunked);

    const ranges = (suffix: string): string[] =>
      fake.calls
        .slice(from)
        .filter((c) => c.path.startsWith('/mgmt/shared/file-transfer/uploads/') && c.path.endsWith(suffix))
        .map((c) => c.contentRange ?? '');
    const keyRanges = ranges(staged['key']?.split('/').pop() ?? '');
    const size = Buffer.byteLength(v3.keyPem);
    assert.ok(size > 600, 'the key needs several chunks');
    const expected = Array.from(
      { length: Math.ceil(size / 200) },
      (_, i) => `${i * 200}-${Math.min(size, (i + 1) * 200) - 1}/${size}`,
    );
    assert.deepEqual(
      keyRanges,
      [...expected.slice(0, 3), ...expected],
      'third chunk failed, the upload restarted from 0 and completed',
    );
    const certRanges = ranges(staged['cert']?.split('/').pop() ?? '');
    assert.equal(certRanges[0]?.split('-')[0], '0');
    assert.equal(certRanges.filter((r) => r.startsWith('0-')).length, 2, 'a reset connection also restarts from 0');
    assert.ok(fake.certificateObjects().includes(staged['key'] ?? ''), 'key installed');
    assert.ok(fake.certificateObjects().includes(staged['cert'] ?? ''), 'cert installed');
    assert.deepEqual(
      fake.uploadedFiles().filter((f) => f.endsWith('.key')),
      [],
      'no key file is left in /var/config/rest/downloads',
    );
    const install = fake.calls.slice(from).find((c) => c.path === '/mgmt/tm/sys/crypto/key');
    const keyUpload = `certfleet-[0-9a-f]{8}${(staged['key'] ?? '').replace(/\//g, '_').replace(/\./g, '\\.')}`;
    const installBody = install?.body as Record<string, unknown> | undefined;
    assert.deepEqual(
      { ...installBody, 'from-local-file': '' },
      { command: 'install', name: staged['key'], 'from-local-file': '', securityType: 'normal' },
    );
    assert.match(String(installBody?.['from-local-file']), new RegExp(`^/var/config/rest/downloads/${keyUpload}$`));
  });

  it('leaves of one intermediate staged at the same time on one device each install the shared chain (no upload name clash)', async () => {
    const leaves = Array.from({ length: 8 }, (_, i) => ca.issue(`parallel-${i}.example.test`, 'ecdsa-p256'));
    const staged = await Promise.all(leaves.map((leaf) => use((d) => d.stage(leaf))));
    assert.equal(new Set(staged.map((s) => s['chain'])).size, 1, 'one shared chain object');
    for (const s of staged) assert.ok(fake.certificateObjects().includes(s['cert'] ?? ''), `${s['cert']} installed`);
    assert.ok(fake.certificateObjects().includes(staged[0]?.['chain'] ?? ''), 'chain installed');
    assert.deepEqual(
      fake.uploadedFiles().filter((f) => f.includes('parallel')),
      [],
      'every upload was removed',
    );
  });

  it('one token per deployer, deleted after success and after failure', async () => {
    const from = fake.calls.length;
    await use(async (d) => {
      await d.preflight();
      await d.stage(v1);
    });
    const logins = fake.calls.slice(from).filter((c) => c.path === '/mgmt/shared/authn/login');
    assert.equal(logins.length, 1, 'one login for preflight and stage');
    assert.equal(fake.activeTokens(), 0, 'token deleted after success');
    assert.ok(
      fake.calls
        .slice(from)
        .some((c) => c.method === 'DELETE' && c.path === '/mgmt/shared/authz/tokens/<token>' && c.status === 200),
    );

    const failure = await failureOf(
      use((d) => d.activate({ cert: '/Common/missing.crt', key: '/Common/missing.key' })),
    );
    assert.equal(failure.type, FailureType.commitFailed);
    assert.match(failure.message, /^f5-bigip: .*01070226:3/);
    assert.equal(fake.activeTokens(), 0, 'token deleted after failure');

    fake.failNext(/\/mgmt\/tm\/sys\/version$/, { status: 503 });
    const unavailable = await failureOf(use((d) => d.preflight()));
    assert.equal(unavailable.type, FailureType.targetUnreachable);
    assert.equal(fake.activeTokens(), 0, 'token deleted after a device error');
    assert.ok(!JSON.stringify(fake.calls).includes(fake.password), 'no password in the recorded calls');
  });

  it('the 100-token cap gives DEVICE_SESSION_BUSY (retryable) with a clear message', async () => {
    fake.leakTokens(100);
    try {
      const error = await failureOf(use((d) => d.preflight()));
      assert.equal(error.type, FailureType.deviceSessionBusy);
      assert.match(error.message, /^f5-bigip: user "certfleet" already holds the maximum of 100 active REST tokens/);
      assert.ok(error.retryAfterMs && error.retryAfterMs > 0);
      assert.ok(!error.message.includes(fake.password));
      const refused = fake.calls[fake.calls.length - 1];
      assert.equal(refused?.status, 400);
      assert.equal(fake.activeTokens(), 100, 'no token of ours was added');
    } finally {
      fake.dropAllTokens();
    }
    await use((d) => d.preflight());
    assert.equal(fake.activeTokens(), 0);
  });

  it('activate saves the configuration; preflight neither changes nor saves anything', async () => {
    const staged = await use((d) => d.stage(v1));
    const savesBefore = fake.savedConfigCount();
    const mutatingBefore = fake.mutatingCalls();
    const report = await use((d) => d.preflight());
    assert.equal(fake.savedConfigCount(), savesBefore);
    assert.equal(fake.mutatingCalls(), mutatingBefore);
    assert.match(report.firmware ?? '', /^BIG-IP 17\.1\.1\.3 Build 0\.0\.5 Point Release 3$/);
    assert.ok(
      report.changes.every((c) => /^client-ssl clientssl-(web|api): \/Common\/\S+\.crt → new certificate$/.test(c)),
      report.changes.join('; '),
    );

    await use((d) => d.activate(staged));
    assert.equal(fake.savedConfigCount(), savesBefore + 1);
    assert.deepEqual(fake.savedBindings(), fake.bindings(), 'the saved configuration holds the new binding');
    const save = fake.calls.filter((c) => c.path === '/mgmt/tm/sys/config').pop();
    assert.deepEqual(save?.body, { command: 'save' });
  });

  it('refuseBind: the activation fails and no profile is half-bound', async () => {
    const staged1 = await use((d) => d.stage(v1));
    const staged2 = await use((d) => d.stage(v2));
    await use((d) => d.activate(staged1));
    const before = fake.bindings();
    const saves = fake.savedConfigCount();
    fake.refuseBind(true, 'clientssl-api'); // the second profile of the transaction only
    try {
      const error = await failureOf(use((d) => d.activate(staged2)));
      assert.equal(error.type, FailureType.commitFailed);
      assert.match(error.message, /nothing changed/);
    } finally {
      fake.refuseBind(false);
    }
    assert.deepEqual(fake.bindings(), before, 'clientssl-web was not bound alone');
    assert.equal(fake.savedConfigCount(), saves, 'nothing saved');
    assert.equal(fake.activeTokens(), 0);
    await verifyServedFingerprint('f5-bigip', fake.endpoints, v1.fingerprintSha256);
  });

  it('serveStale: verify fails until the device serves the new certificate', async () => {
    const staged1 = await use((d) => d.stage(v1));
    const staged2 = await use((d) => d.stage(v2));
    await use((d) => d.activate(staged1));
    fake.serveStale(true);
    try {
      await use((d) => d.activate(staged2));
      const error = await failureOf(verifyServedFingerprint('f5-bigip', fake.endpoints, v2.fingerprintSha256));
      assert.equal(error.type, FailureType.verifyMismatch);
    } finally {
      fake.serveStale(false);
    }
    await verifyServedFingerprint('f5-bigip', fake.endpoints, v2.fingerprintSha256);
  });

  it('removeSuperseded never deletes an object a profile uses', async () => {
    const staged = await use((d) => d.stage(v1));
    await use((d) => d.activate(staged));
    assert.deepEqual(await use((d) => d.removeSuperseded([], [staged])), []);
    for (const name of Object.values(staged)) assert.ok(fake.certificateObjects().includes(name), name);
    await direct(async (client) => {
      await assert.rejects(client.deleteCert(staged['cert'] ?? ''), /is in use by \/Common\/clientssl-web/);
    });
  });

  it('config-sync to the device group after activation; a missing group fails preflight', async () => {
    const withSync = contextFor(fake, { options: { partition: 'Common', syncGroup: 'certfleet-sync' } });
    const staged = await use((d) => d.stage(v2), createBigipDeployer, withSync);
    const report = await use((d) => d.preflight(), createBigipDeployer, withSync);
    assert.ok(report.checks.some((c) => c.name === 'device group' && c.ok));
    await use((d) => d.activate(staged), createBigipDeployer, withSync);
    assert.equal(fake.configSyncs().pop(), 'certfleet-sync');
    const sync = fake.calls.filter((c) => c.path === '/mgmt/tm/cm').pop();
    assert.deepEqual(sync?.body, { command: 'run', utilCmdArgs: 'config-sync to-group certfleet-sync' });

    const missing = contextFor(fake, { options: { partition: 'Common', syncGroup: 'no-such-group' } });
    const bad = await use((d) => d.preflight(), createBigipDeployer, missing);
    assertCheck(bad, 'device group', false, 'device group no-such-group not found');
  });

  it('a missing profile fails preflight checks and activation (TARGET_REJECTED)', async () => {
    const ctx = { ...context, binding: { profiles: ['clientssl-web', 'no-such-profile'], verifyPorts: [] } };
    const report = await use((d) => d.preflight(), createBigipDeployer, ctx);
    assertCheck(report, 'client-ssl no-such-profile', false, 'profile not found');
    const staged = await use((d) => d.stage(v1), createBigipDeployer, ctx);
    const error = await failureOf(use((d) => d.activate(staged), createBigipDeployer, ctx));
    assert.equal(error.type, FailureType.targetRejected);
    assert.match(error.message, /client-ssl profile \/Common\/no-such-profile does not exist/);
  });

  it('the fake: token timeout ≤ 36000, Basic auth, pkcs12 install, already-exists 409', async () => {
    await direct(async (client, http) => {
      await assert.rejects(client.extendToken('unused', 10), /404/);
      const { token } = await client.login(fake.username, fake.password);
      await client.extendToken(token, 36000);
      await assertBigipRefuses(
        client.extendToken(token, 36001),
        406,
        'Auth-token absolute timeout (36000 seconds) exceeded',
      );
      await client.deleteToken(token);

      const basic = (password: string): Record<string, string> => ({
        authorization: `Basic ${Buffer.from(`${fake.username}:${password}`).toString('base64')}`,
      });
      assert.equal((await http.request('GET', '/mgmt/tm/sys/version', { headers: basic(fake.password) })).status, 200);
      const refused = await http.request('GET', '/mgmt/tm/sys/version', { headers: basic('wrong') });
      assert.equal(refused.status, 401);
      assert.equal((await http.request('GET', '/mgmt/tm/sys/version')).status, 401);

      const v4 = ca.issue('p12.example.test', 'ecdsa-p256');
      const pfx = buildPfx({ keyPem: v4.keyPem, certPem: v4.certPem, chainPems: v4.chainPems, password: 'p12-secret' });
      await client.uploadChunk('bundle.p12', pfx, 0, pfx.length);
      await client.installPkcs12('/Common/p12_example_test', '/var/config/rest/downloads/bundle.p12', 'p12-secret');
      const cert = await client.getCert('/Common/p12_example_test.crt');
      assert.equal(
        cert?.fingerprint
          ?.replace(/^SHA256\//, '')
          .replace(/:/g, '')
          .toLowerCase(),
        v4.fingerprintSha256,
      );
      assert.ok(await client.getKey('/Common/p12_example_test.key'));
      await assertBigipRefuses(
        client.installPkcs12('/Common/p12_example_test', '/var/config/rest/downloads/bundle.p12', 'p12-secret'),
        409,
        '01020066:3: The requested Certificate File (/Common/p12_example_test.crt) already exists in partition Common.',
      );
      assert.equal(await client.deleteCert('/Common/p12_example_test.crt'), true);
      assert.equal(await client.deleteKey('/Common/p12_example_test.key'), true);
      assert.equal(await client.deleteKey('/Common/p12_example_test.key'), false, '404: already gone');
    });
    assert.ok(!JSON.stringify(fake.calls).includes('p12-secret'), 'passphrase redacted in the call log');
    assert.equal(fake.activeTokens(), 0);
  });

  it('descriptor: fields and validation', () => {
    assert.equal(bigipDescriptor.id, 'f5-bigip');
    assert.equal(bigipDescriptor.defaultPort, 443);
    assert.deepEqual(
      bigipDescriptor.credentialFields.map((f) => [f.name, f.kind, f.required]),
      [
        ['username', 'text', true],
        ['password', 'secret', true],
      ],
    );

    assert.deepEqual(bigipDescriptor.parseCredentials({ username: ' admin2 ', password: 'x' }), {
      value: { username: 'admin2', password: 'x' },
      errors: {},
    });
    const noCreds = bigipDescriptor.parseCredentials({});
    assert.deepEqual(Object.keys(noCreds.errors).sort(), ['password', 'username']);
    assert.match(
      bigipDescriptor.parseCredentials({ username: 'a b', password: 'x' }).errors['username'] ?? '',
      /no spaces/,
    );

    assert.deepEqual(bigipDescriptor.parseOptions({}), { value: { partition: 'Common' }, errors: {} });
    assert.deepEqual(bigipDescriptor.parseOptions({ partition: '/Tenant_1/', syncGroup: 'dg-1' }), {
      value: { partition: 'Tenant_1', syncGroup: 'dg-1' },
      errors: {},
    });
    assert.match(
      bigipDescriptor.parseOptions({ partition: 'bad partition' }).errors['partition'] ?? '',
      /partition name/,
    );
    assert.match(bigipDescriptor.parseOptions({ syncGroup: 'a/b' }).errors['syncGroup'] ?? '', /device group/);

    assert.deepEqual(
      bigipDescriptor.parseBinding({
        profiles: 'clientssl-web, /Tenant/clientssl-api\nclientssl-web',
        verifyPorts: '443 8443',
      }),
      {
        value: { profiles: ['clientssl-web', '/Tenant/clientssl-api'], verifyPorts: [443, 8443] },
        errors: {},
      },
    );
    assert.deepEqual(bigipDescriptor.parseBinding({ profiles: ['clientssl-web'], verifyPorts: [443] }).value, {
      profiles: ['clientssl-web'],
      verifyPorts: [443],
    });
    assert.match(bigipDescriptor.parseBinding({}).errors['profiles'] ?? '', /at least one client-ssl profile/);
    assert.deepEqual(bigipDescriptor.parseBinding({ profiles: 'web;ssl', verifyPorts: '' }), {
      value: { profiles: ['web', 'ssl'], verifyPorts: [] },
      errors: {},
    });
    assert.match(
      bigipDescriptor.parseBinding({ profiles: ['bad name!'] }).errors['profiles'] ?? '',
      /"bad name!" is not a client-ssl profile name/,
    );
    assert.match(
      bigipDescriptor.parseBinding({ profiles: [{ name: 'web' }] }).errors['profiles'] ?? '',
      /"\?" is not a client-ssl profile name/,
    );
    assert.match(
      bigipDescriptor.parseBinding({ profiles: ['/only-partition'] }).errors['profiles'] ?? '',
      /not a client-ssl profile name/,
    );
    assert.match(
      bigipDescriptor.parseBinding({ profiles: ['web'], verifyPorts: [70000] }).errors['verifyPorts'] ?? '',
      /"70000" is not a TCP port/,
    );
    assert.match(
      bigipDescriptor.parseBinding({ profiles: ['web'], verifyPorts: ['https'] }).errors['verifyPorts'] ?? '',
      /"https" is not a TCP port/,
    );

    assertVerifyPortsOnHost(bigipDescriptor, 'bigip.example.test', ['web'], [443, 8443]);
    assert.deepEqual(
      bigipDescriptor.defaultVerifyEndpoints({ host: 'h', port: 443, options: {} }, { profiles: ['web'] }),
      [],
    );
  });

  it('pinned trust keeps working when the device resumes TLS sessions', async () => {
    const resuming = await startFakeBigip({ profiles: PROFILES, resumeTlsSessions: true });
    try {
      await assertPinnedClientNeverResumes(resuming, 'BIG-IP', async () => {
        const report = await use((d) => d.preflight(), createBigipDeployer, contextFor(resuming));
        assertChecks(report, [
          'login',
          'firmware',
          'account role',
          'client-ssl clientssl-web',
          'client-ssl clientssl-api',
        ]);
        assert.equal(report.checks[0]?.detail, 'REST token issued to certfleet');
        assert.match(report.firmware ?? '', /^BIG-IP 17\.1\.1\.3/);
      });
    } finally {
      await resuming.close();
    }
  });

  it('invalid target configuration is VALIDATION_FAILED before any device call', async () => {
    const from = fake.calls.length;
    const error = await failureOf(
      use((d) => d.preflight(), createBigipDeployer, { ...context, binding: { profiles: [] } }),
    );
    assert.equal(error.type, FailureType.validation);
    assert.match(
      error.message,
      /^f5-bigip: invalid target configuration: binding\.profiles: Name at least one client-ssl profile/,
    );
    assert.equal(fake.calls.length, from);
  });
});
