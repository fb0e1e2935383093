/**
 * Nginx deployer: certificate and key files over SSH/SFTP, `nginx -t`, `nginx -s reload`
 * (docs/vendors/ssh-targets.md; the steps are in ../ssh/server-deployer.ts).
 */
import { parseSshCredentials, parseVerifyBinding } from '../ssh/options';
import { fullChain, keyFile, createSshServerDeployer, type SshServerSpec } from '../ssh/server-deployer';
import type { DeployerFactory } from '../types';
import { parseNginxOptions, type NginxOptions } from './descriptor';

/** The binary of the configured test command (`/usr/sbin/nginx -c … -t` → `/usr/sbin/nginx`), if it is nginx. */
const binaryOf = (command: string): string | undefined => {
  const first = command.trim().split(/\s+/)[0] ?? '';
  return /(^|\/)nginx$/.test(first) ? first : undefined;
};

export const nginxSpec: SshServerSpec<NginxOptions> = {
  component: 'nginx',
  parseCredentials: parseSshCredentials,
  parseOptions: parseNginxOptions,
  parseBinding: parseVerifyBinding,
  files({ certPath, keyPath }) {
    return [
      { kind: 'cert', path: certPath, mode: 0o644, contents: fullChain },
      { kind: 'key', path: keyPath, mode: 0o600, contents: keyFile },
    ];
  },
  versionCommands(options) {
    const binary = binaryOf(options.testCommand);
    return [...(binary ? [`${binary} -v`] : []), 'nginx -v', '/usr/sbin/nginx -v'];
  },
  versionPattern: /nginx\/[0-9][^\s]*/,
};

export const createNginxDeployer: DeployerFactory = (ctx) => createSshServerDeployer(nginxSpec, ctx);
