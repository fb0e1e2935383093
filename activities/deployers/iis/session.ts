/**
 * IIS: the SSH session to the Windows server (pinned host key, key or password login; the shared
 * plumbing of ../ssh/) and the script runner: every command is a PowerShell script sent as
 * -EncodedCommand (./scripts.ts), its reply read by ./replies.ts. Facts: docs/vendors/iis.md.
 */
import type { SFTPWrapper } from 'ssh2';
import { FailureType } from '../../../temporal/contract';
import { classified, type ClassifiedError } from '../../errors';
import type { SshCredentials } from '../ssh/options';
import { pinnedConnection, type PinnedConnection } from '../ssh/pinned-connection';
import type { SshSession } from '../ssh/session';
import type { DeployerTarget } from '../types';
import type { IisOptions } from './descriptor';
import { readReply, type Json } from './replies';
import { buildScript, encodeCommand, MAX_COMMAND_LENGTH, type ScriptOperation, type ScriptParams } from './scripts';

export const C = 'iis';
const EXEC_TIMEOUT_MS = 180_000;

/** The pinned connection (../ssh/pinned-connection.ts) and the script runner. */
export interface IisSession extends PinnedConnection {
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
}

export function createIisSession(target: DeployerTarget, options: IisOptions, login: SshCredentials): IisSession {
  const { host, port } = target;
  const connection = pinnedConnection({
    component: C,
    target,
    hostKeySha256: options.hostKeySha256,
    login,
    keyListCommand: (keyFile) => `on the server: ssh-keygen -lf C:\\ProgramData\\ssh\\ssh_host_${keyFile}_key.pub`,
  });
  const { open } = connection;

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

  return { ...connection, sftpOf, run, unexpected };
}
