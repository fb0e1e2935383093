/**
 * The PAN-OS deployer behind Panorama (docs/vendors/panos.md "Panorama"), against test/fakes/panos:
 * the deploy contract for Panorama's own certificate, a template and a template stack, then the
 * Panorama cases (xpaths, the push after the commit, a firewall failing the push, preflight).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CertificateMaterial } from '../../activities/deployers/types';
import { expectedChainOf, verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { deployPanos as deploy, keyCache, panosContext, settle, usePanos } from '../fakes/panos/harness';
import { type FakePanosOptions } from '../fakes/panos/server';
import { suiteTestCa } from '../support/suite-ca';
import { runPanosContract, withFakePanos as withFake, withPanosClient } from '../support/panos-suite';

const TEMPLATE = 'branch-fw';
const STACK = 'branch-stack';
const HAMBURG = { serial: '007951000111111', name: 'fw-hamburg' };
const BREMEN = { serial: '007951000222222', name: 'fw-bremen' };
const TEMPLATE_XPATH = `/config/devices/entry[@name='localhost.localdomain']/template/entry[@name='${TEMPLATE}']/config`;

const contract = runPanosContract;

contract('Panorama own', { panorama: true, profiles: [{ name: 'panorama-gui' }] }, { kind: 'panorama' }, [
  'panorama-gui',
]);
contract(
  'template',
  {
    panorama: true,
    templates: [{ name: TEMPLATE, devices: [HAMBURG] }],
    profiles: [{ name: 'gp-portal', template: TEMPLATE }],
  },
  { kind: 'template', template: TEMPLATE },
  ['gp-portal'],
);
contract(
  'template stack',
  {
    panorama: true,
    templates: [{ name: TEMPLATE }],
    templateStacks: [{ name: STACK, templates: [TEMPLATE], devices: [HAMBURG, BREMEN] }],
    profiles: [{ name: 'gp-portal', template: TEMPLATE, vsys: 'vsys1' }],
  },
  { kind: 'template-stack', template: TEMPLATE, templateStack: STACK, vsys: 'vsys1' },
  ['gp-portal'],
);

describe('panos deployer: Panorama cases', () => {
  const ca = suiteTestCa();
  let v1: CertificateMaterial;
  before(() => {
    v1 = ca.issue('portal.example.test', 'ecdsa-p256');
  });

  const templateFake: FakePanosOptions = {
    panorama: true,
    templates: [{ name: TEMPLATE, devices: [HAMBURG] }],
    profiles: [{ name: 'gp-portal', template: TEMPLATE }],
  };
  const templateOptions = { kind: 'template', template: TEMPLATE };

  it("Panorama's own certificate lives under /config/panorama: a read-back under /config/shared finds nothing", async () => {
    await withFake({ panorama: true, profiles: [{ name: 'panorama-gui' }] }, async (fake) => {
      const ctx = panosContext(fake, keyCache(), { options: { kind: 'panorama' }, profiles: ['panorama-gui'] });
      const staged = await usePanos(ctx, (d) => d.stage(v1));
      const name = staged['cert'] ?? '';
      assert.ok(name.length <= 31, name);
      const reads = fake.calls.filter((c) => c.action === 'get').map((c) => c.xpath);
      assert.ok(reads.includes(`/config/panorama/certificate/entry[@name='${name}']`), reads.join(', '));
      const imports = fake.calls.filter((c) => c.type === 'import');
      assert.ok(
        imports.every((c) => c.params['target-tpl'] === undefined),
        'no template parameter for Panorama itself',
      );

      // Where CertFleet read back before (/config/shared/certificate), Panorama has nothing: that read-back would fail.
      await withPanosClient(fake, async (client, key) => {
        const shared = await client.getConfig(key, `/config/shared/certificate/entry[@name='${name}']`);
        assert.deepEqual([shared.status, shared.code], ['success', '7']);
      });

      assert.deepEqual(await usePanos(ctx, async (d) => settle(d, await d.activate(staged))), { state: 'done' });
      assert.equal(fake.profileCertificate('panorama-gui', 'running'), name);
      assert.deepEqual(
        fake.jobs().map((j) => j.type),
        ['Commit'],
        'Panorama itself is committed, nothing pushed',
      );
      await verifyServedFingerprint('panos', fake.endpoints, expectedChainOf(v1.fingerprintSha256, v1.chainPems));
    });
  });

  it('a template: import with target-tpl, profile under the template, commit on Panorama, then the push; firewalls change only with the push', async () => {
    await withFake(templateFake, async (fake) => {
      const ctx = panosContext(fake, keyCache(), { options: templateOptions, profiles: ['gp-portal'] });
      const staged = await usePanos(ctx, (d) => d.stage(v1));
      const imports = fake.calls.filter((c) => c.type === 'import');
      assert.deepEqual(
        imports.map((c) => [c.category, c.params['target-tpl']]),
        [
          ['certificate', TEMPLATE],
          ['private-key', TEMPLATE],
        ],
      );
      assert.ok(
        imports.every((c) => c.queryParams.includes('target-tpl')),
        'target-tpl is in the query string',
      );

      const activation = await usePanos(ctx, (d) => d.activate(staged));
      assert.match(activation.jobId ?? '', /^commit:\d+:push$/);
      assert.deepEqual(activation.previous, { 'gp-portal': fake.defaultCertificateName });
      assert.equal(
        fake.calls.find((c) => c.action === 'set')?.xpath,
        `${TEMPLATE_XPATH}/shared/ssl-tls-service-profile/entry[@name='gp-portal']`,
      );

      const status = await usePanos(ctx, async (d) => {
        // Committed on Panorama but not pushed yet: the firewall still serves the old certificate.
        let s = await d.activationStatus(activation.jobId ?? '');
        while (s.state === 'pending' && !fake.jobs().some((j) => j.type === 'CommitAll'))
          s = await d.activationStatus(activation.jobId ?? '');
        assert.equal(fake.profileCertificate('gp-portal', 'running'), staged['cert'], 'committed on Panorama');
        assert.equal(
          fake.profileCertificate('gp-portal', 'pushed'),
          fake.defaultCertificateName,
          'not yet on the firewall',
        );
        await verifyServedFingerprint('panos', fake.endpoints, fake.defaultCertificateFingerprint);
        return settle(d, activation);
      });
      assert.equal(status.state, 'done');
      // The run's history shows the push's result per firewall.
      assert.match(
        status.state === 'done' ? (status.detail ?? '') : '',
        new RegExp(`^push job \\d+ to template ${TEMPLATE}: OK on ${HAMBURG.serial}`),
      );
      assert.equal(fake.profileCertificate('gp-portal', 'pushed'), staged['cert']);
      const push = fake.calls.find((c) => c.type === 'commit' && c.action === 'all');
      assert.match(
        push?.cmd ?? '',
        new RegExp(
          `^<commit-all><template><name>${TEMPLATE}</name><description>CertFleet push after commit \\d+</description><admin><member>${fake.username}</member></admin></template></commit-all>$`,
        ),
      );
      await verifyServedFingerprint('panos', fake.endpoints, expectedChainOf(v1.fingerprintSha256, v1.chainPems));

      // A retried poll after the push finds the push it started instead of pushing again.
      assert.equal((await usePanos(ctx, (d) => d.activationStatus(activation.jobId ?? ''))).state, 'done');
      assert.deepEqual(
        fake.jobs().map((j) => j.type),
        ['Commit', 'CommitAll'],
      );
    });
  });

  it("another admin's commit lock between the commit and the push: the handle stays pending (no push) until the lock is released", async () => {
    await withFake({ ...templateFake, otherAdmins: { alice: 'alice-password' } }, async (fake) => {
      const ctx = panosContext(fake, keyCache(), { options: templateOptions, profiles: ['gp-portal'] });
      const activation = await usePanos(ctx, async (d) => d.activate(await d.stage(v1)));
      fake.lock('commit', 'alice');
      await usePanos(ctx, async (d) => {
        for (let i = 0; i < 10; i++) assert.equal((await d.activationStatus(activation.jobId ?? '')).state, 'pending');
      });
      assert.equal(fake.jobs().find((j) => j.type === 'Commit')?.result, 'OK', 'committed on Panorama');
      assert.equal(
        fake.jobs().some((j) => j.type === 'CommitAll'),
        false,
        'not pushed while locked',
      );
      fake.unlock('commit', 'alice');
      assert.equal((await usePanos(ctx, (d) => settle(d, activation))).state, 'done');
      assert.equal(fake.profileCertificate('gp-portal', 'pushed'), fake.profileCertificate('gp-portal', 'running'));
    });
  });

  it('a template stack push that fails on one firewall names its serial, name and message', async () => {
    await withFake(
      {
        panorama: true,
        templates: [{ name: TEMPLATE }],
        templateStacks: [{ name: STACK, templates: [TEMPLATE], devices: [HAMBURG, BREMEN] }],
        profiles: [{ name: 'gp-portal', template: TEMPLATE }],
      },
      async (fake) => {
        const ctx = panosContext(fake, keyCache(), {
          options: { kind: 'template-stack', template: TEMPLATE, templateStack: STACK },
          profiles: ['gp-portal'],
        });
        fake.failNextPush(BREMEN.serial, ['Validation Error:', 'gp-portal -> certificate is not a valid reference']);
        const status = await deploy(ctx, v1);
        assert.equal(status.state, 'failed');
        const detail = status.state === 'failed' ? status.detail : '';
        assert.match(
          detail,
          /^panos: push job \d+ to template-stack branch-stack failed on 1 of 2 firewall\(s\): 007951000222222 \(fw-bremen\): FAIL: Validation Error:; gp-portal -> certificate is not a valid reference$/,
        );
        assert.ok(!detail.includes(HAMBURG.serial), 'the firewall that took the push is not listed');
        const push = fake.jobs().find((j) => j.type === 'CommitAll');
        assert.deepEqual(
          push?.devices.map((d) => [d.serial, d.result]),
          [
            [HAMBURG.serial, 'OK'],
            [BREMEN.serial, 'FAIL'],
          ],
        );
        assert.match(
          fake.calls.find((c) => c.action === 'all')?.cmd ?? '',
          /^<commit-all><template-stack><name>branch-stack<\/name>/,
        );
      },
    );
  });

  it('preflight tells a firewall from a Panorama and offers only templates and stacks that exist', async () => {
    await withFake({ ...templateFake, templateStacks: [{ name: STACK, templates: ['other'] }] }, async (fake) => {
      const check = async (options: Record<string, unknown>, name: string) =>
        (
          await usePanos(panosContext(fake, keyCache(), { options, profiles: ['gp-portal'] }), (d) => d.preflight())
        ).checks.find((c) => c.name === name);
      const firewall = await check({}, 'device type');
      assert.equal(firewall?.ok, false);
      assert.match(firewall?.detail ?? '', /\(Panorama\) is a Panorama: choose the kind panorama/);
      const good = await usePanos(
        panosContext(fake, keyCache(), { options: templateOptions, profiles: ['gp-portal'] }),
        (d) => d.preflight(),
      );
      assert.ok(
        good.checks.every((c) => c.ok),
        JSON.stringify(good.checks),
      );
      assert.match(
        good.checks.find((c) => c.name === 'templates')?.detail ?? '',
        /template branch-fw exists; templates: branch-fw; template stacks: branch-stack/,
      );
      assert.deepEqual(good.changes, [`profile gp-portal: ${fake.defaultCertificateName} → new certificate`]);
      const missing = await check({ kind: 'template', template: 'nope' }, 'templates');
      assert.deepEqual(
        [missing?.ok, missing?.detail],
        [false, 'template "nope" does not exist; templates: branch-fw; template stacks: branch-stack'],
      );
      const notInStack = await check({ kind: 'template-stack', template: TEMPLATE, templateStack: STACK }, 'templates');
      assert.deepEqual(
        [notInStack?.ok, notInStack?.detail],
        [false, 'template stack branch-stack does not include template branch-fw (it has other)'],
      );
      const adminGui = (
        await usePanos(
          panosContext(fake, keyCache(), {
            options: templateOptions,
            profiles: ['gp-portal'],
            binding: { adminGui: 'on' },
          }),
          (d) => d.preflight(),
        )
      ).checks.find((c) => c.name === 'admin GUI');
      assert.equal(adminGui?.ok, false);
    });
    await withFake({}, async (fake) => {
      const report = await usePanos(panosContext(fake, keyCache(), { options: templateOptions }), (d) => d.preflight());
      const deviceType = report.checks.find((c) => c.name === 'device type');
      assert.deepEqual(
        [deviceType?.ok, deviceType?.detail],
        [false, 'PAN-OS 10.2.9 (PA-VM) is a firewall, not a Panorama: choose the kind firewall'],
      );
      assert.equal(
        report.checks.find((c) => c.name.startsWith('profile')),
        undefined,
        'no template xpaths read on a firewall',
      );
    });
  });
});
