/**
 * The shared SSH plumbing (activities/deployers/ssh) against a real sshd: host-key pins, login
 * errors, commands with and without sudo, atomic file writes over SFTP and over commands. Password
 * login runs against an in-process ssh2 server: with the real sshd it would need a system user with
 * a password (root's cannot be set on a shared machine, and UsePAM no checks /etc/shadow).
 *
 *   npx tsx --test test/unit/ssh.test.ts
 */
import { ed25519KeyPair } from '../support/ssh-keys';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server, utils, type Connection } from 'ssh2';
import {
  formatHostKeyDigest,
  hostKeyPinDigest,
  identifyHostKey,
  normalizeHostKeyPin,
} from '../../activities/deployers/ssh/pin';
import {
  commandFailure,
  remoteFiles,
  SftpFiles,
  ShellFiles,
  type RemoteFiles,
} from '../../activities/deployers/ssh/remote-files';
import {
  connectSsh,
  hostKeyFingerprint,
  type SshConnectOptions,
  type SshSession,
} from '../../activities/deployers/ssh/session';
import { shellQuote, trimOutput, withSudo } from '../../activities/deployers/ssh/shell';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { rejection as rejectionOf } from '../support/assertions';
import { closing } from '../support/closing';
import { freePort } from '../support/free-port';
import { registerExitCleanup } from '../support/process';
import { startSshd, suiteSshd, type TestSshd } from '../support/sshd';

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

const optionsFor = (sshd: TestSshd, extra: Partial<SshConnectOptions> = {}): SshConnectOptions => ({
  component: 'test',
  host: sshd.host,
  port: sshd.port,
  username: sshd.username,
  privateKey: sshd.privateKey,
  hostKeySha256: sshd.hostKeySha256,
  ...extra,
});

const withSession = <T>(options: SshConnectOptions, work: (s: SshSession) => Promise<T>): Promise<T> =>
  closing(connectSsh(options), work);

const logins = (sshd: TestSshd): string[] =>
  sshd
    .output()
    .split('\n')
    .filter((line) => /Accepted|Failed|Invalid user|Connection closed by authenticating/.test(line));
const modeOf = (file: string): number => statSync(file).mode & 0o777;

describe('host-key pins', () => {
  const digest = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
  const openssh = formatHostKeyDigest(digest);

  it('accepts the OpenSSH form and hex (with or without colons, any case); normalises to "SHA256:…"', () => {
    assert.match(openssh, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(normalizeHostKeyPin(openssh), openssh);
    assert.equal(normalizeHostKeyPin(` ${openssh.slice(7)}= `), openssh, 'without prefix, with padding');
    assert.equal(normalizeHostKeyPin(digest.toString('hex')), openssh);
    assert.equal(
      normalizeHostKeyPin(
        digest
          .toString('hex')
          .toUpperCase()
          .replace(/(..)(?!$)/g, '$1:'),
      ),
      openssh,
    );
    assert.ok(hostKeyPinDigest(openssh)?.equals(digest));
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'SHA256:', 'SHA256:abc', 'ab'.repeat(31), 'MD5:00:11', 'zz'.repeat(32), `${openssh}x`])
      assert.equal(normalizeHostKeyPin(bad), undefined, bad);
  });

  it('fingerprints a key blob like ssh-keygen and names its type', () => {
    const key = utils.parseKey(ed25519KeyPair().public);
    assert.ok(!(key instanceof Error));
    const id = identifyHostKey(key.getPublicSSH());
    assert.equal(id.keyType, 'ssh-ed25519');
    assert.equal(Buffer.from(id.hex, 'hex').length, 32);
    assert.equal(formatHostKeyDigest(Buffer.from(id.hex, 'hex')), id.sha256);
  });
});

describe('shell helpers', () => {
  it('quotes arguments for a POSIX shell and prefixes sudo -n', () => {
    assert.equal(shellQuote('/etc/nginx/ssl/site.crt'), '/etc/nginx/ssl/site.crt');
    assert.equal(shellQuote("it's $(bad)"), `'it'\\''s $(bad)'`);
    assert.equal(withSudo('nginx -t', true), 'sudo -n nginx -t');
    assert.equal(withSudo('nginx -t', false), 'nginx -t');
  });

  it('trims command output for messages: no PEM blocks or long base64, the last lines only', () => {
    const key =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
    const out = trimOutput(
      `line 1\n${key}\n${'QUJD'.repeat(30)}\n${Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n')}`,
      5,
    );
    assert.ok(!out.includes('MIGHAgEA') && !out.includes('QUJDQUJD'));
    assert.equal(out, '…\nl25\nl26\nl27\nl28\nl29');
    assert.match(
      trimOutput(`nginx: [emerg] bad\n${key}\nnginx: test failed`),
      /^nginx: \[emerg\] bad\n\[PEM block removed\]\nnginx: test failed$/,
    );
  });
});

describe('ssh against a real sshd', () => {
  let sshd: TestSshd;
  let work: string;
  let unregister: (() => void) | undefined;
  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'certfleet-ssh-files-'));
    unregister = registerExitCleanup(() => rmSync(work, { recursive: true, force: true }));
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    unregister?.();
  });

  it('hostKeyFingerprint shows the key sshd presents, as ssh-keygen prints it, without logging in', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = logins(sshd).length;
    const id = await hostKeyFingerprint(sshd.host, sshd.port);
    assert.equal(id.sha256, sshd.hostKeySha256);
    assert.equal(id.hex, sshd.hostKeyHex);
    assert.equal(id.keyType, 'ssh-ed25519');
    assert.equal(logins(sshd).length, before, 'no authentication attempt');
  });

  it('exec returns exit code, stdout and stderr', async () => {
    const result = await withSession(optionsFor(sshd), (s) =>
      s.exec(`echo out; echo err >&2; printf '%s' "$(whoami)"; exit 3`),
    );
    assert.deepEqual(result, { code: 3, stdout: `out\n${sshd.username}`, stderr: 'err\n' });
    const stdin = await withSession(optionsFor(sshd), (s) => s.exec('wc -c', { stdin: Buffer.from('12345') }));
    assert.equal(stdin.stdout.trim(), '5');
  });

  it('logs in with a hex pin, and with an encrypted PEM key and its passphrase', async () => {
    await withSession(optionsFor(sshd, { hostKeySha256: sshd.hostKeyHex }), async (s) =>
      assert.equal((await s.exec('true')).code, 0),
    );
    await withSession(
      optionsFor(sshd, { privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase }),
      async (s) => {
        assert.equal(s.options.method, 'key');
        assert.equal((await s.exec('true')).code, 0);
      },
    );
  });

  it('a refused key: TARGET_AUTH_FAILED, naming the user, never the key', async () => {
    const error = await rejection(connectSsh(optionsFor(sshd, { privateKey: sshd.wrongPrivateKey })));
    assert.equal(error.type, FailureType.targetAuth);
    assert.match(error.message, new RegExp(`login as ${sshd.username} with key was refused`));
    for (const secret of [sshd.wrongPrivateKey, sshd.privateKey])
      assert.ok(!error.message.includes(secret.split('\n')[1] ?? 'x'));
  });

  it('an encrypted key without its passphrase, or with a wrong one: TARGET_AUTH_FAILED; a garbled key: VALIDATION', async () => {
    const missing = await rejection(connectSsh(optionsFor(sshd, { privateKey: sshd.encryptedPrivateKey })));
    assert.equal(missing.type, FailureType.targetAuth, missing.message);
    assert.match(missing.message, /passphrase/);
    const wrong = await rejection(
      connectSsh(optionsFor(sshd, { privateKey: sshd.encryptedPrivateKey, passphrase: 'wrong' })),
    );
    assert.equal(wrong.type, FailureType.targetAuth, wrong.message);
    assert.ok(!wrong.message.includes(sshd.passphrase));
    const garbled = await rejection(
      connectSsh(
        optionsFor(sshd, {
          privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
        }),
      ),
    );
    assert.equal(garbled.type, FailureType.validation, garbled.message);
  });

  it('a host key that does not match the pin: TARGET_TLS_UNTRUSTED with the presented fingerprint; no credential is sent', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300)); // let sshd log the end of earlier logins
    const before = logins(sshd).length;
    const pinned = formatHostKeyDigest(Buffer.alloc(32, 1));
    const error = await rejection(connectSsh(optionsFor(sshd, { hostKeySha256: pinned })));
    assert.equal(error.type, FailureType.targetTlsUntrusted);
    assert.ok(error.message.includes(sshd.hostKeySha256), error.message);
    assert.ok(error.message.includes(pinned));
    assert.match(error.message, /ssh-ed25519/);
    assert.equal(logins(sshd).length, before, 'no authentication attempt');
    assert.equal(
      (await rejection(connectSsh(optionsFor(sshd, { hostKeySha256: 'nonsense' })))).type,
      FailureType.validation,
    );
  });

  it('connection refused, and a server that never speaks: TARGET_UNREACHABLE', async () => {
    const closed = await freePort();
    const refused = await rejection(connectSsh(optionsFor(sshd, { port: closed })));
    assert.equal(refused.type, FailureType.targetUnreachable);
    assert.match(refused.message, /ECONNREFUSED/);
    assert.equal((await rejection(hostKeyFingerprint('127.0.0.1', closed))).type, FailureType.targetUnreachable);

    const accepted = new Set<net.Socket>();
    const silent = net.createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const timeout = await rejection(connectSsh(optionsFor(sshd, { port, readyTimeoutMs: 500 })));
      assert.equal(timeout.type, FailureType.targetUnreachable);
      assert.match(timeout.message, /no SSH handshake within/);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  /** The same checks for both file implementations. */
  async function exerciseFiles(files: RemoteFiles, dir: string): Promise<void> {
    const key = path.join(dir, 'site.key');
    assert.equal(await files.read(key), undefined);
    assert.equal(await files.stat(key), undefined);
    await files.writeAtomic(key, Buffer.from('first\n'), 0o600);
    assert.equal(readFileSync(key, 'utf8'), 'first\n');
    assert.equal(modeOf(key), 0o600);
    // Over an existing file (plain SFTPv3 rename would refuse), and a mode wider than the umask allows.
    await files.writeAtomic(key, Buffer.from('second\n'), 0o600);
    assert.equal(readFileSync(key, 'utf8'), 'second\n');
    const shared = path.join(dir, 'group.crt');
    await files.writeAtomic(shared, Buffer.from('cert\n'), 0o664);
    assert.equal(modeOf(shared), 0o664);
    assert.equal((await files.read(key))?.toString('utf8'), 'second\n');
    assert.deepEqual(await files.stat(key), { mode: 0o600, size: 7, isFile: true });
    await files.chmod(shared, 0o640);
    assert.equal(modeOf(shared), 0o640);
    assert.equal(await files.writableDirectory(dir), true);
    assert.equal(await files.writableDirectory(path.join(dir, 'missing')), false);
    assert.equal(await files.remove(shared), true);
    assert.equal(await files.remove(shared), false);
    assert.ok(!existsSync(shared));
    const error = await rejection(files.writeAtomic(path.join(dir, 'missing', 'x.key'), Buffer.from('x'), 0o600));
    assert.equal(error.type, FailureType.targetRejected, error.message);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.includes('certfleet-tmp')),
      [],
      'no temp file left',
    );
  }

  /** Runs exerciseFiles in a fresh directory over a session to `server`, after checking that remoteFiles picked `kind`. */
  async function exerciseRemoteFiles<F extends RemoteFiles>(
    server: TestSshd,
    sudo: boolean,
    kind: abstract new (...args: never[]) => F,
  ): Promise<{ files: F; dir: string }> {
    const dir = mkdtempSync(path.join(work, `${kind.name}-`));
    return withSession(optionsFor(server), async (s) => {
      const files = await remoteFiles(s, { component: 'test', sudo });
      assert.ok(files instanceof kind, `expected ${kind.name}`);
      await exerciseFiles(files, dir);
      return { files, dir };
    });
  }

  it('SFTP files: atomic write (temp + fsync + chmod + posix-rename), read, stat, chmod, remove', async () => {
    const logStart = sshd.sftpLog().length;
    const { files, dir } = await exerciseRemoteFiles(sshd, false, SftpFiles);
    assert.deepEqual(files.renames, { posix: 3, mv: 0 });
    const log = sshd.sftpLog().slice(logStart);
    const key = path.join(dir, 'site.key');
    assert.equal(log.filter((line) => line.startsWith('posix-rename old') && line.endsWith(`new "${key}"`)).length, 2);
    assert.ok(
      !log.some((line) => line.startsWith(`open "${key}"`) && line.includes('WRITE')),
      'the target is never opened for writing',
    );
  });

  describe('with posix-rename refused by the server', () => {
    const plain = suiteSshd({ denyPosixRename: true });

    it('falls back to mv -f', async () => {
      const { files } = await exerciseRemoteFiles(plain(), false, SftpFiles);
      assert.deepEqual(files.renames, { posix: 0, mv: 3 });
    });
  });

  describe('through sudo', () => {
    // /usr/bin/sudo is not installed on this machine: a stand-in on the session PATH logs and runs the command.
    const sudoSshd = suiteSshd({ fakeSudo: true });

    it('exec with sudo runs "sudo -n <command>"', async () => {
      const result = await withSession(optionsFor(sudoSshd()), (s) => s.exec('id -u', { sudo: true }));
      assert.equal(result.code, 0);
      assert.deepEqual(sudoSshd().sudoLog(), ['-n id -u']);
    });

    it('command files: the same operations as coreutils commands, each through sudo -n', async () => {
      const { dir } = await exerciseRemoteFiles(sudoSshd(), true, ShellFiles);
      const calls = sudoSshd().sudoLog();
      assert.ok(
        calls.every((line) => line.startsWith('-n ')),
        calls.join('\n'),
      );
      const key = path.join(dir, 'site.key');
      assert.ok(
        calls.some((line) =>
          new RegExp(`^-n install -m 0600 /dev/null ${dir}/\\.site\\.key\\.certfleet-tmp-[0-9a-f]{12}$`).test(line),
        ),
        calls.join('\n'),
      );
      assert.ok(
        calls.some(
          (line) => line.startsWith(`-n mv -f -- ${dir}/.site.key.certfleet-tmp-`) && line.endsWith(` ${key}`),
        ),
      );
      assert.deepEqual(
        sudoSshd()
          .sftpLog()
          .filter((line) => line.startsWith('open ')),
        [],
        'no SFTP',
      );
    });

    it('sudo that wants a password: TARGET_PERMISSION_DENIED; no sudo at all: TARGET_REJECTED naming it', async () => {
      // The stand-in answers like sudo does when a password would be needed (called without -n here).
      const result = await withSession(optionsFor(sudoSshd()), (s) => s.exec('sudo true'));
      assert.equal(result.code, 1);
      const denied = commandFailure('test', 'read /etc/x', result);
      assert.equal(denied.type, FailureType.targetPermission);
      assert.match(denied.message, /^test: read \/etc\/x: exit 1: sudo: a password is required$/);
      const missing = commandFailure('test', 'write /etc/x', {
        code: 127,
        stderr: 'bash: line 1: sudo: command not found\n',
      });
      assert.equal(missing.type, FailureType.targetRejected);
      assert.match(missing.message, /is sudo installed\?/);
    });
  });
});

describe('password login (in-process ssh2 server)', () => {
  const PASSWORD = 'pw-SECRET-0123';
  let server: Server;
  let port: number;
  let pin: string;
  let keyboardOnly = false;
  const commands: string[] = [];

  before(async () => {
    const hostKey = ed25519KeyPair();
    const parsed = utils.parseKey(hostKey.public);
    assert.ok(!(parsed instanceof Error));
    pin = identifyHostKey(parsed.getPublicSSH()).sha256;
    server = new Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
      client.on('authentication', (ctx) => {
        if (!keyboardOnly && ctx.method === 'password')
          return ctx.username === 'deploy' && ctx.password === PASSWORD ? ctx.accept() : ctx.reject();
        if (keyboardOnly && ctx.method === 'keyboard-interactive') {
          ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) =>
            ctx.username === 'deploy' && answers[0] === PASSWORD ? ctx.accept() : ctx.reject(),
          );
          return;
        }
        ctx.reject(keyboardOnly ? ['keyboard-interactive'] : ['password']);
      });
      client.on('ready', () => {
        client.on('session', (accept) => {
          accept().on('exec', (acceptExec, _reject, info) => {
            commands.push(info.command);
            const stream = acceptExec();
            stream.write(`ran ${info.command}\n`);
            stream.exit(0);
            stream.end();
          });
        });
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  const options = (password: string): SshConnectOptions => ({
    component: 'test',
    host: '127.0.0.1',
    port,
    username: 'deploy',
    password,
    hostKeySha256: pin,
  });

  it('logs in with a password (method "password") and runs a command', async () => {
    keyboardOnly = false;
    const result = await withSession(options(PASSWORD), async (s) => {
      assert.equal(s.options.method, 'password');
      return s.exec('nginx -t');
    });
    assert.deepEqual(result, { code: 0, stdout: 'ran nginx -t\n', stderr: '' });
  });

  it('answers keyboard-interactive password prompts (PAM-style servers)', async () => {
    keyboardOnly = true;
    const result = await withSession(options(PASSWORD), (s) => s.exec('true'));
    assert.equal(result.code, 0);
  });

  it('a wrong password: TARGET_AUTH_FAILED without the password in the message', async () => {
    for (const kbd of [false, true]) {
      keyboardOnly = kbd;
      const error = await rejection(connectSsh(options('not-the-password')));
      assert.equal(error.type, FailureType.targetAuth, error.message);
      assert.match(error.message, /login as deploy with password was refused/);
      assert.ok(!error.message.includes('not-the-password') && !error.message.includes(PASSWORD));
    }
  });
});
