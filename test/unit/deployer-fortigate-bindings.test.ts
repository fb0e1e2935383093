/**
 * FortiGate bindings beyond the admin GUI (issue 13 item 4): IPsec phase-1 `certificate`, VIP
 * `ssl-certificate`, the auth portal's `auth-cert`, and SSL-VPN only where the firmware has it — against
 * test/fakes/fortigate (docs/vendors/fortigate.md).
 *
 *   TEST_CONCURRENCY=1 npx tsx scripts/run-tests.ts test/unit/deployer-fortigate-bindings.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fortigateDescriptor } from '../../activities/deployers/fortigate/descriptor';
import type { CertificateMaterial, DeployerContext } from '../../activities/deployers/types';
import { expectedChainOf, verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import type { FakeFortiGate } from '../fakes/fortigate/server';
import { assertCheck, rejection as rejectionOf } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';
import {
  FORTIGATE_TOKEN as TOKEN,
  fortigateContext,
  rawFortiGate,
  useFortiGate as use,
  withFakeFortiGate as withFake,
} from '../support/fortigate-context';

const bearer = { authorization: `Bearer ${TOKEN}` };
const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

/** A target on `fake` with its auth portal port, binding what `binding` says. */
const contextFor = (
  fake: FakeFortiGate,
  binding: Record<string, unknown>,
  versions: CertificateMaterial[] = [],
  options: Record<string, unknown> = {},
): DeployerContext =>
  fortigateContext(fake, {
    binding,
    versions,
    options: { authPortalPort: fake.endpoints.authPortal.port, ...options },
  });

const vipEndpoint = (fake: FakeFortiGate, name: string): string => {
  const e = fake.endpoints.vips[name];
  assert.ok(e, `the fake has a listener for VIP ${name}`);
  return `${e.host}:${e.port}`;
};

describe('fortigate bindings', () => {
  const ca = suiteTestCa();

  describe('fake FortiGate: the new tables (docs/vendors/fortigate.md)', () => {
    it('phase-1 certificate is a list of {name}; an unknown certificate name is refused with -651 and cli_error (terraform-provider-fortios #193)', async () => {
      await withFake({ phase1: [{ name: 'hq' }] }, async (fake) => {
        const http = rawFortiGate(fake);
        try {
          const read = await http.request('GET', '/api/v2/cmdb/vpn.ipsec/phase1-interface/hq', { headers: bearer });
          const item = ((read.json as Record<string, unknown>)['results'] as Record<string, unknown>[])[0];
          assert.equal(item?.['authmethod'], 'signature');
          assert.deepEqual(item?.['certificate'], [{ name: 'Fortinet_Factory', q_origin_key: 'Fortinet_Factory' }]);
          const bad = await http.request('PUT', '/api/v2/cmdb/vpn.ipsec/phase1-interface/hq', {
            headers: bearer,
            json: { certificate: [{ name: 'nope' }] },
          });
          assert.equal(bad.status, 500);
          const env = bad.json as Record<string, unknown>;
          assert.equal(env['error'], -651);
          assert.match(String(env['cli_error']), /value parse error before 'nope'\nCommand fail\. Return code -651/);
          const missing = await http.request('GET', '/api/v2/cmdb/vpn.ipsec/phase1-interface/other', {
            headers: bearer,
          });
          assert.equal(missing.status, 404);
          const global = await http.request('GET', '/api/v2/cmdb/system/global', { headers: bearer });
          assert.equal(
            ((global.json as Record<string, unknown>)['results'] as Record<string, unknown>)['auth-https-port'],
            fake.endpoints.authPortal.port,
          );
        } finally {
          await http.close();
        }
        assert.deepEqual(fake.bindings().phase1, { hq: ['Fortinet_Factory'] });
      });
    });

    it('VIP ssl-certificate: a name before FortiOS 7.4.2, a list of {name} from 7.4.2; the other shape is refused', async () => {
      for (const [version, asList] of [
        ['v7.2.8', false],
        ['v7.4.2', true],
      ] as const) {
        await withFake({ version, vips: [{ name: 'web' }] }, async (fake) => {
          const http = rawFortiGate(fake);
          try {
            const read = await http.request('GET', '/api/v2/cmdb/firewall/vip/web', { headers: bearer });
            const item = ((read.json as Record<string, unknown>)['results'] as Record<string, unknown>[])[0];
            assert.deepEqual(
              item?.['ssl-certificate'],
              asList ? [{ name: 'Fortinet_Factory', q_origin_key: 'Fortinet_Factory' }] : 'Fortinet_Factory',
              version,
            );
            assert.equal(item?.['extport'], String(fake.endpoints.vips['web']?.port));
            const wrong = await http.request('PUT', '/api/v2/cmdb/firewall/vip/web', {
              headers: bearer,
              json: { 'ssl-certificate': asList ? 'Fortinet_Factory' : [{ name: 'Fortinet_Factory' }] },
            });
            assert.equal((wrong.json as Record<string, unknown>)['error'], -651, version);
          } finally {
            await http.close();
          }
        });
      }
    });

    it('SSL-VPN: gone on a 2 GB model from 7.6.0 (404, no listener); kept as Agentless VPN on other models on 7.6.3', async () => {
      await withFake({ version: 'v7.6.3', lowMemoryModel: true }, async (fake) => {
        assert.equal(fake.endpoints.sslVpn, undefined);
        assert.deepEqual(fake.bindings().sslVpnServerCert, {});
      });
      await withFake({ version: 'v7.6.3' }, async (fake) => {
        assert.ok(fake.endpoints.sslVpn);
      });
    });
  });

  describe('deployer', () => {
    it('binds IPsec phase-1, VIP and auth portal; the VIP and auth portal listeners serve the new chain; rollback puts each back', async () => {
      await withFake(
        { version: 'v7.4.3', phase1: [{ name: 'hq' }, { name: 'branch' }], vips: [{ name: 'web' }] },
        async (fake) => {
          const v = ca.issue('vpn.example.test');
          const binding = {
            authPortal: true,
            ipsecPhase1: 'hq, branch',
            vips: ['web'],
            vipEndpoints: [vipEndpoint(fake, 'web')],
          };
          const ctx = contextFor(fake, binding, [v]);
          const report = await use(ctx, (d) => d.preflight());
          assert.ok(
            report.checks.every((c) => c.ok),
            JSON.stringify(report.checks),
          );
          assert.deepEqual(report.changes, [
            'auth portal (VDOM root): Fortinet_Factory → new certificate',
            'IPsec phase-1 "hq": Fortinet_Factory → new certificate',
            'IPsec phase-1 "branch": Fortinet_Factory → new certificate',
            'VIP "web": Fortinet_Factory → new certificate',
          ]);
          assert.match(report.checks.find((c) => c.name === 'IPsec phase-1 "hq"')?.detail ?? '', /no TLS endpoint/);

          const staged = await use(ctx, (d) => d.stage(v));
          const activation = await use(ctx, (d) => d.activate(staged));
          assert.deepEqual(activation.previous, {
            authPortal: 'Fortinet_Factory',
            'ipsec:hq': 'Fortinet_Factory',
            'ipsec:branch': 'Fortinet_Factory',
            'vip:web': 'Fortinet_Factory',
          });
          const cert = staged['cert'] ?? '?';
          assert.deepEqual(fake.bindings().phase1, { hq: [cert], branch: [cert] });
          assert.deepEqual(fake.bindings().vips, { web: [cert] });
          assert.deepEqual(fake.bindings().authCert, { root: cert });
          assert.equal(fake.bindings().adminServerCert, 'Fortinet_Factory', 'the admin GUI was not asked for');

          // The verify step's endpoints come from the descriptor: the auth portal and the VIP, nothing for IPsec.
          const endpoints = fortigateDescriptor.defaultVerifyEndpoints(
            { host: fake.host, port: fake.port, options: ctx.target.options },
            binding,
          );
          assert.deepEqual(endpoints, [fake.endpoints.authPortal, fake.endpoints.vips['web']]);
          const seen = await verifyServedFingerprint(
            'fortigate',
            endpoints,
            expectedChainOf(v.fingerprintSha256, v.chainPems),
          );
          assert.equal(seen.length, 2);

          const back = await use(ctx, (d) => d.rollback(activation.previous));
          assert.deepEqual(back.previous, {
            authPortal: cert,
            'ipsec:hq': cert,
            'ipsec:branch': cert,
            'vip:web': cert,
          });
          assert.deepEqual(fake.bindings().phase1, { hq: ['Fortinet_Factory'], branch: ['Fortinet_Factory'] });
          assert.deepEqual(fake.bindings().vips, { web: ['Fortinet_Factory'] });
          assert.deepEqual(fake.bindings().authCert, { root: 'Fortinet_Factory' });
          await assert.rejects(
            verifyServedFingerprint('fortigate', endpoints, v.fingerprintSha256),
            (e: unknown) => e instanceof ClassifiedError && e.type === FailureType.verifyMismatch,
          );
        },
      );
    });

    it('VIP on FortiOS 7.2 (ssl-certificate a plain name) binds with a plain name', async () => {
      await withFake({ version: 'v7.2.8', vips: [{ name: 'web' }] }, async (fake) => {
        const v = ca.issue('web72.example.test');
        const ctx = contextFor(fake, { vips: 'web', vipEndpoints: vipEndpoint(fake, 'web') }, [v]);
        const staged = await use(ctx, (d) => d.stage(v));
        await use(ctx, (d) => d.activate(staged));
        const put = fake.calls.find((c) => c.method === 'PUT' && c.path.endsWith('/firewall/vip/web'));
        assert.deepEqual(put?.body, { 'ssl-certificate': staged['cert'] });
        const endpoint = fake.endpoints.vips['web'];
        assert.ok(endpoint);
        await verifyServedFingerprint('fortigate', [endpoint], v.fingerprintSha256);
      });
    });

    it('a missing phase-1 name is refused in preflight and at deploy, before anything changes', async () => {
      await withFake({ phase1: [{ name: 'hq' }] }, async (fake) => {
        const v = ca.issue('missing.example.test');
        const ctx = contextFor(fake, { adminGui: true, ipsecPhase1: ['hq', 'nosuch'] }, [v]);
        const report = await use(ctx, (d) => d.preflight());
        const check = report.checks.find((c) => c.name === 'IPsec phase-1 "nosuch"');
        assert.equal(check?.ok, false);
        assert.match(check?.detail ?? '', /does not exist in VDOM root/);
        assert.ok(!report.changes.some((c) => c.includes('nosuch')));
        const staged = await use(ctx, (d) => d.stage(v));
        const before = fake.view().mutatingCalls();
        const error = await rejection(use(ctx, (d) => d.activate(staged)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(
          error.message,
          /^fortigate: IPsec phase-1 "nosuch" does not exist in VDOM root\. .* Nothing was changed\.$/,
        );
        assert.equal(fake.view().mutatingCalls(), before);
        assert.equal(fake.bindings().adminServerCert, 'Fortinet_Factory');
      });
    });

    it('preflight refuses a pre-shared-key phase-1, a VIP that does not terminate TLS, and a slot with several certificates', async () => {
      await withFake(
        {
          phase1: [
            { name: 'psk1', authmethod: 'psk' },
            { name: 'two', certificates: ['Fortinet_Factory', 'Fortinet_Factory'] },
          ],
          vips: [{ name: 'nat', type: 'static-nat' }],
        },
        async (fake) => {
          const report = await use(contextFor(fake, { ipsecPhase1: ['psk1', 'two'], vips: ['nat'] }), (d) =>
            d.preflight(),
          );
          const detail = (name: string): string => {
            const check = report.checks.find((c) => c.name === name);
            assert.equal(check?.ok, false, name);
            return check?.detail ?? '';
          };
          assert.match(detail('IPsec phase-1 "psk1"'), /pre-shared key \(authmethod psk\)/);
          assert.match(detail('IPsec phase-1 "two"'), /lists 2 certificates/);
          assert.match(detail('VIP "nat"'), /type static-nat.*does not terminate TLS/);
          assert.deepEqual(report.changes, []);
        },
      );
    });

    it('SSL-VPN absent on FortiOS 7.6.3 (2 GB model): preflight says so, a deploy asking for it is refused with a clear message', async () => {
      await withFake({ version: 'v7.6.3', lowMemoryModel: true, phase1: [{ name: 'hq' }] }, async (fake) => {
        const v = ca.issue('novpn763.example.test');
        const offered = await use(contextFor(fake, { ipsecPhase1: 'hq' }), (d) => d.preflight());
        assertCheck(offered, 'SSL-VPN', true, 'not available on this firmware/model (not part of this binding)');
        const ctx = contextFor(fake, { sslVpn: true, ipsecPhase1: 'hq' }, [v]);
        const report = await use(ctx, (d) => d.preflight());
        assert.equal(report.firmware, 'FortiOS v7.6.3 build 2731');
        assert.match(
          report.checks.find((c) => c.name === 'SSL-VPN' && !c.ok)?.detail ?? '',
          /^SSL-VPN is not available on this FortiGate/,
        );
        const staged = await use(ctx, (d) => d.stage(v));
        const error = await rejection(use(ctx, (d) => d.activate(staged)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(
          error.message,
          /^fortigate: SSL-VPN is not available on this FortiGate .*Untick the SSL-VPN binding\. Nothing was changed\.$/,
        );
        assert.deepEqual(fake.bindings().phase1, { hq: ['Fortinet_Factory'] });
      });
      await withFake({ version: 'v7.6.3' }, async (fake) => {
        const report = await use(contextFor(fake, { sslVpn: true }), (d) => d.preflight());
        assert.match(report.checks.find((c) => c.name === 'SSL-VPN')?.detail ?? '', /Agentless VPN/);
      });
    });

    it('all or nothing: a VIP refusing the certificate puts the phase-1 and auth portal back', async () => {
      await withFake({ version: 'v7.4.3', phase1: [{ name: 'hq' }], vips: [{ name: 'web' }] }, async (fake) => {
        const v = ca.issue('atomic-vip.example.test');
        const ctx = contextFor(fake, { authPortal: true, ipsecPhase1: 'hq', vips: 'web' }, [v]);
        const staged = await use(ctx, (d) => d.stage(v));
        fake.failNext(/\/firewall\/vip\/web$/, { method: 'PUT', status: 500, error: -651 });
        const error = await rejection(use(ctx, (d) => d.activate(staged)));
        assert.match(
          error.message,
          /^fortigate: bind \S+ to the VIP "web": the device does not know the certificate named .*\(error -651\)$/,
        );
        assert.deepEqual(fake.bindings().phase1, { hq: ['Fortinet_Factory'] });
        assert.deepEqual(fake.bindings().authCert, { root: 'Fortinet_Factory' });
        assert.deepEqual(fake.bindings().vips, { web: ['Fortinet_Factory'] });
      });
    });

    it('VIP endpoints: preflight shows where a VIP answers; an endpoint on another port fails the check; 403 names the Firewall permission', async () => {
      await withFake({ vips: [{ name: 'web' }] }, async (fake) => {
        const port = fake.endpoints.vips['web']?.port;
        const unverified = await use(contextFor(fake, { vips: 'web' }), (d) => d.preflight());
        assert.match(
          unverified.checks.find((c) => c.name === 'VIP "web"')?.detail ?? '',
          new RegExp(`answers on 127\\.0\\.0\\.1:${port} \\(not checked after a deploy: add 127\\.0\\.0\\.1:${port}`),
        );
        const wrong = await use(contextFor(fake, { vips: 'web', vipEndpoints: '127.0.0.1:1' }), (d) => d.preflight());
        const check = wrong.checks.find((c) => c.name === 'VIP "web"');
        assert.equal(check?.ok, false);
        assert.match(check?.detail ?? '', /none of the VIP TLS endpoints/);
      });
      await withFake({ vips: [{ name: 'web' }], forbidden: /\/firewall\/vip\// }, async (fake) => {
        const error = await rejection(use(contextFor(fake, { vips: 'web' }), (d) => d.preflight()));
        assert.equal(error.type, FailureType.targetPermission);
        assert.match(
          error.message,
          /^fortigate: read VIP "web" in VDOM root: permission denied \(HTTP 403\)\. .*Firewall \(fwgrp\)/,
        );
      });
    });

    it('VDOMs: a phase-1 and the auth portal of VDOM cust1 are found and bound only through that VDOM, with a VDOM-scoped certificate', async () => {
      await withFake(
        { vdoms: ['root', 'cust1'], sslVpnVdom: 'cust1', phase1: [{ name: 'cust-tun', vdom: 'cust1' }] },
        async (fake) => {
          const v = ca.issue('vdom-vpn.example.test');
          const fromRoot = await use(contextFor(fake, { ipsecPhase1: 'cust-tun' }), (d) => d.preflight());
          assert.match(
            fromRoot.checks.find((c) => c.name === 'IPsec phase-1 "cust-tun"')?.detail ?? '',
            /does not exist in VDOM root/,
          );
          const ctx = contextFor(fake, { ipsecPhase1: 'cust-tun', authPortal: true }, [v], { vdom: 'cust1' });
          const staged = await use(ctx, (d) => d.stage(v));
          await use(ctx, (d) => d.activate(staged));
          assert.equal(fake.localCertificates().find((c) => c.name === staged['cert'])?.vdom, 'cust1');
          assert.deepEqual(fake.bindings().phase1, { 'cust-tun': [staged['cert']] });
          assert.deepEqual(fake.bindings().authCert, { root: 'Fortinet_Factory', cust1: staged['cert'] });
          await verifyServedFingerprint('fortigate', [fake.endpoints.authPortal], v.fingerprintSha256);
          assert.ok(fake.calls.every((c) => c.query['vdom'] === 'root' || c.query['vdom'] === 'cust1'));
        },
      );
    });

    it('removeSuperseded keeps a certificate still bound to a phase-1 or VIP', async () => {
      await withFake({ version: 'v7.4.3', phase1: [{ name: 'hq' }], vips: [{ name: 'web' }] }, async (fake) => {
        const v1 = ca.issue('keep.example.test');
        const ctx = contextFor(fake, { ipsecPhase1: 'hq', vips: 'web' }, [v1]);
        const staged1 = await use(ctx, (d) => d.stage(v1));
        await use(ctx, (d) => d.activate(staged1));
        assert.deepEqual(await use(ctx, (d) => d.removeSuperseded([], [staged1])), []);
        assert.ok(
          fake
            .view()
            .certificateObjects()
            .includes(staged1['cert'] ?? '?'),
        );
      });
    });

    it('an invalid binding is reported by preflight and refused by stage with VALIDATION_FAILED', async () => {
      await withFake({}, async (fake) => {
        const ctx = contextFor(fake, { ipsecPhase1: 'has/slash', vips: 'ok-vip', vipEndpoints: 'no-port' });
        const report = await use(ctx, (d) => d.preflight());
        const check = report.checks.find((c) => c.name === 'bindings');
        assert.equal(check?.ok, false);
        assert.match(
          check?.detail ?? '',
          /ipsecPhase1: Not a phase-1 interface name: has\/slash.*vipEndpoints: Not host:port: no-port/,
        );
        const error = await rejection(use(ctx, (d) => d.stage(ca.issue('bad.example.test'))));
        assert.equal(error.type, FailureType.validation);
      });
    });
  });

  describe('descriptor', () => {
    it('lists: names split on commas and new lines, deduplicated; VIP endpoints as host:port; validation messages', () => {
      const parsed = fortigateDescriptor.parseBinding({
        ipsecPhase1: 'hq,\n branch ,hq',
        vips: ['web', 'mail vip'],
        vipEndpoints: '203.0.113.10:443, [2001:db8::10]:8443',
      });
      assert.deepEqual(parsed, {
        value: {
          adminGui: false,
          sslVpn: false,
          authPortal: false,
          ipsecPhase1: ['hq', 'branch'],
          vips: ['web', 'mail vip'],
          vipEndpoints: ['203.0.113.10:443', '[2001:db8::10]:8443'],
        },
        errors: {},
      });
      // The parsed binding is what the console stores and shows again: it parses to itself.
      assert.deepEqual(fortigateDescriptor.parseBinding(parsed.value), parsed);
      assert.match(
        fortigateDescriptor.parseBinding({ ipsecPhase1: 'x'.repeat(16) }).errors['ipsecPhase1'] ?? '',
        /1 to 15/,
      );
      assert.match(
        fortigateDescriptor.parseBinding({ vips: 'a"b' }).errors['vips'] ?? '',
        /Not a virtual IP name: a"b/,
      );
      assert.match(
        fortigateDescriptor.parseBinding({ vips: 'web', vipEndpoints: 'web:99999' }).errors['vipEndpoints'] ?? '',
        /Not host:port/,
      );
      assert.match(
        fortigateDescriptor.parseBinding({ adminGui: true, vipEndpoints: '10.0.0.1:443' }).errors['vipEndpoints'] ?? '',
        /name at least one VIP/,
      );
      assert.match(fortigateDescriptor.parseBinding({ authPortal: 'maybe' }).errors['authPortal'] ?? '', /ticked/);
      assert.deepEqual(fortigateDescriptor.parseBinding({ authPortal: 'on' }).errors, {});
    });

    it('verify endpoints: admin GUI, SSL-VPN and auth portal on the target host, VIPs where given, none for IPsec', () => {
      const target = { host: 'fw.example.test', port: 8443, options: { authPortalPort: '2003' } };
      assert.deepEqual(
        fortigateDescriptor.defaultVerifyEndpoints(target, {
          adminGui: true,
          sslVpn: true,
          authPortal: true,
          ipsecPhase1: 'hq',
          vips: 'web',
          vipEndpoints: '203.0.113.10:443',
        }),
        [
          { host: 'fw.example.test', port: 8443 },
          { host: 'fw.example.test', port: 10443 },
          { host: 'fw.example.test', port: 2003 },
          { host: '203.0.113.10', port: 443 },
        ],
      );
      assert.deepEqual(fortigateDescriptor.defaultVerifyEndpoints(target, { ipsecPhase1: 'hq' }), []);
    });
  });
});
