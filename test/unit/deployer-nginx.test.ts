/**
 * The nginx deployer against a real sshd (test/support/sshd.ts) and a real nginx
 * (test/support/webservers.ts): the shared deployer contract, then nginx cases — a broken config is
 * restored, atomic writes with the key at 0600, sudo, host-key pinning, descriptor validation.
 *
 *   npx tsx --test test/unit/deployer-nginx.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { nginxDescriptor, parseNginxOptions } from '../../activities/deployers/nginx/descriptor';
import { createNginxDeployer } from '../../activities/deployers/nginx/index';
import { BACKUP_SUFFIX } from '../../activities/deployers/ssh/options';
import type { CertificateMaterial, Deployer, DeployerContext, StagedObjects } from '../../activities/deployers/types';
import { servedCertificate } from '../../activities/deployers/verify-served';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { rejection as rejectionOf } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';
import { runSshServerContract, withDeployer } from '../support/ssh-server-contract';
import { startSshd, suiteSshd, type TestSshd } from '../support/sshd';
import { sshTargetContext, startNginx, type SshTargetInput, type TestWebServer } from '../support/webservers';

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

const use = <T>(ctx: DeployerContext, work: (d: Deployer) => Promise<T>): Promise<T> =>
  withDeployer(createNginxDeployer, ctx, work);

const served = async (web: TestWebServer): Promise<string> => (await servedCertificate(web.endpoint)).fingerprintSha256;
const fullChainOf = (m: CertificateMaterial): string =>
  [m.certPem, ...m.chainPems].map((p) => `${p.trim()}\n`).join('');
const modeOf = (file: string): number => statSync(file).mode & 0o777;
const newKeyPem = (type: 'ec' | 'rsa'): string =>
  execFileSync(
    'openssl',
    [
      'genpkey',
      ...(type === 'ec'
        ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
        : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
const secretsIn = (message: string, ...materials: CertificateMaterial[]): boolean =>
  materials.some((m) => message.includes(m.keyPem.split('\n')[1] ?? 'x'));

// ---------------------------------------------------------------------------------------------
// The shared contract

runSshServerContract('nginx', createNginxDeployer, startNginx);

// ---------------------------------------------------------------------------------------------
// Vendor cases

describe('nginx', () => {
  const ca = suiteTestCa();
  let sshd: TestSshd;
  let web: TestWebServer;
  let v1: CertificateMaterial;
  let v2: CertificateMaterial;
  const ctx = (input: SshTargetInput = {}): DeployerContext => sshTargetContext(sshd, web, input);
  /** Makes v1 live and stages v2: where each test of a failing v2 activation starts. */
  const v1LiveV2Staged = async (): Promise<StagedObjects> => {
    const staged1 = await use(ctx(), (d) => d.stage(v1));
    await use(ctx(), (d) => d.activate(staged1));
    return use(ctx(), (d) => d.stage(v2));
  };
  /** After a failed v2 activation: v1's key is the live file again and nginx serves v1. */
  const assertV1Restored = async (): Promise<void> => {
    assert.equal(readFileSync(web.keyPath, 'utf8'), v1.keyPem.trim() + '\n');
    assert.equal(await served(web), v1.fingerprintSha256);
  };

  before(async () => {
    v1 = ca.issue('www.example.test', 'ecdsa-p256');
    v2 = ca.issue('www.example.test', 'rsa-2048');
    sshd = await startSshd();
    web = await startNginx();
  });
  after(async () => {
    await web?.stop();
    await sshd?.stop();
  });

  it('without a pinned host key, preflight fails with a check naming the presented key, and sends no credentials', async () => {
    const logins = (): number =>
      sshd
        .output()
        .split('\n')
        .filter((line) => /Accepted|Failed|Invalid user/.test(line)).length;
    const before = logins();
    const { hostKeySha256: _pin, ...unpinned } = ctx().target.options;
    const context = { ...ctx(), target: { ...ctx().target, options: unpinned } };
    const report = await use(context, (d) => d.preflight());
    assert.equal(report.checks.length, 1);
    const [check] = report.checks;
    assert.equal(check?.name, 'SSH host key');
    assert.equal(check?.ok, false);
    assert.ok(check?.detail.includes(sshd.hostKeySha256), check?.detail);
    assert.match(check?.detail ?? '', /ssh-ed25519/);
    assert.deepEqual(report.changes, []);
    // Nothing else may run against an unpinned server either; the error names the key as well.
    const error = await rejection(use(context, (d) => d.stage(v1)));
    assert.equal(error.type, FailureType.targetTlsUntrusted);
    assert.ok(error.message.includes(sshd.hostKeySha256), error.message);
    assert.equal(logins(), before, 'no login was attempted');
  });

  it('a host key that does not match the pin: TARGET_TLS_UNTRUSTED naming the presented fingerprint; a hex pin works', async () => {
    const other = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const error = await rejection(use(ctx({ options: { hostKeySha256: other } }), (d) => d.preflight()));
    assert.equal(error.type, FailureType.targetTlsUntrusted);
    assert.ok(error.message.includes(sshd.hostKeySha256), `names the presented key: ${error.message}`);
    assert.ok(error.message.includes(other), 'names the pin');
    assert.ok(!error.message.includes(sshd.privateKey.split('\n')[1] ?? 'x'));

    const report = await use(
      ctx({ options: { hostKeySha256: sshd.hostKeyHex.replace(/(..)(?!$)/g, '$1:').toUpperCase() } }),
      (d) => d.preflight(),
    );
    assert.ok(
      report.checks.every((c) => c.ok),
      JSON.stringify(report.checks),
    );
    assert.match(report.firmware ?? '', /^nginx\/1\./);
  });

  it('deploys atomically: staged copies next to the live files, backups, the key at 0600, posix-rename over the live paths', async () => {
    const logBefore = sshd.sftpLog().length;
    const staged = await use(ctx(), (d) => d.stage(v1));
    assert.deepEqual(Object.keys(staged).sort(), ['cert', 'key']);
    assert.ok(staged['cert']?.startsWith(`${web.certPath}.www_example_test-`), staged['cert']);
    assert.ok(staged['key']?.startsWith(`${web.keyPath}.www_example_test-`), staged['key']);
    assert.equal(readFileSync(staged['cert'] ?? '', 'utf8'), fullChainOf(v1), 'nginx gets the full chain in one file');
    assert.equal(modeOf(staged['key'] ?? ''), 0o600);
    assert.equal(modeOf(staged['cert'] ?? ''), 0o644);

    const initialCert = readFileSync(web.certPath);
    const initialKey = readFileSync(web.keyPath);
    const reloads = web.reloads();
    const activation = await use(ctx(), (d) => d.activate(staged));
    assert.deepEqual(activation.previous, {
      cert: `${web.certPath}${BACKUP_SUFFIX}`,
      key: `${web.keyPath}${BACKUP_SUFFIX}`,
    });
    assert.ok(
      readFileSync(`${web.certPath}${BACKUP_SUFFIX}`).equals(initialCert),
      'the backup holds the previous certificate',
    );
    assert.ok(readFileSync(`${web.keyPath}${BACKUP_SUFFIX}`).equals(initialKey), 'the backup holds the previous key');
    assert.equal(modeOf(`${web.keyPath}${BACKUP_SUFFIX}`), 0o600, 'the key backup is 0600 too');
    assert.equal(readFileSync(web.keyPath, 'utf8'), v1.keyPem.trim() + '\n');
    assert.equal(modeOf(web.keyPath), 0o600, 'the live key is 0600');
    assert.equal(web.reloads(), reloads + 1, 'one reload');
    assert.equal(await served(web), v1.fingerprintSha256);
    assert.deepEqual(
      web.files().filter((f) => f.includes('certfleet-tmp')),
      [],
      'no temp file left',
    );

    // The live files were never opened for writing: each was replaced by a rename of a complete temp file.
    const log = sshd.sftpLog().slice(logBefore);
    for (const live of [web.certPath, web.keyPath]) {
      assert.ok(
        !log.some((line) => line.startsWith(`open "${live}" flags`) && line.includes('WRITE')),
        `${live} not written in place`,
      );
      const rename = log.find((line) => line.startsWith('posix-rename old') && line.endsWith(`new "${live}"`));
      assert.ok(rename, `${live} replaced by posix-rename: ${log.join('\n')}`);
      assert.match(rename ?? '', /certfleet-tmp-[0-9a-f]+" new/);
    }
    const keyTemp = log.find(
      (line) => line.startsWith('open "') && line.includes(`.${web.keyPath.split('/').pop()}.certfleet-tmp-`),
    );
    assert.match(
      keyTemp ?? '',
      /flags WRITE,CREATE,TRUNCATE,EXCL mode 0600$/,
      'the key temp file is created exclusively at 0600',
    );
  });

  it('a config broken by the new files (key not matching the certificate): restored, reloaded, still serving the old certificate; the message has nginx -t output and no key', async () => {
    const staged1 = await use(ctx(), (d) => d.stage(v1));
    await use(ctx(), (d) => d.activate(staged1));
    assert.equal(await served(web), v1.fingerprintSha256);
    const liveCert = readFileSync(web.certPath);
    const liveKey = readFileSync(web.keyPath);

    const staged2 = await use(ctx(), (d) => d.stage(v2));
    // The staged key is replaced on the server after staging (stage itself refuses a mismatched
    // pair): another RSA key, which nginx -t loads and finds not matching the certificate.
    const foreignKey = newKeyPem('rsa');
    writeFileSync(staged2['key'] ?? '', foreignKey, { mode: 0o600 });
    const error = await rejection(use(ctx(), (d) => d.activate(staged2)));
    assert.equal(error.type, FailureType.targetRejected, error.message);
    assert.match(error.message, /^nginx: the config test \(.* -t\) failed/);
    assert.match(error.message, /key values mismatch/, 'nginx -t output in the message');
    assert.match(error.message, /test failed/);
    assert.match(error.message, /previous files were put back and nginx reloaded/);
    assert.ok(
      !error.message.includes(foreignKey.split('\n')[1] ?? 'x') && !secretsIn(error.message, v1, v2),
      'no key material in the message',
    );
    assert.ok(readFileSync(web.certPath).equals(liveCert), 'certificate restored');
    assert.ok(readFileSync(web.keyPath).equals(liveKey), 'key restored');
    assert.equal(modeOf(web.keyPath), 0o600);
    assert.equal(await served(web), v1.fingerprintSha256, 'the old certificate is still served');
  });

  it('a key nginx -t accepts but cannot serve with (EC key, RSA certificate): the server stops answering, the old files are put back', async () => {
    const staged2 = await v1LiveV2Staged();
    writeFileSync(staged2['key'] ?? '', newKeyPem('ec'), { mode: 0o600 });
    const error = await rejection(use(ctx({ options: { reloadWaitSeconds: 3 } }), (d) => d.activate(staged2)));
    assert.equal(error.type, FailureType.commitFailed, error.message);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${web.endpoint.port} stopped answering TLS`));
    assert.match(error.message, /previous files were put back and nginx reloaded/);
    await assertV1Restored();
  });

  it('a failing reload: the previous files are put back and the reload output is reported', async () => {
    const staged2 = await v1LiveV2Staged();
    const failing = ctx({ options: { reloadCommand: `sh -c 'echo "reload refused by the test" >&2; exit 3'` } });
    const error = await rejection(use(failing, (d) => d.activate(staged2)));
    assert.equal(error.type, FailureType.commitFailed);
    assert.match(error.message, /reload refused by the test/);
    assert.match(error.message, /previous files were put back, but reloading nginx failed too/);
    await assertV1Restored();
  });

  it('a retried activation that finds the version live keeps the first backup; rollback restores it', async () => {
    const staged2 = await v1LiveV2Staged();
    const first = await use(ctx(), (d) => d.activate(staged2));
    const again = await use(ctx(), (d) => d.activate(staged2));
    assert.deepEqual(again.previous, first.previous);
    assert.equal(
      readFileSync(first.previous['key'] ?? '', 'utf8'),
      v1.keyPem.trim() + '\n',
      'the backup still holds v1',
    );
    assert.equal(await served(web), v2.fingerprintSha256);
    const back = await use(ctx(), (d) => d.rollback(first.previous));
    assert.deepEqual(back.previous, {});
    assert.equal(await served(web), v1.fingerprintSha256);
    assert.equal(modeOf(web.keyPath), 0o600);
  });

  it('stage refuses a key that does not belong to the certificate and writes nothing', async () => {
    const files = web.files();
    const error = await rejection(use(ctx(), (d) => d.stage({ ...v2, keyPem: v1.keyPem })));
    assert.equal(error.type, FailureType.validation);
    assert.match(error.message, /does not belong to its certificate/);
    assert.deepEqual(web.files(), files);
  });

  it('removeSuperseded deletes only staged copies of this target, never live files or backups', async () => {
    const staged1 = await use(ctx(), (d) => d.stage(v1));
    const staged2 = await use(ctx(), (d) => d.stage(v2));
    await use(ctx(), (d) => d.activate(staged2));
    const foreign = { cert: '/etc/passwd', key: web.keyPath, backup: `${web.keyPath}${BACKUP_SUFFIX}` };
    const removed = await use(ctx(), (d) => d.removeSuperseded([staged2], [staged1, foreign]));
    assert.deepEqual(removed.sort(), Object.values(staged1).sort());
    assert.ok(existsSync('/etc/passwd') && existsSync(web.keyPath) && existsSync(`${web.keyPath}${BACKUP_SUFFIX}`));
    assert.ok(Object.values(staged2).every((f) => existsSync(f)));
  });

  it('invalid options are refused before connecting (VALIDATION)', async () => {
    const error = await rejection(use(ctx({ options: { certPath: 'relative/site.crt' } }), (d) => d.preflight()));
    assert.equal(error.type, FailureType.validation);
    assert.match(error.message, /options\.certPath/);
  });

  describe('with sudo', () => {
    const sudoSshd = suiteSshd({ fakeSudo: true });

    it('useSudo: every file operation and command runs as "sudo -n …"; the deploy works and the key is 0600', async () => {
      // /usr/bin/sudo is not installed here: the sshd puts a logging stand-in on the session's PATH.
      const context = sshTargetContext(sudoSshd(), web, { options: { useSudo: true } });
      const report = await use(context, (d) => d.preflight());
      assert.ok(
        report.checks.every((c) => c.ok),
        JSON.stringify(report.checks),
      );
      assert.ok(
        report.checks.some((c) => c.name === 'sudo'),
        'sudo is checked',
      );
      const staged = await use(context, (d) => d.stage(v2));
      const activation = await use(context, (d) => d.activate(staged));
      assert.equal(await served(web), v2.fingerprintSha256);
      assert.equal(modeOf(web.keyPath), 0o600);
      assert.equal(modeOf(staged['key'] ?? ''), 0o600);
      assert.equal(modeOf(activation.previous['key'] ?? ''), 0o600);

      const calls = sudoSshd().sudoLog();
      assert.ok(calls.length > 0 && calls.every((line) => line.startsWith('-n ')), calls.join('\n'));
      assert.ok(calls.includes(`-n ${web.testCommand}`), 'config test through sudo');
      assert.ok(calls.includes(`-n ${web.reloadCommand}`), 'reload through sudo');
      assert.ok(
        calls.some((line) => /^-n install -m 0600 \/dev\/null \S+\.site\.key\.certfleet-tmp-[0-9a-f]+$/.test(line)),
        'key temp file created at 0600',
      );
      assert.ok(
        calls.some((line) => line.startsWith('-n dd of=') && line.endsWith('conv=fsync')),
        'written with fsync',
      );
      assert.ok(
        calls.some((line) => line.startsWith('-n mv -f -- ') && line.endsWith(` ${web.keyPath}`)),
        'renamed over the live key',
      );
      assert.deepEqual(
        sudoSshd()
          .sftpLog()
          .filter((line) => /^open /.test(line)),
        [],
        'no SFTP file access with sudo',
      );
    });
  });

  describe('without posix-rename', () => {
    const plainSshd = suiteSshd({ denyPosixRename: true });

    it('falls back to "mv -f" when the server refuses posix-rename@openssh.com', async () => {
      const context = sshTargetContext(plainSshd(), web);
      const staged = await use(context, (d) => d.stage(v1));
      await use(context, (d) => d.activate(staged));
      assert.equal(await served(web), v1.fingerprintSha256);
      assert.equal(readFileSync(web.keyPath, 'utf8'), v1.keyPem.trim() + '\n');
      assert.equal(modeOf(web.keyPath), 0o600);
      // The temp files were complete and renamed by mv (no SFTP rename at all), none is left over.
      const log = plainSshd().sftpLog();
      assert.ok(
        log.some((line) => line.startsWith('open "') && line.includes('.site.key.certfleet-tmp-')),
        'written to a temp file over SFTP',
      );
      assert.ok(!log.some((line) => /^(posix-)?rename /.test(line)), log.join('\n'));
      assert.deepEqual(
        web.files().filter((f) => f.includes('certfleet-tmp')),
        [],
      );
    });
  });

  describe('descriptor', () => {
    const base = { certPath: '/etc/nginx/ssl/site.crt', keyPath: '/etc/nginx/ssl/site.key' };

    it('defaults the commands, normalises the host-key pin, accepts absolute paths', () => {
      const parsed = parseNginxOptions({ ...base, hostKeySha256: 'ab'.repeat(32), useSudo: 'on' });
      assert.deepEqual(parsed.errors, {});
      assert.equal(parsed.value['testCommand'], 'nginx -t');
      assert.equal(parsed.value['reloadCommand'], 'nginx -s reload');
      assert.equal(parsed.value['useSudo'], true);
      assert.equal(
        parsed.value['hostKeySha256'],
        `SHA256:${Buffer.from('ab'.repeat(32), 'hex').toString('base64').replace(/=+$/, '')}`,
      );
      const custom = parseNginxOptions({
        ...base,
        testCommand: '/usr/sbin/nginx -c /etc/nginx/nginx.conf -t',
        reloadCommand: 'systemctl reload nginx',
      });
      assert.equal(
        custom.value['testCommand'],
        '/usr/sbin/nginx -c /etc/nginx/nginx.conf -t',
        'commands as configured',
      );
      assert.equal(custom.value['reloadCommand'], 'systemctl reload nginx');
    });

    it('refuses relative paths, shell metacharacters, "..", shared paths and bad pins or commands', () => {
      const errors = (input: Record<string, unknown>): Record<string, string> =>
        parseNginxOptions({ ...base, ...input }).errors;
      assert.match(errors({ certPath: 'ssl/site.crt' })['certPath'] ?? '', /absolute/);
      for (const bad of [
        '/etc/nginx/ssl/site.crt;rm -rf /',
        '/etc/nginx/$(id)/k',
        '/etc/nginx/ssl/a b.crt',
        '/etc/nginx/`x`',
        "/etc/nginx/'q'",
        '/etc/nginx/ssl/*.crt',
        '/etc/nginx/ssl/a|b',
      ]) {
        assert.match(errors({ certPath: bad })['certPath'] ?? '', /shell characters/, bad);
      }
      assert.match(errors({ keyPath: '/etc/nginx/../shadow' })['keyPath'] ?? '', /"\.\."/);
      assert.match(errors({ keyPath: '/etc/nginx/ssl/' })['keyPath'] ?? '', /name a file/);
      assert.match(errors({ keyPath: '/etc/nginx/-x/k' })['keyPath'] ?? '', /start with "-"/);
      assert.match(errors({ keyPath: base.certPath })['keyPath'] ?? '', /same path/);
      assert.match(errors({ keyPath: `${base.certPath}.key` })['keyPath'] ?? '', /version copies/);
      assert.match(errors({ keyPath: `/etc/nginx/ssl/k${BACKUP_SUFFIX}` })['keyPath'] ?? '', /certfleet-backup/);
      assert.ok(errors({ certPath: '' })['certPath']);
      assert.ok(errors({ hostKeySha256: 'SHA256:short' })['hostKeySha256']);
      assert.ok(errors({ testCommand: 'nginx -t\nreboot' })['testCommand']);
      assert.ok(errors({ reloadWaitSeconds: '-1' })['reloadWaitSeconds']);
    });

    it('credentials: a key or a password, a plausible user name', () => {
      assert.deepEqual(nginxDescriptor.parseCredentials({ username: 'deploy', password: 'pw' }).errors, {});
      assert.ok(nginxDescriptor.parseCredentials({ username: 'deploy' }).errors['privateKey']);
      assert.ok(nginxDescriptor.parseCredentials({ username: '-oProxyCommand=x', password: 'pw' }).errors['username']);
      assert.ok(nginxDescriptor.parseCredentials({ username: 'deploy', privateKey: 'not a key' }).errors['privateKey']);
      const parsed = nginxDescriptor.parseCredentials({
        username: 'root',
        privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\r\nAAAA\r\n-----END OPENSSH PRIVATE KEY-----\r\n',
        passphrase: 'p',
      });
      assert.deepEqual(parsed.errors, {});
      assert.equal(
        parsed.value['privateKey'],
        '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      );
    });

    it('binding: verify ports and SNI; default endpoints are the target host on those ports', () => {
      assert.deepEqual(nginxDescriptor.parseBinding({ verifyPorts: '443, 8443' }).value, { verifyPorts: [443, 8443] });
      assert.deepEqual(nginxDescriptor.parseBinding({}).value, { verifyPorts: [443] });
      assert.ok(nginxDescriptor.parseBinding({ verifyPorts: ['70000'] }).errors['verifyPorts']);
      assert.ok(nginxDescriptor.parseBinding({ serverName: 'bad name' }).errors['serverName']);
      assert.deepEqual(
        nginxDescriptor.defaultVerifyEndpoints(
          { host: 'web01.example.net', port: 22, options: {} },
          { verifyPorts: [443, 8443], serverName: 'WWW.example.com' },
        ),
        [
          { host: 'web01.example.net', port: 443, servername: 'www.example.com' },
          { host: 'web01.example.net', port: 8443, servername: 'www.example.com' },
        ],
      );
      assert.ok(nginxDescriptor.bindingFields.length > 0 && nginxDescriptor.credentialFields.length > 0);
    });
  });
});
