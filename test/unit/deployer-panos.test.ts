/**
 * The PAN-OS deployer against test/fakes/panos: the shared deployer contract, then PAN-OS cases
 * (API key caching and re-keygen, name rules, partial commit scope, commit jobs, import pitfalls).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { panosDescriptor } from '../../activities/deployers/panos/descriptor';
import type { CertificateMaterial } from '../../activities/deployers/types';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { FailureType } from '../../temporal/contract';
import { assertChecks, assertVerifyPortsOnHost, failureOf } from '../support/assertions';
import {
  deployPanos as deploy,
  keyCache,
  panosContext as contextFor,
  settle,
  usePanos as use,
} from '../fakes/panos/harness';
import { suiteTestCa } from '../support/suite-ca';
import {
  commitPortalCertificate,
  runPanosContract,
  withFakePanos as withFake,
  withPanosClient,
} from '../support/panos-suite';
import { assertPinnedClientNeverResumes } from '../support/tls-handshakes';

const PROFILES = ['gp-portal', 'mgmt-ui'];

runPanosContract('firewall', { profiles: PROFILES.map((name) => ({ name })) }, {}, PROFILES);

describe('panos deployer: vendor cases', () => {
  const ca = suiteTestCa();
  let v1: CertificateMaterial;
  let v2: CertificateMaterial;
  before(() => {
    v1 = ca.issue('portal.example.test', 'ecdsa-p256');
    v2 = ca.issue('portal.example.test', 'rsa-2048');
  });

  it('caches the API key: keygen once, then type=version; a key ended by another keygen is replaced', async () => {
    await withFake({}, async (fake) => {
      const cache = keyCache();
      const ctx = contextFor(fake, cache);
      const keygens = (): number => fake.calls.filter((c) => c.type === 'keygen').length;

      const first = await use(ctx, (d) => d.preflight());
      assert.equal(keygens(), 1);
      assert.ok(cache.value(), 'the key is stored');
      assert.match(first.checks.find((c) => c.name === 'API key')?.detail ?? '', /generated a new API key/);

      const before = fake.calls.length;
      const second = await use(ctx, (d) => d.preflight());
      assert.equal(keygens(), 1, 'the cached key is reused');
      assert.equal(fake.calls[before]?.type, 'version', 'the cached key is validated with type=version first');
      assert.match(second.checks.find((c) => c.name === 'API key')?.detail ?? '', /cached API key is still valid/);

      // Someone runs keygen for the same admin: our stored key stops working (docs/vendors/panos.md).
      const stolen = cache.value();
      fake.issueKey();
      await use(ctx, (d) => d.preflight());
      assert.equal(keygens(), 2, 'a new key was generated');
      assert.notEqual(cache.value(), stolen);

      // Mid-run: the key dies between two calls of one deployer; the call is repeated with a new key.
      await use(ctx, async (d) => {
        await d.preflight();
        fake.issueKey();
        await d.stage(v1);
      });
      assert.equal(keygens(), 3);
      assert.ok(fake.certificateNames().some((n) => n.startsWith('portal_example_test-')));

      // Keys and passwords never travel in a URL and are never recorded.
      const keyed = fake.calls.filter((c) => c.type !== 'keygen');
      assert.ok(
        keyed.every((c) => c.keyVia === 'header' && c.transport !== 'query'),
        'key in the X-PAN-KEY header, parameters in the body',
      );
      const recorded = JSON.stringify(fake.calls);
      for (const secret of fake.view().secrets) assert.ok(!recorded.includes(secret), 'no secret in the call log');
    });
  });

  it('a configured API key is used as is; a rejected one is TARGET_AUTH_FAILED', async () => {
    await withFake({}, async (fake) => {
      const key = fake.issueKey();
      const cache = keyCache();
      const report = await use(
        contextFor(fake, cache, { credentials: { username: fake.username, apiKey: key } }),
        (d) => d.preflight(),
      );
      assert.match(report.checks.find((c) => c.name === 'API key')?.detail ?? '', /configured API key is accepted/);
      assert.equal(fake.calls.filter((c) => c.type === 'keygen').length, 0);
      assert.equal(cache.writes, 0);
      const error = await failureOf(
        use(contextFor(fake, cache, { credentials: { username: fake.username, apiKey: 'LUFRPTwrong' } }), (d) =>
          d.preflight(),
        ),
        FailureType.targetAuth,
      );
      assert.match(error.message, /^panos: /);
      assert.ok(!error.message.includes('LUFRPTwrong'));
    });
  });

  it('names: no leading * or _, at most 63 characters on a firewall and 31 on Panorama (code 17 otherwise)', async () => {
    const long = ca.issue('*.a-rather-long-label-to-reach-the-limits.portal.example.test');
    await withFake({}, async (fake) => {
      const staged = await use(contextFor(fake, keyCache()), (d) => d.stage(long));
      const name = staged['cert'] ?? '';
      assert.match(name, /^wildcard_a-rather-long/);
      assert.ok(name.length <= 63, name);
      assert.ok(fake.hasPrivateKey(name));
    });
    await withFake({ panorama: true }, async (fake) => {
      // A target stored before the kind existed: the Panorama checkbox means Panorama's own certificate.
      const staged = await use(contextFor(fake, keyCache(), { options: { panorama: 'on' } }), (d) => d.stage(long));
      assert.ok((staged['cert'] ?? '').length <= 31, staged['cert']);
      assert.ok(fake.hasPrivateKey(staged['cert'] ?? ''));

      // Firewall rules against a Panorama: the device refuses the 63-character name with code 17.
      const firewallRules = contextFor(fake, keyCache());
      const error = await failureOf(
        use(firewallRules, (d) => d.stage(ca.issue('*.a-rather-long-label-to-reach-the-limits.portal.example.test'))),
        FailureType.targetRejected,
      );
      assert.match(error.message, /certificate-name '.{32,}' is invalid, code 17: invalid command/);
      const report = await use(firewallRules, (d) => d.preflight());
      const deviceType = report.checks.find((c) => c.name === 'device type');
      assert.equal(deviceType?.ok, false);
      assert.match(
        deviceType?.detail ?? '',
        /is a Panorama: choose the kind panorama \(its own certificate\), template or template-stack/,
      );
    });
  });

  it("activate commits only the API admin's changes: a human's pending edit stays pending", async () => {
    await withFake({ otherAdmins: { alice: 'alice-password' } }, async (fake) => {
      const xpath = "/config/shared/ssl-tls-service-profile/entry[@name='gp-portal']";
      await fake.editAs('alice', xpath, '<protocol-settings><min-version>tls1-1</min-version></protocol-settings>');
      const ctx = contextFor(fake, keyCache());
      const status = await deploy(ctx, v1);
      assert.deepEqual(status, { state: 'done' });
      const commit = fake.calls.find((c) => c.type === 'commit');
      assert.equal(commit?.action, 'partial');
      assert.equal(commit?.cmd, `<commit><partial><admin><member>${fake.username}</member></admin></partial></commit>`);
      assert.equal(fake.pendingChanges('alice').length, 1, "the human's change was not pushed");
      assert.deepEqual(fake.pendingChanges(fake.username), []);
      const name = fake.profileCertificate('gp-portal', 'running') ?? '';
      assert.match(name, /^portal_example_test-/);
      assert.equal(fake.profileCertificate('mgmt-ui', 'running'), name);
      await verifyServedFingerprint('panos', fake.endpoints, v1.fingerprintSha256);
      assert.ok(
        fake.calls.filter((c) => c.action === 'set').every((c) => c.element === `<certificate>${name}</certificate>`),
      );
    });
  });

  it('a failed commit job: activationStatus reports every detail line; nothing reaches the running config', async () => {
    await withFake({}, async (fake) => {
      const ctx = contextFor(fake, keyCache());
      const staged = await use(ctx, (d) => d.stage(v1));
      fake.failNextCommit([
        'Validation Error:',
        'ssl-tls-service-profile -> gp-portal -> protocol-settings is invalid',
      ]);
      const activation = await use(ctx, (d) => d.activate(staged));
      assert.ok(activation.jobId);
      assert.deepEqual(activation.previous, {
        'gp-portal': fake.defaultCertificateName,
        'mgmt-ui': fake.defaultCertificateName,
      });
      const status = await use(ctx, (d) => settle(d, activation));
      assert.equal(status.state, 'failed');
      const detail = status.state === 'failed' ? status.detail : '';
      assert.match(
        detail,
        new RegExp(
          `^panos: commit job ${activation.jobId} failed: Validation Error:; ssl-tls-service-profile -> gp-portal -> protocol-settings is invalid; Commit failed$`,
        ),
      );
      assert.equal(fake.profileCertificate('gp-portal', 'running'), fake.defaultCertificateName);
      await verifyServedFingerprint('panos', fake.endpoints, fake.defaultCertificateFingerprint);

      // The candidate still holds the change: rolling back and committing puts everything back.
      const back = await use(ctx, async (d) => {
        const rolled = await d.rollback(activation.previous);
        return { rolled, status: await settle(d, rolled) };
      });
      assert.equal(back.status.state, 'done');
      assert.equal(fake.profileCertificate('gp-portal', 'candidate'), fake.defaultCertificateName);

      // A commit the device refuses outright: TARGET_COMMIT_FAILED with its lines.
      fake.failNext(/type=commit/, {
        xml: '<response status="error" code="13"><msg><line>Commit failed</line><line>certificate is invalid</line></msg></response>',
      });
      const error = await failureOf(
        use(ctx, (d) => d.activate(staged)),
        FailureType.commitFailed,
      );
      assert.match(error.message, /^panos: activate: the commit was refused: Commit failed; certificate is invalid/);
      // A commit lock held by someone else: retry later.
      fake.failNext(/type=commit/, {
        xml: '<response status="error"><msg><line>Commit lock is currently held by alice</line></msg></response>',
      });
      await failureOf(
        use(ctx, (d) => d.activate(staged)),
        FailureType.deviceSessionBusy,
      );
    });
  });

  it('"There are no changes to commit." gives an activation without a job id', async () => {
    await withFake({}, async (fake) => {
      const ctx = contextFor(fake, keyCache());
      assert.deepEqual(await deploy(ctx, v1), { state: 'done' });
      const staged = await use(ctx, (d) => d.stage(v1));
      const again = await use(ctx, (d) => d.activate(staged));
      assert.equal(again.jobId, undefined);
      assert.equal(again.previous['gp-portal'], staged['cert']);
      const lastCommit = fake.calls.filter((c) => c.type === 'commit').at(-1);
      assert.equal(lastCommit?.code, '19');
      assert.equal(fake.jobs().length, 1);
    });
  });

  it('a private key refused after the certificate was imported is detected; a retry imports only the key', async () => {
    await withFake({}, async (fake) => {
      const ctx = contextFor(fake, keyCache());
      fake.failNext(/category=private-key/, {
        xml: '<response status="error"><msg><line>Import of private key failed: unsupported key</line></msg></response>',
      });
      const error = await failureOf(
        use(ctx, (d) => d.stage(v1)),
        FailureType.targetRejected,
      );
      assert.match(
        error.message,
        /certificate was imported as portal_example_test-\w+ but its private key was refused \(Import of private key failed: unsupported key\)/,
      );
      const name = fake.certificateNames().find((n) => n.startsWith('portal_example_test-')) ?? '';
      assert.equal(fake.hasPrivateKey(name), false);

      const importsBefore = fake.calls
        .filter((c) => c.type === 'import' && c.certificateName === name)
        .map((c) => c.category);
      const staged = await use(ctx, (d) => d.stage(v1));
      assert.equal(staged['cert'], name);
      assert.ok(fake.hasPrivateKey(name));
      const importsAfter = fake.calls
        .filter((c) => c.type === 'import' && c.certificateName === name)
        .map((c) => c.category);
      assert.deepEqual(importsAfter.slice(importsBefore.length), ['private-key']);
      const keyImport = fake.calls.filter((c) => c.category === 'private-key').at(-1);
      assert.equal(keyImport?.params['passphrase'], '********', 'a passphrase is sent (masked in the log)');
      assert.equal(keyImport?.transport, 'multipart');

      // A reply that claims success while the key never arrived: caught by reading the object back.
      const v3 = ca.issue('portal.example.test');
      fake.failNext(/category=private-key/, {
        xml: '<response status="success"><result>Successfully imported x into candidate configuration</result></response>',
      });
      const silent = await failureOf(
        use(ctx, (d) => d.stage(v3)),
        FailureType.targetRejected,
      );
      assert.match(silent.message, /reported success but the candidate object has no private key/);
    });
  });

  it('the fake keeps acme.sh #4716: a mismatched key is accepted at import and commit, and the service keeps the old pair', async () => {
    await withFake({}, async (fake) => {
      await withPanosClient(fake, async (client, key) => {
        const cert = await client.importFile(key, {
          category: 'certificate',
          certificateName: 'mixed',
          format: 'pem',
          fileName: 'c.pem',
          content: v1.certPem,
        });
        assert.equal(cert.status, 'success');
        const wrongKey = await client.importFile(key, {
          category: 'private-key',
          certificateName: 'mixed',
          format: 'pem',
          passphrase: 'unused',
          fileName: 'k.pem',
          content: v2.keyPem,
        });
        assert.equal(wrongKey.status, 'success', 'the device does not compare key and certificate');
        const noPassphrase = await client.importFile(key, {
          category: 'private-key',
          certificateName: 'mixed',
          format: 'pem',
          fileName: 'k.pem',
          content: v1.keyPem,
        });
        assert.equal(noPassphrase.status, 'error', 'a private key needs a passphrase');
        const job = await commitPortalCertificate(client, key, fake.username, 'mixed');
        assert.equal(job?.result, 'OK');
        assert.ok(fake.mismatchCommitted());
        await verifyServedFingerprint('panos', [fake.endpoint('gp-portal')], fake.defaultCertificateFingerprint);
        const invalidName = await client.importFile(key, {
          category: 'certificate',
          certificateName: '_leading',
          format: 'pem',
          fileName: 'c.pem',
          content: v1.certPem,
        });
        assert.deepEqual(
          [invalidName.status, invalidName.code, invalidName.messages],
          ['error', '17', ["upload -> certificate -> certificate-name '_leading' is invalid"]],
        );
      });
    });
  });

  it('serveStale: a device that keeps serving the old certificate fails verification', async () => {
    await withFake({}, async (fake) => {
      const ctx = contextFor(fake, keyCache());
      fake.serveStale(true);
      assert.deepEqual(await deploy(ctx, v1), { state: 'done' });
      const error = await failureOf(
        verifyServedFingerprint('panos', fake.endpoints, v1.fingerprintSha256),
        FailureType.verifyMismatch,
      );
      assert.match(error.message, /not the new/);
      fake.serveStale(false);
      await verifyServedFingerprint('panos', fake.endpoints, v1.fingerprintSha256);
    });
  });

  it('removeSuperseded never deletes a certificate a profile references', async () => {
    await withFake({}, async (fake) => {
      const ctx = contextFor(fake, keyCache());
      const staged = await use(ctx, (d) => d.stage(v1));
      await use(ctx, async (d) => settle(d, await d.activate(staged)));
      const removed = await use(ctx, (d) => d.removeSuperseded([], [staged]));
      assert.ok(!removed.includes(staged['cert'] ?? ''), removed.join(', '));
      assert.ok(fake.certificateNames('running').includes(staged['cert'] ?? ''));

      // A failed cleanup commit surfaces as TARGET_COMMIT_FAILED with the job's lines.
      const old = await use(ctx, (d) => d.stage(v2));
      fake.failNextCommit(['Validation Error:', 'something else is invalid']);
      const error = await failureOf(
        use(ctx, (d) => d.removeSuperseded([staged], [old])),
        FailureType.commitFailed,
      );
      assert.match(error.message, /commit job \d+ failed: Validation Error:; something else is invalid/);
    });
  });

  it('profiles in a vsys are bound through the vsys xpath', async () => {
    await withFake({ profiles: [{ name: 'gp-portal', vsys: 'vsys2' }] }, async (fake) => {
      const ctx = contextFor(fake, keyCache(), { options: { vsys: 'vsys2' }, profiles: ['gp-portal'] });
      const report = await use(ctx, (d) => d.preflight());
      assert.deepEqual(report.changes, [`profile gp-portal: ${fake.defaultCertificateName} → new certificate`]);
      assert.deepEqual(await deploy(ctx, v1), { state: 'done' });
      const set = fake.calls.find((c) => c.action === 'set');
      assert.equal(
        set?.xpath,
        "/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='vsys2']/ssl-tls-service-profile/entry[@name='gp-portal']",
      );
      await verifyServedFingerprint('panos', fake.endpoints, v1.fingerprintSha256);
      // A profile that does not exist: a failed check, not an exception.
      const missing = await use(contextFor(fake, keyCache(), { profiles: ['gp-portal'] }), (d) => d.preflight());
      assert.equal(missing.checks.find((c) => c.name === 'profile gp-portal')?.ok, false);
    });
  });

  it('pinned trust survives TLS session resumption on the management API', async () => {
    await withFake({ sessionResumption: true }, async (fake) => {
      const cache = keyCache();
      await assertPinnedClientNeverResumes(fake, 'PAN-OS', async (i) => {
        const report = await use(contextFor(fake, cache), (d) => d.preflight());
        assertChecks(report, ['API key', 'firmware', 'device type', 'locks', 'profile gp-portal', 'profile mgmt-ui']);
        assert.equal(
          report.checks[0]?.detail,
          i === 0 ? 'generated a new API key for admin certfleet-api' : 'the cached API key is still valid',
        );
        assert.equal(report.firmware, 'PAN-OS 10.2.9 (PA-VM)');
      });
    });
  });

  it('descriptor: clear validation messages, typed values and verify endpoints', () => {
    const creds = panosDescriptor.parseCredentials({ username: '', password: '' });
    assert.match(creds.errors['username'] ?? '', /API admin/);
    assert.match(creds.errors['password'] ?? '', /password, or an API key/);
    assert.deepEqual(panosDescriptor.parseCredentials({ username: 'api', apiKey: ' KEY ' }), {
      value: { username: 'api', apiKey: 'KEY' },
      errors: {},
    });
    assert.deepEqual(panosDescriptor.parseCredentials({ username: 'api', password: ' p w ' }).value, {
      username: 'api',
      password: ' p w ',
    });

    assert.deepEqual(panosDescriptor.parseOptions({ vsys: 'VSYS2' }), {
      value: { kind: 'firewall', vsys: 'vsys2' },
      errors: {},
    });
    assert.deepEqual(panosDescriptor.parseOptions({}), { value: { kind: 'firewall' }, errors: {} });
    assert.deepEqual(
      panosDescriptor.parseOptions({ panorama: 'on' }),
      { value: { kind: 'panorama' }, errors: {} },
      'the old Panorama checkbox maps to the kind panorama',
    );
    assert.deepEqual(
      panosDescriptor.parseOptions({ panorama: 'on', kind: 'firewall' }).value,
      { kind: 'firewall' },
      'an explicit kind wins',
    );
    assert.match(
      panosDescriptor.parseOptions({ panorama: 'on', vsys: 'vsys2' }).errors['vsys'] ?? '',
      /no virtual system/,
    );
    assert.match(panosDescriptor.parseOptions({ vsys: 'shared' }).errors['vsys'] ?? '', /vsys1/);
    assert.match(
      panosDescriptor.parseOptions({ kind: 'device-group' }).errors['kind'] ?? '',
      /firewall, panorama, template, template-stack/,
    );
    assert.match(
      panosDescriptor.parseOptions({ kind: 'template' }).errors['template'] ?? '',
      /Name the Panorama template/,
    );
    assert.match(
      panosDescriptor.parseOptions({ kind: 'template-stack', template: 'fw' }).errors['templateStack'] ?? '',
      /Name the template stack/,
    );
    assert.match(
      panosDescriptor.parseOptions({ kind: 'firewall', template: 'fw' }).errors['template'] ?? '',
      /only used with the kinds template/,
    );
    assert.match(
      panosDescriptor.parseOptions({ kind: 'template', template: "fw'x" }).errors['template'] ?? '',
      /template name has letters/,
    );
    assert.deepEqual(
      panosDescriptor.parseOptions({
        kind: 'Template Stack',
        template: 'fw-tpl',
        templateStack: 'branch',
        vsys: 'vsys1',
      }).value,
      {
        kind: 'template-stack',
        template: 'fw-tpl',
        templateStack: 'branch',
        vsys: 'vsys1',
      },
    );

    assert.match(panosDescriptor.parseBinding({}).errors['profiles'] ?? '', /at least one SSL\/TLS service profile/);
    assert.match(
      panosDescriptor.parseBinding({ profiles: "gp'portal" }).errors['profiles'] ?? '',
      /Not a valid profile name: gp'portal/,
    );
    assert.match(
      panosDescriptor.parseBinding({ profiles: 'a', verifyPorts: '443, 70000' }).errors['verifyPorts'] ?? '',
      /1 to 65535/,
    );
    assert.deepEqual(
      panosDescriptor.parseBinding({ profiles: 'gp-portal,\nmgmt-ui, gp-portal', verifyPorts: ['443', 4443] }).value,
      { profiles: ['gp-portal', 'mgmt-ui'], verifyPorts: [443, 4443], adminGui: false },
    );
    assert.equal(panosDescriptor.parseBinding({ profiles: 'mgmt', adminGui: 'on' }).value['adminGui'], true);
    assert.match(
      panosDescriptor.parseBinding({ profiles: 'mgmt', adminGui: 'maybe' }).errors['adminGui'] ?? '',
      /on or off/,
    );
    assert.deepEqual(
      panosDescriptor.defaultVerifyEndpoints(
        { host: 'fw', port: 8443, options: {} },
        { profiles: ['mgmt'], verifyPorts: [443], adminGui: true },
      ),
      [
        { host: 'fw', port: 443 },
        { host: 'fw', port: 8443 },
      ],
      'the admin GUI is verified on the management port',
    );
    assertVerifyPortsOnHost(panosDescriptor, 'fw.example.test', ['gp'], [443, 4443]);
    assert.deepEqual(panosDescriptor.defaultVerifyEndpoints({ host: 'fw', port: 443, options: {} }, {}), []);
    assert.equal(panosDescriptor.id, 'panos');
    assert.equal(panosDescriptor.defaultPort, 443);
  });

  it('an invalid binding or credentials fail as VALIDATION_FAILED before touching the device', async () => {
    await withFake({}, async (fake) => {
      const ctx = contextFor(fake, keyCache());
      await failureOf(
        use({ ...ctx, binding: {} }, (d) => d.activate({ cert: 'x' })),
        FailureType.validation,
      );
      await failureOf(
        use({ ...ctx, target: { ...ctx.target, credentials: {} } }, (d) => d.preflight()),
        FailureType.validation,
      );
      for (const handle of ['', 'commit:x:push', 'push:', '12;rm', 'commit:1'])
        await failureOf(
          use(ctx, (d) => d.activationStatus(handle)),
          FailureType.validation,
        );
      // The admin GUI binding is for firewalls and Panorama itself, not templates.
      const templated = {
        ...ctx,
        target: { ...ctx.target, options: { kind: 'template', template: 't' } },
        binding: { profiles: ['gp-portal'], verifyPorts: [], adminGui: true },
      };
      await failureOf(
        use(templated, (d) => d.activate({ cert: 'x' })),
        FailureType.validation,
      );
      assert.equal(fake.calls.length, 0);
    });
  });
});
