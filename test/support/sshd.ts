/**
 * A real OpenSSH server for tests (Debian `openssh-server`): `sshd -D -e -f <tmp>/sshd_config` on a
 * free loopback port, with its own host key and an authorized key made here. The SFTP subsystem is
 * the stock sftp-server at log level INFO, logging to a file, so tests can see which requests were
 * made (`open … flags WRITE…`, `posix-rename old … new …`).
 *
 * Logins are for the user running the tests (root in CI: `PermitRootLogin yes`). `UsePAM no` and
 * `StrictModes no` keep it independent of the machine's PAM and of temp-dir permissions.
 *
 * Options: `denyPosixRename` starts sftp-server with `-P posix-rename` (the server
 * refuses the extension: the client must fall back to `mv -f`). `fakeSudo` puts a `sudo` on the
 * session's PATH (authorized_keys `environment=`, PermitUserEnvironment) that logs its arguments and
 * runs the command: the sudo code path runs for real where `/usr/bin/sudo` is not installed.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { suiteResource } from './suite-resource';
import { registerExitCleanup, spawnManaged, type ManagedProcess } from './process';

export const SSHD = '/usr/sbin/sshd';
export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

export interface SshdOptions {
  denyPosixRename?: boolean;
  fakeSudo?: boolean;
}

export interface TestSshd {
  host: string;
  port: number;
  /** The login the authorized key is for (the user running the tests). */
  username: string;
  /** OpenSSH-format ed25519 private key in authorized_keys. */
  privateKey: string;
  /** An ed25519 key that is not authorized. */
  wrongPrivateKey: string;
  /** An authorized RSA key in PEM (PKCS#1) form, encrypted with `passphrase`. */
  encryptedPrivateKey: string;
  passphrase: string;
  /** The server's host key fingerprint as `ssh-keygen -lf -E sha256` prints it ("SHA256:…"). */
  hostKeySha256: string;
  /** The same digest as hex. */
  hostKeyHex: string;
  dir: string;
  /** sftp-server log lines so far. */
  sftpLog(): string[];
  /** Arguments of every fake-sudo call (fakeSudo only). */
  sudoLog(): string[];
  /** sshd's own output. */
  output(): string;
  stop: () => Promise<void>;
}

export function sshdAvailable(): boolean {
  return existsSync(SSHD) && existsSync(SFTP_SERVER);
}

const keygen = (args: string[]): string =>
  execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function fingerprintOf(pubFile: string): { sha256: string; hex: string } {
  const line = keygen(['-l', '-E', 'sha256', '-f', pubFile]);
  const sha256 = /SHA256:[A-Za-z0-9+/]+/.exec(line)?.[0];
  if (!sha256) throw new Error(`ssh-keygen printed no fingerprint: ${line}`);
  return { sha256, hex: Buffer.from(sha256.slice(7), 'base64').toString('hex') };
}

/** An sshd started with `options` before the cases of the calling describe() and stopped after them. */
export function suiteSshd(options: SshdOptions = {}): () => TestSshd {
  return suiteResource(
    () => startSshd(options),
    (sshd) => sshd.stop(),
  );
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!sshdAvailable()) throw new Error(`${SSHD} is missing: apt-get install -y openssh-server`);
  // sshd needs its privilege separation directory (systemd's tmpfiles create it on a booted host).
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certfleet-sshd-'));
  const unregister = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string): string => path.join(dir, name);
  const username = os.userInfo().username;
  const passphrase = 'correct horse battery staple';

  keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'certfleet-test-host', '-f', file('host_ed25519')]);
  keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'certfleet-test-client', '-f', file('client_ed25519')]);
  keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'certfleet-test-wrong', '-f', file('wrong_ed25519')]);
  keygen([
    '-q',
    '-t',
    'rsa',
    '-b',
    '2048',
    '-m',
    'PEM',
    '-N',
    passphrase,
    '-C',
    'certfleet-test-rsa',
    '-f',
    file('client_rsa'),
  ]);
  const host = fingerprintOf(file('host_ed25519.pub'));

  let keyOptions = '';
  if (options.fakeSudo) {
    mkdirSync(file('bin'));
    writeFileSync(
      file('bin/sudo'),
      `#!/bin/sh\n# Test stand-in for sudo: log the arguments, require -n, run the command.\nprintf '%s\\n' "$*" >> ${file('sudo.log')}\n[ "$1" = "-n" ] || { echo "sudo: a password is required" >&2; exit 1; }\nshift\nexec "$@"\n`,
    );
    chmodSync(file('bin/sudo'), 0o755);
    writeFileSync(file('sudo.log'), '');
    keyOptions = `environment="PATH=${file('bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" `;
  }
  const authorized = ['client_ed25519.pub', 'client_rsa.pub']
    .map((name) => `${keyOptions}${readFileSync(file(name), 'utf8').trim()}`)
    .join('\n');
  writeFileSync(file('authorized_keys'), `${authorized}\n`, { mode: 0o600 });
  writeFileSync(file('sftp.log'), '');

  const deny = options.denyPosixRename ? ' -P posix-rename' : '';
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(
      file('sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${file('host_ed25519')}`,
        `PidFile ${file('sshd.pid')}`,
        `AuthorizedKeysFile ${file('authorized_keys')}`,
        'PermitRootLogin yes',
        'UsePAM no',
        'StrictModes no',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        `PermitUserEnvironment ${options.fakeSudo ? 'yes' : 'no'}`,
        'LogLevel INFO',
        // The subsystem command runs through the user's shell, so its stderr can go to a file.
        `Subsystem sftp ${SFTP_SERVER} -e -l INFO${deny} 2>>${file('sftp.log')}`,
        '',
      ].join('\n'),
    );
    let proc: ManagedProcess;
    try {
      proc = await spawnManaged(SSHD, ['-D', '-e', '-f', file('sshd_config')], {
        name: 'sshd',
        readyWhen: /Server listening on 127\.0\.0\.1 port/,
        timeoutMs: 10_000,
      });
    } catch (error) {
      lastError = error;
      if (/Bind to port|Address already in use/.test(String(error))) continue;
      unregister();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const lines = (name: string): string[] =>
      existsSync(file(name)) ? readFileSync(file(name), 'utf8').split(/\r?\n/).filter(Boolean) : [];
    return {
      host: '127.0.0.1',
      port,
      username,
      privateKey: readFileSync(file('client_ed25519'), 'utf8'),
      wrongPrivateKey: readFileSync(file('wrong_ed25519'), 'utf8'),
      encryptedPrivateKey: readFileSync(file('client_rsa'), 'utf8'),
      passphrase,
      hostKeySha256: host.sha256,
      hostKeyHex: host.hex,
      dir,
      sftpLog: () => lines('sftp.log'),
      sudoLog: () => lines('sudo.log'),
      output: () => proc.output(),
      async stop() {
        await proc.stop();
        unregister();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  unregister();
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`sshd did not start: ${String(lastError)}`);
}
