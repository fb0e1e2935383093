/**
 * One SSH connection to a managed server (ssh2): pinned host key, key or password login, commands
 * with optional `sudo -n`, and SFTP. Facts: docs/vendors/ssh-targets.md.
 *
 * The host key is checked before any credential is sent: ssh2 calls the host verifier during key
 * exchange, and a refused key ends the connection before user authentication.
 */
import { connect as netConnect } from 'node:net';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { classifyConnectError, classifyKeyError, type ConnectFailureContext } from './connect-errors';
import { hostKeyPinDigest, identifyHostKey, type HostKeyIdentity } from './pin';
import { withSudo } from './shell';
import { recordCommand } from '../wire-transcript';
import { guardedLookup } from '../../target-address';

export interface SshLogin {
  username: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
}

export interface SshConnectOptions extends SshLogin {
  host: string;
  port: number;
  /** The pinned host key ("SHA256:…" or hex). Required: nothing is sent to an unpinned server. */
  hostKeySha256: string;
  /** Prefix of error messages, e.g. "nginx". */
  component: string;
  /** Handshake and login must finish within this (default 15 s). */
  readyTimeoutMs?: number;
  /** The admin's allowed networks: the connection checks what the host name resolves to (activities/target-address.ts). */
  allowedNetworks?: readonly string[];
}

export interface ExecResult {
  /** Exit status; -1 when the server sent none (killed by a signal, channel closed). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Run as `sudo -n <command>`. */
  sudo?: boolean;
  /** Written to the command's standard input, then closed. */
  stdin?: Buffer;
  /** Default 120 s. */
  timeoutMs?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 15_000;
const DEFAULT_EXEC_TIMEOUT_MS = 120_000;

export class SshSession {
  private closed = false;
  private lost: ClassifiedError | undefined;
  private sftpChannel: Promise<SFTPWrapper | undefined> | undefined;

  constructor(
    private readonly client: Client,
    readonly options: {
      component: string;
      host: string;
      port: number;
      username: string;
      hostKey: HostKeyIdentity;
      method: 'key' | 'password';
    },
  ) {
    client.on('error', (error: Error) => {
      this.lost = classified(FailureType.targetUnreachable, `${this.where}: connection lost: ${error.message}`);
    });
    client.on('close', () => {
      this.lost ??= classified(FailureType.targetUnreachable, `${this.where}: the server closed the connection`);
    });
  }

  private get where(): string {
    return `${this.options.component}: SSH ${this.options.host}:${this.options.port}`;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error(`${this.where}: session already closed`);
    if (this.lost) throw this.lost;
  }

  /** Runs a command; stdout as bytes (file contents). */
  execBytes(command: string, options: ExecOptions = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    this.ensureOpen();
    const full = withSudo(command, options.sudo === true);
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      this.client.exec(full, (error: Error | undefined, channel: ClientChannel) => {
        if (error) {
          reject(classified(FailureType.targetUnreachable, `${this.where}: cannot start a command: ${error.message}`));
          return;
        }
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let code = -1;
        const timer = setTimeout(() => {
          channel.close();
          reject(
            classified(
              FailureType.targetUnreachable,
              `${this.where}: "${command.slice(0, 80)}" did not finish within ${Math.round(timeoutMs / 1000)} s`,
            ),
          );
        }, timeoutMs);
        channel.on('data', (chunk: Buffer) => out.push(chunk));
        channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
        channel.on('exit', (exitCode: number | null) => {
          if (typeof exitCode === 'number') code = exitCode;
        });
        channel.on('close', () => {
          clearTimeout(timer);
          const result = { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
          // The run's wire transcript: the command, the size of its input (never the input) and its output, redacted.
          recordCommand(full, options.stdin?.length, this.lost && code === -1 ? { error: this.lost } : result);
          if (this.lost && code === -1) reject(this.lost);
          else resolve(result);
        });
        if (options.stdin) channel.end(options.stdin);
        else channel.end();
      });
    });
  }

  /** Runs a command and returns its exit status and output. */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.execBytes(command, options);
    return { code: result.code, stdout: result.stdout.toString('utf8'), stderr: result.stderr };
  }

  /** The SFTP channel, opened once; undefined when the server offers no SFTP subsystem. */
  sftp(): Promise<SFTPWrapper | undefined> {
    this.ensureOpen();
    this.sftpChannel ??= new Promise((resolve) => {
      this.client.sftp((error: Error | undefined, sftp: SFTPWrapper) => resolve(error ? undefined : sftp));
    });
    return this.sftpChannel;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }
}

/** Connects, checks the pinned host key, logs in. Errors are classified (see connect-errors.ts). */
export function connectSsh(options: SshConnectOptions): Promise<SshSession> {
  const pin = hostKeyPinDigest(options.hostKeySha256);
  if (!pin)
    return Promise.reject(
      classified(
        FailureType.validation,
        `${options.component}: the host key pin is not a SHA-256 fingerprint ("SHA256:…" or 64 hex digits)`,
      ),
    );
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const methods = [...(options.privateKey ? ['key'] : []), ...(options.password ? ['password'] : [])];
  const failure: ConnectFailureContext = {
    component: options.component,
    host: options.host,
    port: options.port,
    username: options.username,
    methods,
    pinned: options.hostKeySha256,
    readyTimeoutMs,
  };

  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let method: 'key' | 'password' = options.privateKey ? 'key' : 'password';
    // Our own socket, so its DNS answer goes through the target network check before anything is sent.
    const sock = options.allowedNetworks
      ? netConnect({
          host: options.host,
          port: options.port,
          lookup: guardedLookup(options.component, options.allowedNetworks),
        })
      : undefined;
    const config: ConnectConfig = {
      host: options.host,
      port: options.port,
      ...(sock ? { sock } : {}),
      username: options.username,
      readyTimeout: readyTimeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer): boolean => {
        failure.presented = identifyHostKey(key);
        failure.hostKeyRefused = !Buffer.from(failure.presented.hex, 'hex').equals(pin);
        return !failure.hostKeyRefused;
      },
      ...(options.privateKey
        ? { privateKey: options.privateKey, ...(options.passphrase ? { passphrase: options.passphrase } : {}) }
        : {}),
      ...(options.password ? { password: options.password, tryKeyboard: true } : {}),
    };
    if (options.password) {
      const password = options.password;
      // Servers that take passwords through PAM ask by keyboard-interactive: answer every prompt with it.
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
        method = 'password';
        finish(prompts.map(() => password));
      });
    }
    client.once('ready', () => {
      settled = true;
      if (!failure.presented) {
        client.end();
        reject(
          classified(
            FailureType.targetTlsUntrusted,
            `${options.component}: SSH ${options.host}:${options.port}: the host key was not checked`,
          ),
        );
        return;
      }
      resolve(
        new SshSession(client, {
          component: options.component,
          host: options.host,
          port: options.port,
          username: options.username,
          hostKey: failure.presented,
          method,
        }),
      );
    });
    client.on('error', (error: Error) => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(classifyConnectError(error, failure));
    });
    try {
      client.connect(config);
    } catch (error) {
      settled = true;
      sock?.destroy();
      reject(classifyKeyError(error, options.component));
    }
  });
}

/**
 * The host key a server presents, without logging in: for the first pin. The connection is ended
 * during key exchange, before any credential is sent.
 */
export function hostKeyFingerprint(
  host: string,
  port: number,
  options: { component?: string; timeoutMs?: number } = {},
): Promise<HostKeyIdentity> {
  const component = options.component ?? 'ssh';
  const readyTimeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: HostKeyIdentity | undefined;
    let settled = false;
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      if (presented) resolve(presented);
      else
        reject(
          classifyConnectError(error ?? new Error('no host key received'), { component, host, port, readyTimeoutMs }),
        );
    };
    client.on('error', (error: Error) => finish(error));
    client.on('close', () => finish());
    client.on('ready', () => finish());
    client.connect({
      host,
      port,
      username: 'certfleet-host-key-probe',
      readyTimeout: readyTimeoutMs,
      hostVerifier: (key: Buffer): boolean => {
        presented = identifyHostKey(key);
        return false;
      },
    });
  });
}
