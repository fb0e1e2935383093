/**
 * The FortiGate deployer against test/fakes/fortigate: the shared deployer contract, the fake's own
 * fidelity (docs/vendors/fortigate.md), and FortiGate-specific cases.
 *
 *   npx tsx --test test/unit/deployer-fortigate.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPfx } from '../../activities/crypto/pem';
import { fortigateDescriptor } from '../../activities/deployers/fortigate/descriptor';
import {
  createFortiGateDeployer,
  describeFortiOsError,
  FORTIGATE_NAME_RULES,
} from '../../activities/deployers/fortigate/index';
import { objectName } from '../../activities/deployers/naming';
import type { ManagementTrust } from '../../activities/deployers/types';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { ClassifiedError } from '../../activities/errors';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../temporal/contract';
import { startFakeFortiGate } from '../fakes/fortigate/server';
import { assertChecks, assertFailure, rejection as rejectionOf } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';
import { runDeployerContract } from '../support/deployer-contract';
import { servedChainFingerprints } from '../support/served-chain';
import { assertPinnedClientNeverResumes } from '../support/tls-handshakes';
import {
  FORTIGATE_TOKEN as TOKEN,
  fortigateContext as contextFor,
  rawFortiGate as raw,
  useFortiGate as use,
  withFakeFortiGate as withFake,
} from '../support/fortigate-context';

const WRONG_TOKEN = 'fgtWrongSECRET9876543210fedcbaZZ';

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

const bearer = { authorization: `Bearer ${TOKEN}` };
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Fingerprints of the certificates a TLS endpoint on this machine sends, leaf first. */
const peerChain = (port: number): Promise<string[]> => servedChainFingerprints({ host: '127.0.0.1', port });

// ---------------------------------------------------------------------------------------------
// The shared contract

runDeployerContract({
  vendor: 'fortigate',
  create: createFortiGateDeployer,
  async setup() {
    const fake = await startFakeFortiGate({ token: TOKEN });
    const sslVpn = fake.endpoints.sslVpn;
    assert.ok(sslVpn, 'the fake has an SSL-VPN listener');
    // The contract issues its versions before setup() but does not hand them over, so alsoAccept is
    // read lazily (each deployer builds its dispatcher when it is created): the fingerprints of every
    // certificate imported into the fake so far, i.e. exactly the contract's versions.
    const trust: ManagementTrust = {
      fingerprintSha256: fake.managementFingerprint(),
      get alsoAccept(): string[] {
        return fake
          .localCertificates()
          .filter((c) => c.source === 'user')
          .map((c) => c.fingerprintSha256);
      },
    };
    const context = contextFor(fake, { trust });
    return {
      context,
      endpoints: [fake.endpoints.admin, sslVpn],
      fake: fake.view(),
      withWrongCredentials: () => ({ ...context, target: { ...context.target, credentials: { token: WRONG_TOKEN } } }),
      stop: () => fake.close(),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Vendor cases

describe('fortigate', () => {
  const ca = suiteTestCa();

  describe('fake FortiGate (docs/vendors/fortigate.md)', () => {
    it('Bearer auth: 401 without or with a wrong token; access_token only when enabled; the token is never recorded', async () => {
      await withFake({}, async (fake) => {
        const http = raw(fake);
        try {
          assert.equal((await http.request('GET', '/api/v2/cmdb/system/global')).status, 401);
          assert.equal(
            (
              await http.request('GET', '/api/v2/cmdb/system/global', {
                headers: { authorization: `Bearer ${WRONG_TOKEN}` },
              })
            ).status,
            401,
          );
          assert.equal(
            (await http.request('GET', '/api/v2/cmdb/system/global', { query: { access_token: TOKEN } })).status,
            401,
            'query token disabled by default (7.4.5+)',
          );
          assert.equal((await http.request('GET', '/api/v2/cmdb/system/global', { headers: bearer })).status, 200);
        } finally {
          await http.close();
        }
        assert.deepEqual(
          fake.calls.map((c) => c.auth),
          ['none', 'none', 'none', 'header'],
        );
        assert.ok(!JSON.stringify(fake.calls).includes(TOKEN), 'no token in the recorded calls');
      });
      await withFake({ acceptQueryToken: true }, async (fake) => {
        const http = raw(fake);
        try {
          assert.equal(
            (await http.request('GET', '/api/v2/cmdb/system/global', { query: { access_token: TOKEN } })).status,
            200,
          );
        } finally {
          await http.close();
        }
        assert.equal(fake.calls[0]?.auth, 'query');
        assert.equal(fake.calls[0]?.query['access_token'], undefined);
      });
    });

    it('success envelope with revision, version and build; error envelope as terraform-provider-fortios #215 shows it (-145 on non-base64)', async () => {
      await withFake({ version: 'v7.0.5', build: 304 }, async (fake) => {
        const http = raw(fake);
        const v = ca.issue('envelope.example.test');
        try {
          const read = await http.request('GET', '/api/v2/cmdb/system/global', {
            headers: bearer,
            query: { vdom: 'root' },
          });
          const env = read.json as Record<string, unknown>;
          assert.equal(env['status'], 'success');
          assert.equal(env['http_status'], 200);
          assert.equal(env['version'], 'v7.0.5');
          assert.equal(env['build'], 304);
          assert.equal((env['results'] as Record<string, unknown>)['admin-server-cert'], 'Fortinet_Factory');

          const bad = await http.request('POST', '/api/v2/monitor/vpn-certificate/local/import', {
            headers: bearer,
            json: { type: 'regular', certname: 'raw-pem', file_content: v.certPem, key_file_content: v.keyPem },
          });
          assert.equal(bad.status, 500);
          const err = bad.json as Record<string, unknown>;
          assert.deepEqual(Object.keys(err), [
            'http_method',
            'error',
            'status',
            'http_status',
            'vdom',
            'path',
            'name',
            'action',
            'serial',
            'version',
            'build',
          ]);
          assert.deepEqual(
            { ...err, serial: 'x' },
            {
              http_method: 'POST',
              error: -145,
              status: 'error',
              http_status: 500,
              vdom: 'root',
              path: 'vpn-certificate',
              name: 'local',
              action: 'import',
              serial: 'x',
              version: 'v7.0.5',
              build: 304,
            },
          );

          const good = await http.request('POST', '/api/v2/monitor/vpn-certificate/local/import', {
            headers: bearer,
            json: {
              type: 'regular',
              certname: 'b64-pem',
              scope: 'global',
              file_content: b64(v.certPem),
              key_file_content: b64(v.keyPem),
            },
          });
          assert.equal(good.status, 200);
          const put = await http.request('PUT', '/api/v2/cmdb/system/global', {
            headers: bearer,
            json: { 'admin-server-cert': 'Fortinet_Factory' },
          });
          const putEnv = put.json as Record<string, unknown>;
          assert.equal(putEnv['revision_changed'], true);
          assert.equal(typeof putEnv['revision'], 'string');
          assert.equal(typeof putEnv['old_revision'], 'string');
        } finally {
          await http.close();
        }
        assert.ok(
          !JSON.stringify(fake.calls).includes('PRIVATE KEY') && !JSON.stringify(fake.calls).includes(b64(v.keyPem)),
          'no key material recorded',
        );
        assert.equal(fake.view().mutatingCalls(), 2, 'the import and the PUT (not the refused import)');
      });
    });

    it('PKCS#12 import; identical content under another name is refused with -23; the same name with -5', async () => {
      await withFake({}, async (fake) => {
        const http = raw(fake);
        const v = ca.issue('p12.example.test', 'rsa-2048');
        const other = ca.issue('p12.example.test');
        try {
          const pfx = buildPfx({ keyPem: v.keyPem, certPem: v.certPem, chainPems: v.chainPems, password: 'pfx-pass' });
          const p12 = await http.request('POST', '/api/v2/monitor/vpn-certificate/local/import', {
            headers: bearer,
            json: {
              type: 'pkcs12',
              certname: 'from-p12',
              password: 'pfx-pass',
              scope: 'global',
              file_content: pfx.toString('base64'),
            },
          });
          assert.equal(p12.status, 200, p12.text);
          assert.equal(
            fake.localCertificates().find((c) => c.name === 'from-p12')?.fingerprintSha256,
            v.fingerprintSha256,
          );
          const dup = await http.request('POST', '/api/v2/monitor/vpn-certificate/local/import', {
            headers: bearer,
            json: {
              type: 'regular',
              certname: 'another-name',
              file_content: b64(v.certPem),
              key_file_content: b64(v.keyPem),
            },
          });
          assert.equal(dup.status, 500);
          assert.equal((dup.json as Record<string, unknown>)['error'], -23);
          const sameName = await http.request('POST', '/api/v2/monitor/vpn-certificate/local/import', {
            headers: bearer,
            json: {
              type: 'regular',
              certname: 'from-p12',
              file_content: b64(other.certPem),
              key_file_content: b64(other.keyPem),
            },
          });
          assert.equal((sameName.json as Record<string, unknown>)['error'], -5);
        } finally {
          await http.close();
        }
      });
    });

    it('CA import answers -328 for an existing CA; DELETE of a bound certificate is refused with the error envelope', async () => {
      await withFake({}, async (fake) => {
        const http = raw(fake);
        try {
          const body = { import_method: 'file', scope: 'global', file_content: b64(ca.intermediatePem) };
          assert.equal(
            (await http.request('POST', '/api/v2/monitor/vpn-certificate/ca/import', { headers: bearer, json: body }))
              .status,
            200,
          );
          const again = await http.request('POST', '/api/v2/monitor/vpn-certificate/ca/import', {
            headers: bearer,
            json: body,
          });
          assert.equal(again.status, 500);
          assert.equal((again.json as Record<string, unknown>)['error'], -328);
          assert.deepEqual(fake.view().certificateObjects(), ['CA_Cert_1']);

          const refused = await http.request('DELETE', '/api/v2/cmdb/vpn.certificate/local/Fortinet_Factory', {
            headers: bearer,
          });
          assert.equal(refused.status, 500);
          const env = refused.json as Record<string, unknown>;
          assert.equal(env['status'], 'error');
          assert.equal(env['error'], -23);
          assert.equal(typeof env['cli_error'], 'string');
          assert.equal(
            (await http.request('DELETE', '/api/v2/cmdb/vpn.certificate/local/nope', { headers: bearer })).status,
            404,
          );
        } finally {
          await http.close();
        }
      });
    });

    it('the listeners present the bound certificate with the intermediate from the CA store', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('chain.example.test');
        const staged = await use(contextFor(fake, { versions: [v] }), (d) => d.stage(v));
        await use(contextFor(fake, { versions: [v] }), (d) => d.activate(staged));
        const intermediate = new (await import('node:crypto')).X509Certificate(ca.intermediatePem).fingerprint256
          .replace(/:/g, '')
          .toLowerCase();
        for (const endpoint of [fake.endpoints.admin, fake.endpoints.sslVpn]) {
          assert.ok(endpoint);
          assert.deepEqual((await peerChain(endpoint.port)).slice(0, 2), [v.fingerprintSha256, intermediate]);
        }
      });
    });
  });

  describe('deployer', () => {
    it('stage: identical content uploaded by hand under another name (-23) is verified and reused', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('manual.example.test');
        fake.seedLocalCertificate({ name: 'manual-upload', certPem: v.certPem, keyPem: v.keyPem });
        const staged = await use(contextFor(fake, { versions: [v] }), (d) => d.stage(v));
        assert.equal(staged['cert'], 'manual-upload');
        assert.ok(fake.calls.some((c) => c.path.endsWith('/local/import') && c.error === -23));
        assert.deepEqual(await use(contextFor(fake, { versions: [v] }), (d) => d.stage(v)), staged, 'idempotent');
      });
    });

    it('stage: a CA imported by someone else between listing and import (-328) is found and used', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('race.example.test');
        let seeded = '';
        fake.beforeNext(/\/ca\/import$/, () => {
          seeded = fake.seedCaCertificate(ca.intermediatePem);
        });
        const staged = await use(contextFor(fake, { versions: [v] }), (d) => d.stage(v));
        assert.ok(seeded);
        assert.equal(staged['ca0'], seeded);
        assert.ok(fake.calls.some((c) => c.path.endsWith('/ca/import') && c.error === -328));
      });
    });

    it('stage: -145 (base64 of PEM refused, FortiOS 7.6.6) falls back to base64 DER and remembers it', async () => {
      await withFake({ fileContentEncoding: 'der-only' }, async (fake) => {
        const v = ca.issue('der.example.test', 'rsa-2048');
        const staged = await use(contextFor(fake, { versions: [v] }), (d) => d.stage(v));
        assert.equal(
          fake.localCertificates().find((c) => c.name === staged['cert'])?.fingerprintSha256,
          v.fingerprintSha256,
        );
        const imports = fake.calls.filter((c) => c.path.includes('/import'));
        assert.deepEqual(
          imports.map((c) => [c.path.split('/').slice(-2).join('/'), c.status, c.error ?? null]),
          [
            ['local/import', 500, -145],
            ['local/import', 200, null],
            ['ca/import', 200, null],
          ],
        );
      });
    });

    it("stage: a different certificate under the version's name is left alone (TARGET_REJECTED)", async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('clash.example.test');
        const other = ca.issue('clash.example.test');
        fake.seedLocalCertificate({
          name: objectName(v.commonName, v.serialHex, FORTIGATE_NAME_RULES),
          certPem: other.certPem,
          keyPem: other.keyPem,
        });
        const error = await rejection(use(contextFor(fake, { versions: [v] }), (d) => d.stage(v)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(error.message, /^fortigate: a different certificate is already named/);
      });
    });

    it('firmware whose CMDB answers omit the PEM: objects are matched by name, CAs are kept but not recorded', async () => {
      await withFake({ cmdbOmitsPem: true }, async (fake) => {
        const v1 = ca.issue('nopem.example.test');
        const v2 = ca.issue('nopem.example.test');
        const ctx = contextFor(fake, { versions: [v1, v2] });
        const staged1 = await use(ctx, (d) => d.stage(v1));
        assert.deepEqual(Object.keys(staged1), ['cert']);
        assert.deepEqual(await use(ctx, (d) => d.stage(v1)), staged1, 'idempotent by name');
        const staged2 = await use(ctx, (d) => d.stage(v2));
        await use(ctx, (d) => d.activate(staged2));
        assert.deepEqual(await use(ctx, (d) => d.removeSuperseded([staged2], [staged1])), [staged1['cert']]);
        assert.equal(fake.caCertificates().filter((c) => c.source === 'user').length, 1, 'the intermediate stays');
      });
    });

    it('removeSuperseded never deletes a bound certificate, nor a CA a remaining certificate chains to', async () => {
      await withFake({}, async (fake) => {
        const v1 = ca.issue('bound.example.test');
        const v2 = ca.issue('bound.example.test');
        const ctx = contextFor(fake, { versions: [v1, v2] });
        const staged1 = await use(ctx, (d) => d.stage(v1));
        await use(ctx, (d) => d.activate(staged1));
        assert.deepEqual(await use(ctx, (d) => d.removeSuperseded([], [staged1])), [], 'bound: nothing deleted');
        assert.ok(
          fake
            .view()
            .certificateObjects()
            .includes(staged1['cert'] ?? '?'),
        );

        const staged2 = await use(ctx, (d) => d.stage(v2));
        assert.equal(staged2['ca0'], staged1['ca0'], 'one shared intermediate');
        await use(ctx, (d) => d.activate(staged2));
        // keep is empty on purpose: the CA still stays because v2 (on the device) chains to it.
        assert.deepEqual(await use(ctx, (d) => d.removeSuperseded([], [staged1])), [staged1['cert']]);
        assert.deepEqual(fake.view().certificateObjects().sort(), [staged2['cert'], staged2['ca0']].sort());
      });
    });

    it('FortiOS error codes become readable, non-retryable messages starting with "fortigate: "', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('codes.example.test');
        const ctx = contextFor(fake, { versions: [v] });
        fake.failNext(/\/local\/import$/, { status: 500, error: -327 });
        const e327 = await rejection(use(ctx, (d) => d.stage(v)));
        assert.equal(e327.type, FailureType.targetRejected);
        assert.match(
          e327.message,
          /^fortigate: import certificate \S+: the certificate or key was refused \(key size or format\) \(error -327\)$/,
        );
        fake.failNext(/\/local\/import$/, { status: 500, error: -9999 });
        assert.match(
          (await rejection(use(ctx, (d) => d.stage(v)))).message,
          /^fortigate: import certificate \S+: error -9999$/,
        );
        fake.failNext(/\/ca\/import$/, { status: 500, error: -145 });
        fake.failNext(/\/ca\/import$/, { status: 500, error: -145 });
        assert.match(
          (await rejection(use(ctx, (d) => d.stage(v)))).message,
          /^fortigate: import CA certificate .*CertFleet Test Intermediate.*: invalid input format \(error -145\)$/,
        );
      });
      assert.equal(describeFortiOsError(-23, 'import'), 'an identical certificate exists already');
      assert.equal(describeFortiOsError(-23, 'delete'), 'the object is still in use');
      assert.equal(describeFortiOsError(-5), 'an object with that name exists already');
      assert.equal(describeFortiOsError(-328), 'the CA certificate exists already');
      assert.equal(describeFortiOsError(-42), 'error -42');
    });

    it('a 500 on import: without a FortiOS code retryable (TARGET_UNREACHABLE), with one not (TARGET_REJECTED)', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('retry.example.test');
        const ctx = contextFor(fake, { versions: [v] });
        fake.failNext(/\/local\/import$/, { status: 500 });
        const transient = await rejection(use(ctx, (d) => d.stage(v)));
        assert.equal(transient.type, FailureType.targetUnreachable);
        assert.ok(!NON_RETRYABLE_FAILURES.includes(transient.type));
        fake.failNext(/\/local\/import$/, { status: 500, error: -327 });
        const rejected = await rejection(use(ctx, (d) => d.stage(v)));
        assert.equal(rejected.type, FailureType.targetRejected);
        assert.ok(NON_RETRYABLE_FAILURES.includes(rejected.type));
        const staged = await use(ctx, (d) => d.stage(v));
        assert.ok(staged['cert'], 'the retry succeeds');
      });
    });

    it('VDOM: every call carries ?vdom=; SSL-VPN is bound in that VDOM with a VDOM-scoped certificate', async () => {
      await withFake({ vdoms: ['root', 'cust1'], sslVpnVdom: 'cust1' }, async (fake) => {
        const v = ca.issue('vdom.example.test');
        const ctx = contextFor(fake, { versions: [v], options: { vdom: 'cust1' }, binding: { sslVpn: true } });
        const report = await use(ctx, (d) => d.preflight());
        assert.ok(
          report.checks.every((c) => c.ok),
          JSON.stringify(report.checks),
        );
        assert.deepEqual(report.changes, ['SSL-VPN (VDOM cust1): Fortinet_Factory → new certificate']);
        const staged = await use(ctx, (d) => d.stage(v));
        const activation = await use(ctx, (d) => d.activate(staged));
        assert.deepEqual(activation, { previous: { sslVpn: 'Fortinet_Factory' } });
        assert.ok(
          fake.calls.length > 0 && fake.calls.every((c) => c.query['vdom'] === 'cust1'),
          JSON.stringify(fake.calls.map((c) => c.query)),
        );
        assert.deepEqual(fake.bindings().sslVpnServerCert, { root: 'Fortinet_Factory', cust1: staged['cert'] });
        assert.equal(fake.bindings().adminServerCert, 'Fortinet_Factory');
        assert.deepEqual(fake.localCertificates().find((c) => c.name === staged['cert'])?.range, 'vdom');
        assert.ok(fake.endpoints.sslVpn);
        await verifyServedFingerprint('fortigate', [fake.endpoints.sslVpn], v.fingerprintSha256);
        const bad = await use(contextFor(fake, { options: { vdom: 'nope' } }), (d) => d.preflight());
        assert.ok(bad.checks.some((c) => c.name === 'VDOM' && !c.ok));
      });
    });

    it('the admin GUI certificate goes to the global store (multi-VDOM)', async () => {
      await withFake({ vdoms: ['root', 'cust1'] }, async (fake) => {
        const v = ca.issue('global.example.test');
        const ctx = contextFor(fake, { versions: [v], options: { vdom: 'cust1' }, binding: { adminGui: true } });
        const staged = await use(ctx, (d) => d.stage(v));
        await use(ctx, (d) => d.activate(staged));
        assert.equal(fake.localCertificates().find((c) => c.name === staged['cert'])?.range, 'global');
        await verifyServedFingerprint('fortigate', [fake.endpoints.admin], v.fingerprintSha256);
      });
    });

    it('SSL-VPN removed (FortiOS 7.6): preflight reports it, activate refuses clearly, the admin GUI alone works', async () => {
      await withFake({ sslVpnRemoved: true }, async (fake) => {
        assert.equal(fake.endpoints.sslVpn, undefined);
        const v = ca.issue('novpn.example.test');
        const both = contextFor(fake, { versions: [v] });
        const report = await use(both, (d) => d.preflight());
        const check = report.checks.find((c) => c.name === 'SSL-VPN');
        assert.equal(check?.ok, false);
        assert.match(check?.detail ?? '', /not available/);
        const staged = await use(both, (d) => d.stage(v));
        const before = fake.view().mutatingCalls();
        const error = await rejection(use(both, (d) => d.activate(staged)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(error.message, /^fortigate: SSL-VPN is not available on this FortiGate/);
        assert.equal(fake.view().mutatingCalls(), before, 'nothing was bound half-way');

        const adminOnly = contextFor(fake, { versions: [v], binding: { adminGui: true } });
        const ok = await use(adminOnly, (d) => d.preflight());
        assert.ok(
          ok.checks.every((c) => c.ok),
          JSON.stringify(ok.checks),
        );
        assert.deepEqual(ok.changes, ['admin GUI: Fortinet_Factory → new certificate']);
        await use(adminOnly, (d) => d.activate(staged));
        await verifyServedFingerprint('fortigate', [fake.endpoints.admin], v.fingerprintSha256);
      });
    });

    it('serveStale: the device accepts the binding but keeps serving the old certificate → verify fails', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('stale.example.test');
        const ctx = contextFor(fake, { versions: [v] });
        fake.serveStale(true);
        const staged = await use(ctx, (d) => d.stage(v));
        await use(ctx, (d) => d.activate(staged));
        assert.ok(fake.endpoints.sslVpn);
        const endpoints = [fake.endpoints.admin, fake.endpoints.sslVpn];
        const error = await rejection(verifyServedFingerprint('fortigate', endpoints, v.fingerprintSha256));
        assert.equal(error.type, FailureType.verifyMismatch);
        assert.ok(!NON_RETRYABLE_FAILURES.includes(error.type), 'a verify mismatch is retried');
        fake.serveStale(false);
        await verifyServedFingerprint('fortigate', endpoints, v.fingerprintSha256);
      });
    });

    it('the management API presents the new certificate after the admin GUI binding: alsoAccept is what keeps trust', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('mgmt.example.test');
        const staged = await use(contextFor(fake, { versions: [v] }), (d) => d.stage(v));
        const activation = await use(contextFor(fake, { versions: [v] }), (d) => d.activate(staged));
        const pinnedOnly = contextFor(fake, { trust: { fingerprintSha256: fake.managementFingerprint() } });
        const untrusted = await rejection(use(pinnedOnly, (d) => d.preflight()));
        assert.equal(untrusted.type, FailureType.targetTlsUntrusted);
        const report = await use(contextFor(fake, { versions: [v] }), (d) => d.preflight());
        assert.ok(report.checks.every((c) => c.ok));
        const back = await use(contextFor(fake, { versions: [v] }), (d) => d.rollback(activation.previous));
        assert.deepEqual(back.previous, { sslVpn: staged['cert'], adminGui: staged['cert'] });
        assert.equal(fake.bindings().adminServerCert, 'Fortinet_Factory');
        await use(pinnedOnly, (d) => d.preflight());
      });
    });

    it('activate is all or nothing: when the admin GUI binding fails, the SSL-VPN binding is put back', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('atomic.example.test');
        const ctx = contextFor(fake, { versions: [v] });
        const staged = await use(ctx, (d) => d.stage(v));
        fake.failNext(/\/cmdb\/system\/global$/, { method: 'PUT', status: 500, error: -651 });
        const error = await rejection(use(ctx, (d) => d.activate(staged)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(
          error.message,
          /^fortigate: bind \S+ to the admin GUI: the device does not know the certificate named \(or it is not visible in this VDOM\) \(error -651\)$/,
        );
        assert.deepEqual(fake.bindings().sslVpnServerCert, { root: 'Fortinet_Factory' }, 'SSL-VPN restored');
        assert.equal(fake.bindings().adminServerCert, 'Fortinet_Factory');
        const puts = fake.calls
          .filter((c) => c.method === 'PUT')
          .map((c) => [c.path.replace('/api/v2/cmdb/', ''), c.status]);
        assert.deepEqual(puts, [
          ['vpn.ssl/settings', 200],
          ['system/global', 500],
          ['vpn.ssl/settings', 200],
        ]);
        // A retry then reads the original state as "previous".
        assert.deepEqual((await use(ctx, (d) => d.activate(staged))).previous, {
          sslVpn: 'Fortinet_Factory',
          adminGui: 'Fortinet_Factory',
        });
      });
    });

    it('preflight ("Test connection") works before any deployment exists (no binding)', async () => {
      await withFake({}, async (fake) => {
        const report = await use(contextFor(fake, { binding: {} }), (d) => d.preflight());
        assert.ok(
          report.checks.every((c) => c.ok),
          JSON.stringify(report.checks),
        );
        assert.deepEqual(report.changes, []);
        assert.ok(report.firmware);
      });
    });

    it('auth and permissions: 401 → TARGET_AUTH_FAILED, 403 → TARGET_PERMISSION_DENIED', async () => {
      await withFake({ forbidden: /\/cmdb\/system\/global$/ }, async (fake) => {
        const error = await rejection(use(contextFor(fake), (d) => d.preflight()));
        assert.equal(error.type, FailureType.targetPermission);
        assert.match(error.message, /^fortigate: read system global settings: permission denied \(HTTP 403\)/);
        const auth = await rejection(use(contextFor(fake, { token: WRONG_TOKEN }), (d) => d.preflight()));
        assert.equal(auth.type, FailureType.targetAuth);
        assert.ok(!auth.message.includes(WRONG_TOKEN) && !auth.message.includes(TOKEN));
      });
      await withFake({ readOnly: true }, async (fake) => {
        const v = ca.issue('readonly.example.test');
        const error = await rejection(use(contextFor(fake, { versions: [v] }), (d) => d.stage(v)));
        assert.equal(error.type, FailureType.targetPermission);
      });
    });

    it('preflight: firmware from the envelope; servercert given as {q_origin_key} is understood', async () => {
      await withFake({ version: 'v7.6.3', build: 3510, servercertAsObject: true }, async (fake) => {
        const before = fake.view().mutatingCalls();
        const report = await use(contextFor(fake), (d) => d.preflight());
        assert.equal(report.firmware, 'FortiOS v7.6.3 build 3510');
        assert.deepEqual(report.changes, [
          'admin GUI: Fortinet_Factory → new certificate',
          'SSL-VPN (VDOM root): Fortinet_Factory → new certificate',
        ]);
        assert.ok(fake.calls.every((c) => c.method === 'GET'));
        assert.equal(fake.view().mutatingCalls(), before);
        const v = ca.issue('object.example.test');
        const staged = await use(contextFor(fake, { versions: [v] }), (d) => d.stage(v));
        const activation = await use(contextFor(fake, { versions: [v] }), (d) => d.activate(staged));
        assert.deepEqual(activation.previous, { sslVpn: 'Fortinet_Factory', adminGui: 'Fortinet_Factory' });
      });
    });

    it('preflight: an SSL-VPN port that differs from the target option fails its check', async () => {
      await withFake({}, async (fake) => {
        const report = await use(contextFor(fake, { options: { sslVpnPort: 1 } }), (d) => d.preflight());
        const check = report.checks.find((c) => c.name === 'SSL-VPN');
        assert.equal(check?.ok, false);
        assert.match(check?.detail ?? '', /wrong port/);
      });
    });

    it('a device that offers TLS session resumption stays trusted across connections (pinned fingerprint)', async () => {
      // A resumed session shows no peer certificate; device-http must do full handshakes to check the pin.
      await withFake({ tlsSessionTickets: true }, async (fake) => {
        await assertPinnedClientNeverResumes(fake, 'FortiGate', async () => {
          const report = await use(contextFor(fake), (d) => d.preflight());
          assertChecks(report, [
            'management TLS',
            'API token',
            'firmware',
            'admin GUI binding',
            'SSL-VPN',
            'certificate store',
          ]);
          assert.match(report.checks[0]?.detail ?? '', /matches the pinned SHA-256 fingerprint/);
          assert.equal(report.checks[1]?.detail, 'accepted; VDOM root readable');
        });
      });
    });

    it('an invalid target configuration fails with VALIDATION_FAILED before any call', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('invalid.example.test');
        await assertFailure(
          use(contextFor(fake, { token: '', binding: {} }), (d) => d.stage(v)),
          FailureType.validation,
          /^fortigate: invalid target configuration: credentials\.token: .*binding\.adminGui: Choose at least one service/,
        );
        assert.equal(fake.calls.length, 0);
      });
    });
  });

  describe('descriptor', () => {
    it('credentials: a token is required, without spaces', () => {
      assert.deepEqual(fortigateDescriptor.parseCredentials({ token: `  ${TOKEN} ` }), {
        value: { token: TOKEN },
        errors: {},
      });
      assert.match(fortigateDescriptor.parseCredentials({}).errors['token'] ?? '', /API token/);
      assert.match(
        fortigateDescriptor.parseCredentials({ token: 'has a space in it' }).errors['token'] ?? '',
        /without spaces/,
      );
      assert.deepEqual(
        fortigateDescriptor.credentialFields.map((f) => [f.name, f.kind, f.required]),
        [['token', 'secret', true]],
      );
    });

    it('options: vdom defaults to root, sslVpnPort to 10443; bad values get clear messages', () => {
      assert.deepEqual(fortigateDescriptor.parseOptions({}), {
        value: { vdom: 'root', sslVpnPort: 10443, authPortalPort: 1003 },
        errors: {},
      });
      assert.deepEqual(
        fortigateDescriptor.parseOptions({ vdom: ' cust_1 ', sslVpnPort: '4443', authPortalPort: '2003' }).value,
        { vdom: 'cust_1', sslVpnPort: 4443, authPortalPort: 2003 },
      );
      assert.deepEqual(fortigateDescriptor.parseOptions({ sslVpnPort: 8443 }).value, {
        vdom: 'root',
        sslVpnPort: 8443,
        authPortalPort: 1003,
      });
      assert.match(fortigateDescriptor.parseOptions({ authPortalPort: '0' }).errors['authPortalPort'] ?? '', /1003/);
      assert.match(fortigateDescriptor.parseOptions({ vdom: 'a b' }).errors['vdom'] ?? '', /VDOM name/);
      assert.match(fortigateDescriptor.parseOptions({ vdom: 'x'.repeat(32) }).errors['vdom'] ?? '', /1 to 31/);
      for (const port of ['abc', '0', '70000', '-1', 1.5])
        assert.match(
          fortigateDescriptor.parseOptions({ sslVpnPort: port }).errors['sslVpnPort'] ?? '',
          /1 to 65535/,
          String(port),
        );
    });

    it('binding: checkboxes and lists, at least one service', () => {
      const none = { adminGui: false, sslVpn: false, authPortal: false, ipsecPhase1: [], vips: [], vipEndpoints: [] };
      assert.deepEqual(fortigateDescriptor.parseBinding({ adminGui: 'on' }), {
        value: { ...none, adminGui: true },
        errors: {},
      });
      assert.deepEqual(fortigateDescriptor.parseBinding({ adminGui: true, sslVpn: 'true' }).value, {
        ...none,
        adminGui: true,
        sslVpn: true,
      });
      assert.match(fortigateDescriptor.parseBinding({}).errors['adminGui'] ?? '', /at least one/);
      assert.match(
        fortigateDescriptor.parseBinding({ adminGui: false, sslVpn: 'off' }).errors['adminGui'] ?? '',
        /at least one/,
      );
      assert.match(fortigateDescriptor.parseBinding({ sslVpn: 'maybe' }).errors['sslVpn'] ?? '', /ticked/);
      assert.deepEqual(
        fortigateDescriptor.bindingFields.map((f) => [f.name, f.kind]),
        [
          ['adminGui', 'checkbox'],
          ['sslVpn', 'checkbox'],
          ['authPortal', 'checkbox'],
          ['ipsecPhase1', 'list'],
          ['vips', 'list'],
          ['vipEndpoints', 'list'],
        ],
      );
    });

    it('identity, default port and verify endpoints', () => {
      assert.equal(fortigateDescriptor.id, 'fortigate');
      assert.equal(fortigateDescriptor.defaultPort, 443);
      const target = { host: 'fw.example.test', port: 8443, options: {} };
      assert.deepEqual(fortigateDescriptor.defaultVerifyEndpoints(target, { adminGui: true, sslVpn: true }), [
        { host: 'fw.example.test', port: 8443 },
        { host: 'fw.example.test', port: 10443 },
      ]);
      assert.deepEqual(fortigateDescriptor.defaultVerifyEndpoints(target, { sslVpn: 'on' }), [
        { host: 'fw.example.test', port: 10443 },
      ]);
      const withOptions = { ...target, options: { sslVpnPort: 4443 } };
      assert.deepEqual(fortigateDescriptor.defaultVerifyEndpoints(withOptions, { sslVpn: true }), [
        { host: 'fw.example.test', port: 4443 },
      ]);
    });
  });
});
