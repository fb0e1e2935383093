/**
 * Apache httpd deployer: certificate, chain and key files over SSH/SFTP, `apachectl configtest`,
 * `apachectl graceful` (docs/vendors/ssh-targets.md; the steps are in ../ssh/server-deployer.ts).
 *
 * Apache's config test does not load the certificate and key: a bad pair only shows when the
 * graceful restart fails and the server stops. The deployer checks key and certificate before it
 * writes them, and activate notices a server that stops answering and puts the old files back.
 */
import { parseSshCredentials, parseVerifyBinding } from '../ssh/options';
import {
  chainOnly,
  createSshServerDeployer,
  fullChain,
  keyFile,
  leafOnly,
  type ServedFile,
  type SshServerSpec,
} from '../ssh/server-deployer';
import type { DeployerFactory } from '../types';
import { parseApacheOptions, type ApacheOptions } from './descriptor';

/** The binary of the configured test command (`apache2 -d … -t` → `apache2`), if it is Apache's. */
const binaryOf = (command: string): string | undefined => {
  const first = command.trim().split(/\s+/)[0] ?? '';
  return /(^|\/)(apache2|httpd|apachectl|apache2ctl)$/.test(first) ? first : undefined;
};

export const apacheSpec: SshServerSpec<ApacheOptions> = {
  component: 'apache',
  parseCredentials: parseSshCredentials,
  parseOptions: parseApacheOptions,
  parseBinding: parseVerifyBinding,
  files({ certPath, chainPath, keyPath }) {
    const files: ServedFile[] = [
      { kind: 'cert', path: certPath, mode: 0o644, contents: chainPath ? leafOnly : fullChain },
    ];
    if (chainPath) files.push({ kind: 'chain', path: chainPath, mode: 0o644, contents: chainOnly });
    files.push({ kind: 'key', path: keyPath, mode: 0o600, contents: keyFile });
    return files;
  },
  versionCommands(options) {
    const binary = binaryOf(options.testCommand);
    return [...(binary ? [`${binary} -v`] : []), 'apachectl -v', 'apache2ctl -v', 'httpd -v', '/usr/sbin/apache2 -v'];
  },
  versionPattern: /Apache\/[0-9][^\n]*/,
};

export const createApacheDeployer: DeployerFactory = (ctx) => createSshServerDeployer(apacheSpec, ctx);
