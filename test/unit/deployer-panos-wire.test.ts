/**
 * PAN-OS cases of issue 13 against test/fakes/panos (docs/vendors/panos.md): the import's wire form
 * (parameters in the query string, only the file in the body; the key as acme.sh sends it), the
 * served chain is exactly the imported file's, config and commit locks, and the admin GUI binding
 * with rollback under a pinned trust.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createPrivateKey } from 'node:crypto';
import { FormData } from '../../activities/deployers/device-http';
import { parseReply } from '../../activities/deployers/panos/client';
import type { CertificateMaterial } from '../../activities/deployers/types';
import { expectedChainOf, verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { withWireTranscript, type WireExchange } from '../../activities/deployers/wire-transcript';
import { WireRedactor } from '../../activities/domain/wire-redaction';
import { FailureType } from '../../temporal/contract';
import { keyCache, panosContext, settle, usePanos } from '../fakes/panos/harness';
import { assertCheck, failureOf } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';
import {
  commitPortalCertificate,
  withFakePanos as withFake,
  withPanosClient as withClient,
} from '../support/panos-suite';

describe('panos deployer: imports, served chain, locks, admin GUI', () => {
  const ca = suiteTestCa();
  let v1: CertificateMaterial;
  before(() => {
    v1 = ca.issue('portal.example.test', 'ecdsa-p256');
  });

  it('imports put type=import and every parameter in the query string and only the file in the body; the fake refuses type in the body only', async () => {
    await withFake({}, async (fake) => {
      await usePanos(panosContext(fake, keyCache()), (d) => d.stage(v1));
      const imports = fake.calls.filter((c) => c.type === 'import');
      assert.deepEqual(
        imports.map((c) => c.category),
        ['certificate', 'private-key'],
      );
      for (const call of imports) {
        assert.deepEqual(call.bodyParams, [], 'only the file in the body');
        for (const name of ['type', 'category', 'certificate-name', 'format'])
          assert.ok(call.queryParams.includes(name), `${name} in the query string`);
        assert.ok(
          !call.queryParams.includes('key') && call.keyVia === 'header',
          'the API key stays in the X-PAN-KEY header',
        );
      }
      assert.ok(
        imports[1]?.queryParams.includes('passphrase'),
        'the key travels with a (dummy) passphrase, as acme.sh sends it',
      );

      // The old wire form: type=import (and the rest) in the multipart body only.
      await withClient(fake, async (_client, key, http) => {
        const before = fake.certificateNames();
        const form = new FormData();
        for (const [k, v] of Object.entries({
          type: 'import',
          category: 'certificate',
          'certificate-name': 'body-only',
          format: 'pem',
        }))
          form.append(k, v);
        form.append('file', new Blob([v1.certPem]), 'c.pem');
        const response = await http.request('POST', '/api/', { headers: { 'X-PAN-KEY': key }, multipart: form });
        const reply = await parseReply(response.status, response.text);
        assert.deepEqual([reply.status, reply.code], ['error', '17']);
        assert.match(reply.messages.join(' '), /"type" in the request URL/);
        assert.deepEqual(fake.certificateNames(), before, 'nothing imported');
      });
    });
  });

  it('the wire transcript of a stage keeps no API key, password, passphrase or private key', async () => {
    await withFake({}, async (fake) => {
      const exchanges: WireExchange[] = [];
      const redactor = new WireRedactor({ values: [fake.password], keyPems: [v1.keyPem] });
      await withWireTranscript(
        redactor,
        () => usePanos(panosContext(fake, keyCache()), (d) => d.stage(v1)),
        async (recorded) => void exchanges.push(...recorded),
      );
      const text = exchanges.map((e) => e.text).join('\n---\n');
      const keyImport = exchanges.map((e) => e.text).find((t) => t.includes('category=private-key'));
      assert.ok(keyImport, text);
      assert.match(keyImport, /passphrase=[^&\s]*removed/i, 'the passphrase parameter is removed from the URL');
      assert.match(keyImport, /part file: \(file part, \d+ bytes, removed\)/, 'the key file is not recorded');
      for (const secret of [...fake.view().secrets, fake.password])
        assert.ok(!text.includes(secret), 'no key or password in the transcript');
      const keyBody = v1.keyPem
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'))
        .join('');
      assert.ok(!text.replace(/\s/g, '').includes(keyBody.slice(0, 40)), 'no private key material');
    });
  });

  it('the certificate file holds the leaf and its intermediates and is served as such; a leaf imported alone is served alone (no chain from separate objects)', async () => {
    await withFake({ profiles: [{ name: 'gp-portal' }] }, async (fake) => {
      await withClient(fake, async (client, key) => {
        // The leaf alone, its intermediate as a separate object (what CertFleet did before issue 13).
        const [intermediate] = v1.chainPems;
        assert.ok(intermediate);
        for (const [name, content] of [
          ['ca-object', intermediate],
          ['leaf-alone', v1.certPem],
        ] as const) {
          assert.equal(
            (
              await client.importFile(key, {
                category: 'certificate',
                certificateName: name,
                format: 'pem',
                fileName: `${name}.pem`,
                content,
              })
            ).status,
            'success',
          );
        }
        assert.equal(
          (
            await client.importFile(key, {
              category: 'private-key',
              certificateName: 'leaf-alone',
              format: 'pem',
              passphrase: 'x',
              fileName: 'k.pem',
              content: v1.keyPem,
            })
          ).status,
          'success',
        );
        // An encrypted PKCS#8 key (what CertFleet sent before): refused (docs/vendors/panos.md P2).
        const encrypted = createPrivateKey(v1.keyPem)
          .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret-pass' })
          .toString();
        const refused = await client.importFile(key, {
          category: 'private-key',
          certificateName: 'leaf-alone',
          format: 'pem',
          passphrase: 'secret-pass',
          fileName: 'k.pem',
          content: encrypted,
        });
        assert.equal(refused.status, 'error');
        await commitPortalCertificate(client, key, fake.username, 'leaf-alone');
      });
      const error = await failureOf(
        verifyServedFingerprint('panos', fake.endpoints, expectedChainOf(v1.fingerprintSha256, v1.chainPems)),
        FailureType.verifyMismatch,
      );
      assert.match(error.message, /serves the leaf without its intermediate\(s\) \(expected 1, got 0\)/);

      // The deployer's one-file upload: served with its intermediate.
      const ctx = panosContext(fake, keyCache(), { profiles: ['gp-portal'] });
      const status = await usePanos(ctx, async (d) => settle(d, await d.activate(await d.stage(v1))));
      assert.deepEqual(status, { state: 'done' });
      await verifyServedFingerprint('panos', fake.endpoints, expectedChainOf(v1.fingerprintSha256, v1.chainPems));
    });
  });

  it("another admin's config or commit lock: DEVICE_SESSION_BUSY before anything changes; the API admin's own lock is fine", async () => {
    await withFake({ otherAdmins: { alice: 'alice-password' } }, async (fake) => {
      const ctx = panosContext(fake, keyCache());
      const staged = await usePanos(ctx, (d) => d.stage(v1));
      fake.lock('config', 'alice', 'change window');
      const report = await usePanos(ctx, (d) => d.preflight());
      const locks = report.checks.find((c) => c.name === 'locks');
      assert.equal(locks?.ok, false);
      assert.match(
        locks?.detail ?? '',
        /^held by another admin: config lock of alice since \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d; deploys wait until it is released$/,
      );

      const mutating = fake.mutatingCalls();
      const busy = await failureOf(
        usePanos(ctx, (d) => d.activate(staged)),
        FailureType.deviceSessionBusy,
      );
      assert.match(
        busy.message,
        /^panos: activate: the device is locked \(config lock held by admin alice since [\d/: ]+ \("change window"\)\); CertFleet waits and retries, it never removes another admin's lock$/,
      );
      assert.ok(busy.retryAfterMs && busy.retryAfterMs > 0, 'retried later');
      assert.equal(fake.mutatingCalls(), mutating, 'nothing was bound while locked');

      fake.unlock('config', 'alice');
      fake.lock('commit', 'alice');
      const commitBusy = await failureOf(
        usePanos(ctx, (d) => d.activate(staged)),
        FailureType.deviceSessionBusy,
      );
      assert.match(commitBusy.message, /commit lock held by admin alice/);
      assert.equal(fake.calls.filter((c) => c.type === 'commit').length, 0, 'no commit was attempted');

      // A lock taken between the check and the commit: the device refuses the commit, also a wait.
      fake.unlock('commit', 'alice');
      fake.failNext(/type=commit/, {
        xml: '<response status="error"><msg><line>Other administrators are holding commit locks.</line></msg></response>',
      });
      await failureOf(
        usePanos(ctx, (d) => d.activate(staged)),
        FailureType.deviceSessionBusy,
      );

      // The API admin's own lock does not stop it.
      fake.lock('config', fake.username);
      const own = await usePanos(ctx, (d) => d.preflight());
      assertCheck(own, 'locks', true, `only ${fake.username}'s own config lock`);
      assert.deepEqual(await usePanos(ctx, async (d) => settle(d, await d.activate(staged))), { state: 'done' });
      await verifyServedFingerprint('panos', fake.endpoints, v1.fingerprintSha256);
    });
  });

  it('admin GUI: the management interface uses the first profile; the API then presents the new certificate (accepted through alsoAccept); rollback puts the device certificate back', async () => {
    await withFake({ profiles: [{ name: 'gp-portal' }, { name: 'mgmt-ui' }] }, async (fake) => {
      const trust = { fingerprintSha256: fake.managementFingerprint, alsoAccept: [v1.fingerprintSha256] };
      const ctx = panosContext(fake, keyCache(), {
        profiles: ['mgmt-ui'],
        binding: { adminGui: 'on' },
        trust,
        ports: [fake.endpoint('mgmt-ui').port],
      });
      const report = await usePanos(ctx, (d) => d.preflight());
      assert.ok(
        report.changes.includes("admin GUI: the device's own certificate → profile mgmt-ui (new certificate)"),
        report.changes.join('; '),
      );

      const staged = await usePanos(ctx, (d) => d.stage(v1));
      const activation = await usePanos(ctx, (d) => d.activate(staged));
      assert.deepEqual(activation.previous, { 'mgmt-ui': fake.defaultCertificateName, '@admin-gui': '' });
      assert.deepEqual(await usePanos(ctx, (d) => settle(d, activation)), { state: 'done' });
      assert.equal(fake.managementProfile(), 'mgmt-ui');
      const managementApi = [{ host: fake.host, port: fake.port }];
      await verifyServedFingerprint('panos', managementApi, expectedChainOf(v1.fingerprintSha256, v1.chainPems));

      // A trust pinned to the old management certificate only now refuses the API: why the run's fingerprints are accepted.
      const pinnedOnly = panosContext(fake, keyCache(), { profiles: ['mgmt-ui'], binding: { adminGui: 'on' } });
      await failureOf(
        usePanos(pinnedOnly, (d) => d.preflight()),
        FailureType.targetTlsUntrusted,
      );

      const rolled = await usePanos(ctx, async (d) => {
        const back = await d.rollback(activation.previous);
        return { back, status: await settle(d, back) };
      });
      assert.equal(rolled.status.state, 'done');
      assert.deepEqual(rolled.back.previous, { 'mgmt-ui': staged['cert'], '@admin-gui': 'mgmt-ui' });
      assert.equal(fake.managementProfile(), '');
      assert.equal(fake.profileCertificate('mgmt-ui', 'running'), fake.defaultCertificateName);
      await verifyServedFingerprint('panos', managementApi, fake.managementFingerprint);
      await usePanos(pinnedOnly, (d) => d.preflight()); // the old pin works again
    });
  });
});
