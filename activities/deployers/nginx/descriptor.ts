/**
 * Nginx over SSH: target form and validation (web-safe: no device code). Facts:
 * docs/vendors/ssh-targets.md (certbot-nginx: `nginx -t`, `nginx -s reload`).
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

export interface NginxOptions extends SshServerOptions {
  /** `ssl_certificate`: the leaf followed by the intermediates (nginx wants the full chain in one file). */
  certPath: string;
  /** `ssl_certificate_key`, written with mode 0600. */
  keyPath: string;
}

export const NGINX_DEFAULT_COMMANDS = { testCommand: 'nginx -t', reloadCommand: 'nginx -s reload' } as const;

/** Fields in error hold their defaults (a path in error: ''); the deployer only takes a value without errors. */
export function parseNginxOptions(input: Record<string, unknown>): ParsedWithDefaults<NginxOptions> {
  const common = parseSshServerOptions(input, NGINX_DEFAULT_COMMANDS);
  const paths = parsePathOptions(input, ['certPath', 'keyPath']);
  const { certPath = '', keyPath = '' } = paths.value;
  return { value: { ...common.value, certPath, keyPath }, errors: { ...common.errors, ...paths.errors } };
}

export const nginxDescriptor: VendorDescriptor = {
  id: 'nginx',
  label: 'Nginx (SSH)',
  defaultPort: 22,
  // Reached over SSH with a pinned host key (an option), not over management HTTPS.
  managementTls: false,
  credentialFields: sshCredentialFields,
  optionFields: [
    {
      name: 'certPath',
      label: 'Certificate file (full chain)',
      kind: 'text',
      required: true,
      placeholder: '/etc/nginx/ssl/example.com.crt',
      help: 'The ssl_certificate path: CertFleet writes the certificate followed by its intermediates.',
    },
    {
      name: 'keyPath',
      label: 'Key file',
      kind: 'text',
      required: true,
      placeholder: '/etc/nginx/ssl/example.com.key',
      help: 'The ssl_certificate_key path; written with mode 0600.',
    },
    ...sshOptionFields(NGINX_DEFAULT_COMMANDS),
  ],
  bindingFields: sshBindingFields,
  parseCredentials: (input) => asParseResult(parseSshCredentials(input)),
  parseOptions: (input) => asParseResult(parseNginxOptions(input)),
  parseBinding: (input) => asParseResult(parseVerifyBinding(input)),
  defaultVerifyEndpoints: (target, binding) => verifyEndpointsOf(target.host, binding),
};
