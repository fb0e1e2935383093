/**
 * Management GUI rebinding keeps our trust (issue 13 item 3; docs/management-trust.md), on the real
 * stack: targets addressed by IP (127.0.0.1) and trusted through the CA that issued their management
 * certificate. A deploy binds the new (Pebble) certificate to the admin GUI, which replaces the very
 * certificate our own management calls check:
 * - a forced rollback (the device serves the leaf without its intermediate, so verify fails) still
 *   reaches the device and puts the old GUI certificate back, instead of failing TARGET_TLS_UNTRUSTED;
 * - a verified deploy completes, its cleanup reaches the device, and the target ends pinned to the new
 *   certificate, with the credentials still usable, an audit entry by the worker, the target page
 *   showing the pin and the audit page listing the entry;
 * - the next verified deploy re-pins the pinned target, audited the same way.
 * One entry per vendor that can bind its GUI (VENDORS below): FortiGate's admin-server-cert, SonicWall's
 * web management and PAN-OS's management profile (deviceconfig/system ssl-tls-service-profile).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { createDeviceHttp } from '../../activities/deployers/device-http';
import type { VerifyEndpoint } from '../../activities/deployers/types';
import { servedCertificate } from '../../activities/deployers/verify-served';
import { REPIN_AUDIT_ACTION } from '../../activities/management-trust';
import { certificateWorkflowId, type LifecycleResult } from '../../temporal/contract';
import { startFakeFortiGate } from '../fakes/fortigate/server';
import { startFakePanos } from '../fakes/panos/server';
import { keyCache, panosContext, settle, usePanos } from '../fakes/panos/harness';
import { startFakeSonicWall } from '../fakes/sonicwall/server';
import { createTestCa, type TestCa } from '../support/certificates';
import type { ConsoleClient } from '../support/console-client';
import { addTarget, linkDeployment, renewNow, type TargetForm } from '../support/console-actions';
import { fastDeployEnv, signInWithIssuer, startStackWithClient, type ConsoleIssuer } from '../support/issuing-stack';
import type { Stack } from '../support/stack';

/** A fake appliance whose admin GUI presents `managementName`, a certificate issued by the test CA for 127.0.0.1. */
interface GuiDevice {
  target: Omit<TargetForm, 'name' | 'fingerprint' | 'caPem'>;
  /** Binding fields that bind the admin GUI (and nothing else). */
  binding: Record<string, string>;
  management: VerifyEndpoint;
  managementName: string;
  /** What the admin GUI is bound to now (a certificate object name). */
  guiBoundTo(): string;
  /** TEST SWITCH of the fakes: serve the bound leaf without its intermediates (verify fails, retryably). */
  serveLeafOnly(on: boolean): void;
  close: () => Promise<void>;
}

interface VendorCase {
  vendor: string;
  start(ca: TestCa): Promise<GuiDevice>;
}

const VENDORS: VendorCase[] = [
  {
    vendor: 'fortigate',
    async start(ca) {
      const token = 'fgt-token-gui-trust-1';
      const fake = await startFakeFortiGate({ token });
      const cert = ca.issue('fgt-management', 'ecdsa-p256', ['IP:127.0.0.1']);
      fake.seedCaCertificate(ca.intermediatePem);
      fake.seedLocalCertificate({ name: 'mgmt-ca', certPem: cert.certPem, keyPem: cert.keyPem });
      // Bound to the admin GUI through the API, as an admin would ([acme.sh-fgt] set_active_web_cert).
      const setup = createDeviceHttp(
        { host: fake.host, port: fake.port, trust: { fingerprintSha256: fake.managementFingerprint() } },
        'test',
      );
      const bound = await setup.request('PUT', '/api/v2/cmdb/system/global', {
        headers: { authorization: `Bearer ${token}` },
        json: { 'admin-server-cert': 'mgmt-ca' },
      });
      assert.equal(bound.status, 200, bound.text);
      return {
        target: {
          vendor: 'fortigate',
          host: fake.host,
          port: fake.port,
          credentials: { token },
          options: { sslVpnPort: String(fake.endpoints.sslVpn?.port ?? 0) },
        },
        binding: { adminGui: 'on' },
        management: fake.endpoints.admin,
        managementName: 'mgmt-ca',
        guiBoundTo: () => fake.bindings().adminServerCert,
        serveLeafOnly: (on) => fake.view().serveLeafOnly?.(on),
        close: () => fake.close(),
      };
    },
  },
  {
    vendor: 'sonicwall',
    async start(ca) {
      const password = 'sw-admin-password-gui';
      const cert = ca.issue('sw-management', 'ecdsa-p256', ['IP:127.0.0.1']);
      const fake = await startFakeSonicWall({
        users: { admin: password },
        webManagementCertificate: {
          name: 'mgmt-ca',
          certPem: cert.certPem,
          keyPem: cert.keyPem,
          chainPems: [ca.intermediatePem],
        },
      });
      return {
        target: {
          vendor: 'sonicwall',
          host: fake.host,
          port: fake.port,
          credentials: { username: 'admin', password, ftpPassword: '' },
          options: { sslVpnPort: String(fake.endpoints.sslVpn.port) },
        },
        binding: { webManagement: 'on' },
        management: fake.endpoints.management,
        managementName: 'mgmt-ca',
        guiBoundTo: () => {
          const ref = fake.bindings().webManagement;
          return 'name' in ref ? ref.name : '(self-signed)';
        },
        serveLeafOnly: (on) => fake.view().serveLeafOnly?.(on),
        close: () => fake.close(),
      };
    },
  },
  {
    vendor: 'panos',
    async start(ca) {
      const fake = await startFakePanos({ profiles: [{ name: 'mgmt-ui' }] });
      const cert = ca.issue('pan-management', 'ecdsa-p256', ['IP:127.0.0.1']);
      // Bound to the management profile with CertFleet's own deployer under a pin, as an admin would set it up.
      const ctx = panosContext(fake, keyCache(), {
        profiles: ['mgmt-ui'],
        binding: { adminGui: 'on' },
        trust: { fingerprintSha256: fake.managementFingerprint, alsoAccept: [cert.fingerprintSha256] },
      });
      const staged = await usePanos(ctx, (d) => d.stage(cert));
      assert.deepEqual(await usePanos(ctx, async (d) => settle(d, await d.activate(staged))), { state: 'done' });
      const managementName = fake.profileCertificate('mgmt-ui', 'running') ?? assert.fail('mgmt-ui has a certificate');
      return {
        target: {
          vendor: 'panos',
          host: fake.host,
          port: fake.port,
          credentials: { username: fake.username, password: fake.password },
        },
        binding: { profiles: 'mgmt-ui', adminGui: 'on' },
        management: { host: fake.host, port: fake.port },
        managementName,
        guiBoundTo: () =>
          fake.managementProfile() === 'mgmt-ui'
            ? (fake.profileCertificate('mgmt-ui', 'running') ?? '')
            : '(device certificate)',
        serveLeafOnly: (on) => fake.view().serveLeafOnly?.(on),
        close: () => fake.close(),
      };
    },
  },
];

describe('management GUI rebinding keeps our trust (CA-trusted targets addressed by IP)', () => {
  let stack: Stack;
  let client: Client;
  let issuer: ConsoleIssuer;
  let admin: ConsoleClient;
  let ca: TestCa;

  before(async () => {
    ({ stack, client } = await startStackWithClient({ env: fastDeployEnv(2_000, 3) }));
    ca = createTestCa();
    await stack.startWorker();
    issuer = await signInWithIssuer(stack, 'GUI trust tests');
    admin = issuer.admin;
  });
  after(async () => {
    await stack?.stop();
    ca?.dispose();
  });

  for (const vendorCase of VENDORS) {
    describe(vendorCase.vendor, () => {
      let device: GuiDevice;
      let targetId: string;
      let certificateId: string;
      const caBundle = (): string => ca.rootPem + ca.intermediatePem;

      const renew = async (): Promise<LifecycleResult> => {
        await renewNow(admin, certificateId);
        return (await client.workflow.getHandle(certificateWorkflowId(certificateId)).result()) as LifecycleResult;
      };
      const currentFingerprint = async (): Promise<string> => {
        const [row] = await stack.db.db.query<{ fingerprint_sha256: string }>(
          'SELECT v.fingerprint_sha256 FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = $1',
          [certificateId],
        );
        assert.ok(row);
        return row.fingerprint_sha256;
      };
      const trustOfTarget = async (): Promise<{ trust_fingerprint: string | null; trust_ca_pem: string | null }> => {
        const [row] = await stack.db.db.query<{ trust_fingerprint: string | null; trust_ca_pem: string | null }>(
          'SELECT trust_fingerprint, trust_ca_pem FROM targets WHERE id = $1',
          [targetId],
        );
        assert.ok(row);
        return row;
      };
      const repinAudits = async (): Promise<
        {
          actor: string;
          before: { trust: Record<string, string> };
          after: { trust: { fingerprintSha256: string }; name: string };
        }[]
      > =>
        stack.db.db.query(
          "SELECT actor, before, after FROM audit_log WHERE action = $1 AND entity_type = 'target' AND entity_id = $2 ORDER BY id",
          [REPIN_AUDIT_ACTION, targetId],
        );
      const stepsOfLastRun = async (): Promise<{ step: string; status: string; detail: string | null }[]> =>
        stack.db.db.query(
          `SELECT step, status, detail FROM deployment_run_steps
            WHERE run_id = (SELECT max(r.id) FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id WHERE d.certificate_id = $1) ORDER BY id`,
          [certificateId],
        );

      before(async () => {
        device = await vendorCase.start(ca);
        assert.equal((await servedCertificate(device.management)).fingerprintSha256.length, 64);
        targetId = await addTarget(admin, { ...device.target, name: `GUI ${vendorCase.vendor}`, caPem: caBundle() });
        certificateId = (await issuer.issue(`gui-${vendorCase.vendor}.example.test`)).id;
        await linkDeployment(admin, certificateId, targetId, device.binding, []);
      });
      after(async () => {
        await device?.close();
      });

      it('a failed verify after the GUI was rebound rolls back through the management API (not TARGET_TLS_UNTRUSTED)', async () => {
        const managementBefore = (await servedCertificate(device.management)).fingerprintSha256;
        device.serveLeafOnly(true);
        let result: LifecycleResult;
        try {
          result = await renew();
        } finally {
          device.serveLeafOnly(false);
        }
        const [deployment] = result.deployments ?? [];
        assert.equal(deployment?.outcome, 'rolled_back', JSON.stringify(result));
        assert.match(deployment?.reason ?? '', /without its intermediate/);
        assert.doesNotMatch(deployment?.reason ?? '', /TLS|untrusted|pinned/i);
        assert.equal(device.guiBoundTo(), device.managementName, 'the admin GUI is bound to its certificate again');
        assert.equal((await servedCertificate(device.management)).fingerprintSha256, managementBefore);
        // Nothing verified: the target keeps its CA trust, and nothing was audited.
        assert.deepEqual(await trustOfTarget(), { trust_fingerprint: null, trust_ca_pem: caBundle() });
        assert.deepEqual(await repinAudits(), []);
        const steps = await stepsOfLastRun();
        assert.ok(
          steps.some((s) => s.step === 'rollback' && s.status === 'succeeded'),
          JSON.stringify(steps),
        );
      });

      it('a verified GUI rebinding completes, cleans up through the new certificate and pins it, audited', async () => {
        const result = await renew();
        assert.equal(result.outcome, 'issued', JSON.stringify(result));
        assert.deepEqual(
          result.deployments?.map((d) => d.outcome),
          ['deployed'],
          JSON.stringify(result),
        );
        const fingerprint = await currentFingerprint();
        assert.equal(
          (await servedCertificate(device.management)).fingerprintSha256,
          fingerprint,
          'the admin GUI serves the new certificate',
        );
        assert.deepEqual(await trustOfTarget(), { trust_fingerprint: fingerprint, trust_ca_pem: null });

        const steps = await stepsOfLastRun();
        const trustStep = steps.find((s) => s.step === 'management trust');
        assert.equal(trustStep?.status, 'succeeded', JSON.stringify(steps));
        assert.match(trustStep?.detail ?? '', new RegExp(`pinned to ${fingerprint} \\(was trusted through its CA\\)`));
        // The rolled-back run's objects are removed after the switch: the device was reached with the new pin and re-sealed credentials.
        const cleanup = steps.filter((s) => s.step === 'cleanup');
        assert.deepEqual(
          cleanup.map((s) => s.status),
          ['succeeded'],
          JSON.stringify(steps),
        );
        assert.match(cleanup[0]?.detail ?? '', /^removed /);

        const audits = await repinAudits();
        assert.equal(audits.length, 1);
        assert.equal(audits[0]?.actor, 'certfleet-worker');
        assert.match(audits[0]?.before.trust['caBundleSha256'] ?? '', /^[0-9a-f]{64}$/);
        assert.equal(audits[0]?.after.trust.fingerprintSha256, fingerprint);
        assert.equal(audits[0]?.after.name, `GUI ${vendorCase.vendor}`);

        const page = await admin.get(`/targets/${targetId}`);
        assert.equal(page.status, 200);
        assert.match(page.text, new RegExp(`pinned <span class="mono wrap">${fingerprint}</span>`));
        assert.doesNotMatch(page.text, /trusted through a CA/);
        const audit = await admin.get(`/audit?action=${encodeURIComponent(REPIN_AUDIT_ACTION)}&entityId=${targetId}`);
        assert.equal(audit.status, 200);
        assert.match(
          audit.text,
          new RegExp(
            `<td>certfleet-worker</td>[\\s\\S]*?<td>${REPIN_AUDIT_ACTION.replace(/\./g, '\\.')}</td><td>target ${targetId}</td>`,
          ),
        );
      });

      it('the next verified GUI rebinding re-pins the pinned target, audited the same way', async () => {
        const pinnedBefore = (await trustOfTarget()).trust_fingerprint;
        const result = await renew();
        assert.deepEqual(
          result.deployments?.map((d) => d.outcome),
          ['deployed'],
          JSON.stringify(result),
        );
        const fingerprint = await currentFingerprint();
        assert.notEqual(fingerprint, pinnedBefore);
        assert.deepEqual(await trustOfTarget(), { trust_fingerprint: fingerprint, trust_ca_pem: null });
        const audits = await repinAudits();
        assert.equal(audits.length, 2);
        assert.deepEqual(audits[1]?.before.trust, { fingerprintSha256: pinnedBefore });
        assert.equal(audits[1]?.after.trust.fingerprintSha256, fingerprint);
      });
    });
  }
});
