/**
 * Real Debian nginx and apache2 for deployer tests, with every path (config, pid, logs, temp dirs,
 * certificates) in a temp dir and TLS on a free loopback port, serving a self-signed certificate
 * made here. The config-test and reload commands a deployer should run for them are part of the
 * returned object; reloads are counted from the error log.
 *
 * Apache's `-k graceful` starts a (daemonised) server when the one we started has died, so stop()
 * also ends the process named in the pid file.
 */
import { opensslSelfSigned } from './openssl-self-signed';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { readCertificateFacts } from '../../activities/crypto/pem';
import type { DeployerContext, VerifyEndpoint } from '../../activities/deployers/types';
import { servedCertificate } from '../../activities/deployers/verify-served';
import type { FakeDeviceView } from './deployer-contract';
import { freePort } from './free-port';
import { registerExitCleanup, spawnManaged, type ManagedProcess } from './process';
import type { TestSshd } from './sshd';

export const NGINX = '/usr/sbin/nginx';
export const APACHE = '/usr/sbin/apache2';
const APACHE_MODULES = '/usr/lib/apache2/modules';

export interface TestWebServer {
  kind: 'nginx' | 'apache';
  dir: string;
  /** Directory holding the certificate files (and the deployer's staged copies and backups). */
  certDir: string;
  certPath: string;
  keyPath: string;
  /** Apache only: SSLCertificateChainFile. */
  chainPath?: string;
  confPath: string;
  /** Config test and reload for this instance (absolute binary, its own config). */
  testCommand: string;
  reloadCommand: string;
  endpoint: VerifyEndpoint;
  /** SHA-256 (hex) of the self-signed certificate served at start. */
  initialFingerprint: string;
  /** Reloads seen in the error log (nginx "reconfiguring", apache AH00493/AH00494 graceful restarts). */
  reloads(): number;
  errorLog(): string;
  /** Files in certDir (full paths), sorted. */
  files: () => string[];
  /** True while the TLS port answers a handshake. */
  answering(): Promise<boolean>;
  stop: () => Promise<void>;
}

export function nginxAvailable(): boolean {
  return existsSync(NGINX);
}

export function apacheAvailable(): boolean {
  return existsSync(APACHE) && existsSync(path.join(APACHE_MODULES, 'mod_ssl.so'));
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function selfSigned(certDir: string): { certPath: string; keyPath: string; fingerprint: string } {
  const certPath = path.join(certDir, 'site.crt');
  const keyPath = path.join(certDir, 'site.key');
  const { certPem, keyPem } = opensslSelfSigned({
    subject: '/CN=initial.example.test',
    subjectAltName: 'DNS:initial.example.test',
  });
  writeFileSync(certPath, certPem);
  writeFileSync(keyPath, keyPem);
  return { certPath, keyPath, fingerprint: readCertificateFacts(certPem).fingerprintSha256 };
}

const handshakes = async (endpoint: VerifyEndpoint): Promise<boolean> => {
  try {
    await servedCertificate(endpoint, 2000);
    return true;
  } catch {
    return false;
  }
};

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The pid in a pid file, but only while that pid is still our server: a server that already exited
 * leaves its pid file behind, and the number may by now belong to an unrelated process (another test
 * file's Temporal server, say). Its command line must mention the server's own temp dir.
 */
function ourPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return cmdline.includes(path.dirname(pidFile)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Ends the process named in a pid file (one this helper started), SIGTERM then SIGKILL. */
async function stopByPidFile(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = ourPid(pidFile);
  if (pid === undefined || !processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && processAlive(pid); i++) await delay(100);
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}

function killByPidFileSync(pidFile: string): void {
  const pid = ourPid(pidFile);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

interface Layout {
  dir: string;
  certDir: string;
  port: number;
  certPath: string;
  keyPath: string;
  chainPath?: string;
}

async function startWith(
  kind: 'nginx' | 'apache',
  write: (layout: Layout) => {
    confPath: string;
    start: [string, string[]];
    testCommand: string;
    reloadCommand: string;
    pidFile: string;
    reloadPattern: RegExp;
  },
  withChain: boolean,
): Promise<TestWebServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `certfleet-${kind}-`));
  let pidFile = '';
  const unregister = registerExitCleanup(() => {
    if (pidFile) killByPidFileSync(pidFile);
    rmSync(dir, { recursive: true, force: true });
  });
  const certDir = path.join(dir, 'ssl');
  mkdirSync(certDir);
  const initial = selfSigned(certDir);
  const chainPath = withChain ? path.join(certDir, 'chain.pem') : undefined;
  if (chainPath) writeFileSync(chainPath, readFileSync(initial.certPath));
  const errorLogPath = path.join(dir, 'error.log');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const layout: Layout = {
      dir,
      certDir,
      port,
      certPath: initial.certPath,
      keyPath: initial.keyPath,
      ...(chainPath ? { chainPath } : {}),
    };
    const setup = write(layout);
    pidFile = setup.pidFile;
    const endpoint: VerifyEndpoint = { host: '127.0.0.1', port };
    let proc: ManagedProcess;
    try {
      proc = await spawnManaged(setup.start[0], setup.start[1], {
        name: kind,
        readyWhen: () => handshakes(endpoint),
        timeoutMs: 15_000,
        pollIntervalMs: 100,
      });
    } catch (error) {
      lastError = error;
      if (/Address already in use|could not bind/i.test(String(error))) continue;
      unregister();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const errorLog = (): string => (existsSync(errorLogPath) ? readFileSync(errorLogPath, 'utf8') : '');
    return {
      kind,
      dir,
      certDir,
      certPath: initial.certPath,
      keyPath: initial.keyPath,
      ...(chainPath ? { chainPath } : {}),
      confPath: setup.confPath,
      testCommand: setup.testCommand,
      reloadCommand: setup.reloadCommand,
      endpoint,
      initialFingerprint: initial.fingerprint,
      reloads: () =>
        errorLog()
          .split('\n')
          .filter((line) => setup.reloadPattern.test(line)).length,
      errorLog,
      files: () =>
        readdirSync(certDir)
          .map((name) => path.join(certDir, name))
          .sort(),
      answering: () => handshakes(endpoint),
      async stop() {
        await proc.stop();
        await stopByPidFile(setup.pidFile);
        unregister();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  unregister();
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`${kind} did not start: ${String(lastError)}`);
}

/** nginx in the foreground (`daemon off;` in its config), master + one worker. */
export function startNginx(): Promise<TestWebServer> {
  if (!nginxAvailable()) throw new Error(`${NGINX} is missing: apt-get install -y nginx`);
  return startWith(
    'nginx',
    ({ dir, port, certPath, keyPath }) => {
      const confPath = path.join(dir, 'nginx.conf');
      const pidFile = path.join(dir, 'nginx.pid');
      const temp = path.join(dir, 'temp');
      mkdirSync(temp, { recursive: true });
      writeFileSync(
        confPath,
        [
          'daemon off;',
          ...(isRoot() ? ['user root;'] : []),
          'worker_processes 1;',
          `pid ${pidFile};`,
          `error_log ${path.join(dir, 'error.log')} notice;`,
          'events { worker_connections 64; }',
          'http {',
          '  access_log off;',
          ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
            (name) => `  ${name}_temp_path ${path.join(temp, name)};`,
          ),
          '  server {',
          `    listen 127.0.0.1:${port} ssl;`,
          `    ssl_certificate ${certPath};`,
          `    ssl_certificate_key ${keyPath};`,
          '    location / { return 200 "certfleet test\\n"; }',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      // -e: the startup error log (before the config's error_log is read); -p: prefix for relative paths.
      const base = `${NGINX} -e ${path.join(dir, 'error.log')} -p ${dir}/ -c ${confPath}`;
      return {
        confPath,
        pidFile,
        start: [NGINX, ['-e', path.join(dir, 'error.log'), '-p', `${dir}/`, '-c', confPath]],
        testCommand: `${base} -t`,
        reloadCommand: `${base} -s reload`,
        reloadPattern: /\[notice\] \d+#\d+: reconfiguring/,
      };
    },
    false,
  );
}

/**
 * apache2 in the foreground (-DFOREGROUND), its own ServerRoot, modules loaded from Debian's
 * module dir: mpm_event, authz_core, ssl. `withChain` adds an SSLCertificateChainFile.
 */
export function startApache(options: { withChain?: boolean } = {}): Promise<TestWebServer> {
  if (!apacheAvailable()) throw new Error(`${APACHE} or mod_ssl is missing: apt-get install -y apache2`);
  const group = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .some((line) => line.startsWith('nogroup:'))
    ? 'nogroup'
    : 'nobody';
  return startWith(
    'apache',
    ({ dir, port, certPath, keyPath, chainPath }) => {
      const confPath = path.join(dir, 'httpd.conf');
      const pidFile = path.join(dir, 'httpd.pid');
      writeFileSync(
        confPath,
        [
          `ServerRoot ${dir}`,
          'ServerName localhost',
          `DefaultRuntimeDir ${dir}`,
          `PidFile ${pidFile}`,
          `Mutex file:${dir} default`,
          `ErrorLog ${path.join(dir, 'error.log')}`,
          'LogLevel notice',
          `LoadModule mpm_event_module ${APACHE_MODULES}/mod_mpm_event.so`,
          `LoadModule authz_core_module ${APACHE_MODULES}/mod_authz_core.so`,
          `LoadModule ssl_module ${APACHE_MODULES}/mod_ssl.so`,
          ...(isRoot() ? ['User nobody', `Group ${group}`] : []),
          'StartServers 1',
          'ServerLimit 1',
          'ThreadsPerChild 8',
          'MaxRequestWorkers 8',
          'GracefulShutdownTimeout 2',
          `Listen 127.0.0.1:${port} https`,
          'SSLSessionCache none',
          `<VirtualHost 127.0.0.1:${port}>`,
          '  SSLEngine on',
          `  SSLCertificateFile ${certPath}`,
          ...(chainPath ? [`  SSLCertificateChainFile ${chainPath}`] : []),
          `  SSLCertificateKeyFile ${keyPath}`,
          '</VirtualHost>',
          '',
        ].join('\n'),
      );
      const base = `${APACHE} -d ${dir} -f ${confPath}`;
      return {
        confPath,
        pidFile,
        start: [APACHE, ['-d', dir, '-f', confPath, '-DFOREGROUND']],
        testCommand: `${base} -t`,
        reloadCommand: `${base} -k graceful`,
        reloadPattern: /AH0049[34]: SIG/,
      };
    },
    options.withChain === true,
  );
}

// ---------------------------------------------------------------------------------------------
// Glue for the deployer tests: a target context for (sshd, web server), and the view the shared
// contract observes.

export interface SshTargetInput {
  credentials?: Record<string, string>;
  options?: Record<string, unknown>;
  binding?: Record<string, unknown>;
}

/**
 * A target for the web server behind the test sshd: key login, pinned host key, the server's own
 * test and reload commands, its TLS port as the verify port. `trust` carries the host key too (the
 * web stores some pin there; SSH deployers ignore it, see pinFromTrust).
 */
export function sshTargetContext(sshd: TestSshd, web: TestWebServer, input: SshTargetInput = {}): DeployerContext {
  return {
    target: {
      id: `target-${web.kind}`,
      name: `${web.kind}-test`,
      host: sshd.host,
      port: sshd.port,
      trust: { fingerprintSha256: sshd.hostKeyHex },
      credentials: input.credentials ?? { username: sshd.username, privateKey: sshd.privateKey },
      options: {
        hostKeySha256: sshd.hostKeySha256,
        certPath: web.certPath,
        keyPath: web.keyPath,
        ...(web.chainPath ? { chainPath: web.chainPath } : {}),
        testCommand: web.testCommand,
        reloadCommand: web.reloadCommand,
        reloadWaitSeconds: 10,
        ...input.options,
      },
    },
    binding: input.binding ?? { verifyPorts: [web.endpoint.port] },
  };
}

/**
 * The shared contract's "wrong pinned fingerprint" case swaps `target.trust`, the management-TLS pin
 * of HTTPS appliances. For an SSH target the management identity is the host key, pinned in
 * `options.hostKeySha256`: the harness carries the contract's pin over to it.
 */
export function pinFromTrust(ctx: DeployerContext): DeployerContext {
  const trust = ctx.target.trust;
  if (!('fingerprintSha256' in trust)) return ctx;
  return {
    ...ctx,
    target: { ...ctx.target, options: { ...ctx.target.options, hostKeySha256: trust.fingerprintSha256 } },
  };
}

const SFTP_MUTATION =
  /^(open "[^"]*" flags \S*WRITE|remove |rename |posix-rename |set |mkdir |rmdir |symlink |hardlink )/;

/** What the contract observes: files in the certificate dir, and every change (SFTP writes, file changes, reloads). */
export function sshServerView(sshd: TestSshd, web: TestWebServer): FakeDeviceView {
  const snapshot = (): string =>
    JSON.stringify(
      web.files().map((file) => {
        const s = statSync(file);
        return [file, s.size, s.mtimeMs, s.mode];
      }),
    );
  let last = snapshot();
  let changes = 0;
  return {
    certificateObjects: () => web.files(),
    mutatingCalls() {
      const now = snapshot();
      if (now !== last) changes++;
      last = now;
      return changes + web.reloads() + sshd.sftpLog().filter((line) => SFTP_MUTATION.test(line)).length;
    },
    secrets: [sshd.privateKey, sshd.wrongPrivateKey, sshd.encryptedPrivateKey, sshd.passphrase],
  };
}
