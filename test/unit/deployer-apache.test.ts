/**
 * The apache deployer against a real sshd (test/support/sshd.ts) and a real apache2
 * (test/support/webservers.ts): the shared deployer contract, then apache cases — chain file or
 * full chain, and a graceful restart that kills the server is noticed and undone.
 *
 *   npx tsx --test test/unit/deployer-apache.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { apacheDescriptor, parseApacheOptions } from '../../activities/deployers/apache/descriptor';
import { createApacheDeployer } from '../../activities/deployers/apache/index';
import { BACKUP_SUFFIX } from '../../activities/deployers/ssh/options';
import type { CertificateMaterial, Deployer, DeployerContext } from '../../activities/deployers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { rejection as rejectionOf } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';
import { servedChainFingerprints } from '../support/served-chain';
import { runSshServerContract, withDeployer } from '../support/ssh-server-contract';
import { startSshd, type TestSshd } from '../support/sshd';
import { suiteResource } from '../support/suite-resource';
import { sshTargetContext, startApache, type SshTargetInput } from '../support/webservers';

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

const use = <T>(ctx: DeployerContext, work: (d: Deployer) => Promise<T>): Promise<T> =>
  withDeployer(createApacheDeployer, ctx, work);

const fingerprintOf = (pem: string): string =>
  execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: pem, encoding: 'utf8' })
    .split('=')[1]
    ?.replace(/:/g, '')
    .trim()
    .toLowerCase() ?? '';
const pem = (...pems: string[]): string => pems.map((p) => `${p.trim()}\n`).join('');
const modeOf = (file: string): number => statSync(file).mode & 0o777;

// ---------------------------------------------------------------------------------------------
// The shared contract (with an SSLCertificateChainFile: three files per version)

runSshServerContract('apache', createApacheDeployer, () => startApache({ withChain: true }));

// ---------------------------------------------------------------------------------------------
// Vendor cases

describe('apache', () => {
  const ca = suiteTestCa();
  let sshd: TestSshd;
  let v1: CertificateMaterial;
  let v2: CertificateMaterial;

  before(async () => {
    v1 = ca.issue('shop.example.test', 'ecdsa-p256');
    v2 = ca.issue('shop.example.test', 'rsa-2048');
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  describe('with a chain file', () => {
    const web = suiteResource(
      () => startApache({ withChain: true }),
      (w) => w.stop(),
    );
    const ctx = (input: SshTargetInput = {}): DeployerContext => sshTargetContext(sshd, web(), input);

    it('preflight: the version, the three files, the config test', async () => {
      const report = await use(ctx(), (d) => d.preflight());
      assert.ok(
        report.checks.every((c) => c.ok),
        JSON.stringify(report.checks),
      );
      assert.match(report.firmware ?? '', /^Apache\/2\.4/);
      assert.deepEqual(
        report.checks.map((c) => c.name),
        ['SSH host key', 'SSH login', 'cert file', 'chain file', 'key file', 'config test'],
      );
      assert.match(report.checks.at(-1)?.detail ?? '', /Syntax OK/);
      assert.match(
        report.changes[0] ?? '',
        /site\.crt: initial\.example\.test, expires \d{4}-\d\d-\d\d → new certificate/,
      );
    });

    it('deploys: leaf in the certificate file, intermediates in the chain file, key 0600; the server sends leaf + intermediate', async () => {
      const staged = await use(ctx(), (d) => d.stage(v1));
      assert.deepEqual(Object.keys(staged).sort(), ['cert', 'chain', 'key']);
      const reloads = web().reloads();
      const activation = await use(ctx(), (d) => d.activate(staged));
      assert.deepEqual(activation.previous, {
        cert: `${web().certPath}${BACKUP_SUFFIX}`,
        chain: `${web().chainPath ?? ''}${BACKUP_SUFFIX}`,
        key: `${web().keyPath}${BACKUP_SUFFIX}`,
      });
      assert.equal(readFileSync(web().certPath, 'utf8'), pem(v1.certPem));
      assert.equal(readFileSync(web().chainPath ?? '', 'utf8'), pem(...v1.chainPems));
      assert.equal(modeOf(web().keyPath), 0o600);
      assert.equal(web().reloads(), reloads + 1, 'one graceful restart');
      assert.deepEqual(await servedChainFingerprints(web().endpoint), [
        v1.fingerprintSha256,
        fingerprintOf(ca.intermediatePem),
      ]);

      const staged2 = await use(ctx(), (d) => d.stage(v2));
      const second = await use(ctx(), (d) => d.activate(staged2));
      assert.equal((await servedChainFingerprints(web().endpoint))[0], v2.fingerprintSha256);
      await use(ctx(), (d) => d.rollback(second.previous));
      assert.equal((await servedChainFingerprints(web().endpoint))[0], v1.fingerprintSha256);
    });

    it('a key Apache only rejects at the graceful restart (the server exits): noticed, the old files put back, Apache started again', async () => {
      const staged1 = await use(ctx(), (d) => d.stage(v1));
      await use(ctx(), (d) => d.activate(staged1));
      const staged2 = await use(ctx(), (d) => d.stage(v2));
      // Another RSA key: `apache2 -t` does not load keys, so the config test passes.
      const foreign = execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      writeFileSync(staged2['key'] ?? '', foreign, { mode: 0o600 });
      const error = await rejection(use(ctx({ options: { reloadWaitSeconds: 3 } }), (d) => d.activate(staged2)));
      assert.equal(error.type, FailureType.commitFailed, error.message);
      assert.match(error.message, /stopped answering TLS/);
      assert.match(error.message, /previous files were put back and apache reloaded/);
      assert.ok(!error.message.includes(foreign.split('\n')[1] ?? 'x'));
      assert.match(
        web().errorLog(),
        /AH02565: Certificate and private key .* do not match/,
        'Apache refused the pair at the restart',
      );
      assert.equal(readFileSync(web().keyPath, 'utf8'), pem(v1.keyPem));
      assert.ok(await web().answering(), 'Apache runs again');
      assert.equal((await servedChainFingerprints(web().endpoint))[0], v1.fingerprintSha256);
    });
  });

  describe('without a chain file', () => {
    const web = suiteResource(
      () => startApache(),
      (w) => w.stop(),
    );

    it('writes leaf + intermediates into the certificate file (SSLCertificateFile full chain)', async () => {
      const context = sshTargetContext(sshd, web());
      const staged = await use(context, (d) => d.stage(v2));
      assert.deepEqual(Object.keys(staged).sort(), ['cert', 'key']);
      await use(context, (d) => d.activate(staged));
      assert.equal(readFileSync(web().certPath, 'utf8'), pem(v2.certPem, ...v2.chainPems));
      assert.deepEqual(await servedChainFingerprints(web().endpoint), [
        v2.fingerprintSha256,
        fingerprintOf(ca.intermediatePem),
      ]);
    });
  });

  describe('descriptor', () => {
    const base = { certPath: '/etc/ssl/certs/shop.crt', keyPath: '/etc/ssl/private/shop.key' };

    it('apachectl defaults; the chain file is optional but validated like the others', () => {
      const parsed = parseApacheOptions(base);
      assert.deepEqual(parsed.errors, {});
      assert.equal(parsed.value['testCommand'], 'apachectl configtest');
      assert.equal(parsed.value['reloadCommand'], 'apachectl graceful');
      assert.equal(parsed.value['chainPath'], undefined);
      assert.equal(
        parseApacheOptions({ ...base, chainPath: '/etc/ssl/certs/chain.pem' }).value['chainPath'],
        '/etc/ssl/certs/chain.pem',
      );
      assert.match(parseApacheOptions({ ...base, chainPath: 'chain.pem' }).errors['chainPath'] ?? '', /absolute/);
      assert.match(
        parseApacheOptions({ ...base, chainPath: '/etc/ssl/certs/$(x).pem' }).errors['chainPath'] ?? '',
        /shell characters/,
      );
      assert.match(parseApacheOptions({ ...base, chainPath: base.certPath }).errors['chainPath'] ?? '', /same path/);
      assert.ok(parseApacheOptions({ certPath: base.certPath }).errors['keyPath']);
    });

    it('the web form: fields and default endpoints', () => {
      assert.equal(apacheDescriptor.id, 'apache');
      assert.equal(apacheDescriptor.defaultPort, 22);
      assert.ok(apacheDescriptor.optionFields.some((f) => f.name === 'hostKeySha256'));
      assert.ok(apacheDescriptor.credentialFields.some((f) => f.name === 'privateKey' && f.kind === 'secret'));
      assert.deepEqual(apacheDescriptor.defaultVerifyEndpoints({ host: '192.0.2.10', port: 22, options: {} }, {}), [
        { host: '192.0.2.10', port: 443 },
      ]);
    });
  });
});
