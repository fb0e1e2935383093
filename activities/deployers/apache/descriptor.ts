/**
 * Apache httpd over SSH: target form and validation (web-safe: no device code). Facts:
 * docs/vendors/ssh-targets.md (certbot-apache: `apachectl configtest`, `apachectl graceful`).
 */
import { asParseResult, type ParsedWithDefaults } from '../config-check';
import type { VendorDescriptor } from '../types';
import {
  parsePathOptions,
  parseSshCredentials,
  parseSshServerOptions,
  parseVerifyBinding,
  sshBindingFields,
  sshCredentialFields,
  sshOptionFields,
  verifyEndpointsOf,
  type SshServerOptions,
} from '../ssh/options';

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

export const apacheDescriptor: VendorDescriptor = {
  id: 'apache',
  label: 'Apache httpd (SSH)',
  defaultPort: 22,
  // Reached over SSH with a pinned host key (an option), not over management HTTPS.
  managementTls: false,
  credentialFields: sshCredentialFields,
  optionFields: [
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
    {
      name: 'keyPath',
      label: 'Key file',
      kind: 'text',
      required: true,
      placeholder: '/etc/ssl/private/example.com.key',
      help: 'The SSLCertificateKeyFile path; written with mode 0600.',
    },
    ...sshOptionFields(APACHE_DEFAULT_COMMANDS),
  ],
  bindingFields: sshBindingFields,
  parseCredentials: (input) => asParseResult(parseSshCredentials(input)),
  parseOptions: (input) => asParseResult(parseApacheOptions(input)),
  parseBinding: (input) => asParseResult(parseVerifyBinding(input)),
  defaultVerifyEndpoints: (target, binding) => verifyEndpointsOf(target.host, binding),
};
