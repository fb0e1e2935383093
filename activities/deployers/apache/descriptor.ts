/**
 * Apache httpd over SSH: target form and validation (web-safe: no device code). Facts:
 * docs/vendors/ssh-targets.md (certbot-apache: `apachectl configtest`, `apachectl graceful`).
 */
import type { ParsedWithDefaults } from '../config-check';
import type { VendorDescriptor } from '../types';
import { parsePathOptions, parseSshServerOptions, type SshServerOptions } from '../ssh/options';
import { keyFileField, sshServerDescriptor } from '../ssh/server-descriptor';

export interface ApacheOptions extends SshServerOptions {
  /** `SSLCertificateFile`: the leaf, or leaf + intermediates when no chainPath is set (Apache ≥ 2.4.8). */
  certPath: string;
  /** `SSLCertificateChainFile` (older setups): the intermediates. Optional. */
  chainPath?: string;
  /** `SSLCertificateKeyFile`, written with mode 0600. */
  keyPath: string;
}

export const APACHE_DEFAULT_COMMANDS = {
  testCommand: 'apachectl configtest',
  reloadCommand: 'apachectl graceful',
} as const;

/** Fields in error hold their defaults (a required path in error: '', a chain path in error: none); the deployer only takes a value without errors. */
export function parseApacheOptions(input: Record<string, unknown>): ParsedWithDefaults<ApacheOptions> {
  const common = parseSshServerOptions(input, APACHE_DEFAULT_COMMANDS);
  const paths = parsePathOptions(input, ['certPath', 'chainPath', 'keyPath'], ['chainPath']);
  const { certPath = '', chainPath, keyPath = '' } = paths.value;
  return {
    value: { ...common.value, certPath, ...(chainPath ? { chainPath } : {}), keyPath },
    errors: { ...common.errors, ...paths.errors },
  };
}

export const apacheDescriptor: VendorDescriptor = sshServerDescriptor({
  id: 'apache',
  label: 'Apache httpd (SSH)',
  pathFields: [
    {
      name: 'certPath',
      label: 'Certificate file',
      kind: 'text',
      required: true,
      placeholder: '/etc/ssl/certs/example.com.crt',
      help: 'The SSLCertificateFile path. Without a chain file it gets the certificate followed by its intermediates.',
    },
    {
      name: 'chainPath',
      label: 'Chain file',
      kind: 'text',
      required: false,
      placeholder: '/etc/ssl/certs/example.com.chain.pem',
      help: 'Only for an SSLCertificateChainFile setup: the intermediates go here, the certificate file gets the certificate alone.',
    },
    keyFileField('SSLCertificateKeyFile', '/etc/ssl/private/example.com.key'),
  ],
  defaultCommands: APACHE_DEFAULT_COMMANDS,
  parseOptions: parseApacheOptions,
});
