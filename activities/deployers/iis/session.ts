/**
 * IIS: the SSH session to the Windows server (pinned host key, key or password login; the shared
 * plumbing of ../ssh/) and the script runner: every command is a PowerShell script sent as
 * -EncodedCommand (./scripts.ts), its reply read by ./replies.ts. Facts: docs/vendors/iis.md.
 */
import type { SFTPWrapper } from 'ssh2';
import { FailureType } from '../../../temporal/contract';
import { classified, type ClassifiedError } from '../../errors';
import type { SshCredentials } from '../ssh/options';
import { hostKeyFileName, type HostKeyIdentity } from '../ssh/pin';
import { connectSsh, hostKeyFingerprint, type SshSession } from '../ssh/session';
import type { DeployerTarget } from '../types';
import type { IisOptions } from './descriptor';
import { readReply, type Json } from './replies';
import { buildScript, encodeCommand, MAX_COMMAND_LENGTH, type ScriptOperation, type ScriptParams } from './scripts';

export const C = 'iis';
const EXEC_TIMEOUT_MS = 180_000;

export interface IisSession {
  /** Connects once (the pinned host key checked); without a pin, throws TARGET_TLS_UNTRUSTED showing the key presented. */
  open: () => Promise<SshSession>;
  /** The session's SFTP channel; TARGET_REJECTED when the server has no SFTP subsystem. */
  sftpOf: (ssh: SshSession) => Promise<SFTPWrapper>;
  /** Runs one script and returns its JSON reply (errors classified, secrets redacted). */
  run: <O extends ScriptOperation>(
    operation: O,
    params: ScriptParams[O],
    what: string,
    secrets?: string[],
  ) => Promise<Json>;
  /** TARGET_REJECTED for a reply without the fields a script promises. */
  unexpected: (what: string, reply: Json) => ClassifiedError;
  /** What to do when no host key is pinned yet. */
  unpinned: (presented: HostKeyIdentity) => string;
  close: () => Promise<void>;
}

export function createIisSession(target: DeployerTarget, options: IisOptions, login: SshCredentials): IisSession {
  const { host, port } = target;
  let opened: Promise<SshSession> | undefined;
  let session: SshSession | undefined;

  const unpinned = (presented: HostKeyIdentity): string =>
    `No SSH host key is pinned for this target yet. ${host}:${port} presents ${presented.sha256} (${presented.keyType}). Compare it with the server's key (on the server: ssh-keygen -lf C:\\ProgramData\\ssh\\ssh_host_${hostKeyFileName(presented.keyType)}_key.pub) and pin it as the host key (SHA-256) if it matches.`;

  const open = (): Promise<SshSession> => {
    opened ??= (async () => {
      if (!options.hostKeySha256) {
        const presented = await hostKeyFingerprint(host, port, { component: C });
        throw classified(FailureType.targetTlsUntrusted, `${C}: ${unpinned(presented)}`);
      }
      const ssh = await connectSsh({
        component: C,
        host,
        port,
        hostKeySha256: options.hostKeySha256,
        ...login,
        ...(target.allowedNetworks ? { allowedNetworks: target.allowedNetworks } : {}),
      });
      session = ssh;
      return ssh;
    })();
    return opened;
  };

  const sftpOf = async (ssh: SshSession): Promise<SFTPWrapper> => {
    const sftp = await ssh.sftp();
    if (!sftp)
      throw classified(
        FailureType.targetRejected,
        `${C}: ${host}:${port} offers no SFTP subsystem (Windows OpenSSH has one: "Subsystem sftp sftp-server.exe" in sshd_config)`,
      );
    return sftp;
  };

  async function run<O extends ScriptOperation>(
    operation: O,
    params: ScriptParams[O],
    what: string,
    secrets: string[] = [],
  ): Promise<Json> {
    const ssh = await open();
    const command = encodeCommand(buildScript(operation, params));
    if (command.length > MAX_COMMAND_LENGTH) {
      throw classified(
        FailureType.validation,
        `${C}: ${what}: the command would be ${command.length} characters, over cmd.exe's limit of ${MAX_COMMAND_LENGTH}`,
      );
    }
    const result = await ssh.exec(command, { timeoutMs: EXEC_TIMEOUT_MS });
    return readReply(C, what, result, { secrets, legacyPfx: options.legacyPfx });
  }

  const unexpected = (what: string, reply: Json): ClassifiedError =>
    classified(FailureType.targetRejected, `${C}: ${what}: unexpected reply ${JSON.stringify(reply).slice(0, 300)}`);

  async function close(): Promise<void> {
    const current = session;
    session = undefined;
    opened = undefined;
    if (current) await current.close();
  }

  return { open, sftpOf, run, unexpected, unpinned, close };
}
