/**
 * One SSH connection per deployer, to a host whose key is pinned (nginx, apache, IIS): connects on
 * first use, refuses to connect without a pin (showing the key the server presents, for the
 * technician to compare and pin), and gives the preflight's host-key and login checks.
 * Facts: docs/vendors/ssh-targets.md, docs/vendors/iis.md.
 */
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import type { DeployerTarget, PreflightCheck } from '../types';
import type { SshCredentials } from './options';
import { hostKeyFileName, type HostKeyIdentity } from './pin';
import { connectSsh, hostKeyFingerprint, type SshSession } from './session';

export interface PinnedConnectionSpec {
  component: string;
  target: Pick<DeployerTarget, 'host' | 'port' | 'allowedNetworks'>;
  /** The pin from the target's options; undefined until a technician pins the key. */
  hostKeySha256: string | undefined;
  login: SshCredentials;
  /** How to print the server's own key of a type, e.g. "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub". */
  keyListCommand: (keyFileName: string) => string;
}

export interface PinnedConnection {
  /** Connects once (the pinned host key checked); without a pin, throws TARGET_TLS_UNTRUSTED showing the key presented. */
  open: () => Promise<SshSession>;
  /** What to do when no host key is pinned yet. */
  unpinned: (presented: HostKeyIdentity) => string;
  /**
   * The preflight's "SSH host key" and "SSH login" checks (`loginExtra` adds to the login's detail).
   * Without a pin: the one failed host-key check and no session, nothing else can be checked.
   */
  identityChecks: (
    loginExtra?: (ssh: SshSession) => Promise<string>,
  ) => Promise<{ checks: PreflightCheck[]; ssh?: SshSession }>;
  close: () => Promise<void>;
}

export function pinnedConnection(spec: PinnedConnectionSpec): PinnedConnection {
  const { component: C, target, hostKeySha256, login } = spec;
  const { host, port } = target;
  let opened: Promise<SshSession> | undefined;
  let session: SshSession | undefined;

  const unpinned = (presented: HostKeyIdentity): string =>
    `No SSH host key is pinned for this target yet. ${host}:${port} presents ${presented.sha256} (${presented.keyType}). Compare it with the server's key (${spec.keyListCommand(hostKeyFileName(presented.keyType))}) and pin it as the host key (SHA-256) if it matches.`;

  const open = (): Promise<SshSession> => {
    opened ??= (async () => {
      if (!hostKeySha256) {
        const presented = await hostKeyFingerprint(host, port, { component: C });
        throw classified(FailureType.targetTlsUntrusted, `${C}: ${unpinned(presented)}`);
      }
      const ssh = await connectSsh({
        component: C,
        host,
        port,
        hostKeySha256,
        ...login,
        ...(target.allowedNetworks ? { allowedNetworks: target.allowedNetworks } : {}),
      });
      session = ssh;
      return ssh;
    })();
    return opened;
  };

  async function identityChecks(
    loginExtra?: (ssh: SshSession) => Promise<string>,
  ): Promise<{ checks: PreflightCheck[]; ssh?: SshSession }> {
    if (!hostKeySha256) {
      const presented = await hostKeyFingerprint(host, port, { component: C });
      return { checks: [{ name: 'SSH host key', ok: false, detail: unpinned(presented) }] };
    }
    const ssh = await open();
    const extra = loginExtra ? `; ${await loginExtra(ssh)}` : '';
    const checks: PreflightCheck[] = [
      {
        name: 'SSH host key',
        ok: true,
        detail: `${ssh.options.hostKey.sha256} (${ssh.options.hostKey.keyType}) matches the pin`,
      },
      {
        name: 'SSH login',
        ok: true,
        detail: `logged in as ${login.username} with a ${ssh.options.method === 'key' ? 'key' : 'password'}${extra}`,
      },
    ];
    return { checks, ssh };
  }

  async function close(): Promise<void> {
    const current = session;
    session = undefined;
    opened = undefined;
    if (current) await current.close();
  }

  return { open, unpinned, identityChecks, close };
}
