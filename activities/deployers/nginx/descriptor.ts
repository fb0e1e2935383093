/**
 * Nginx over SSH: target form and validation (web-safe: no device code). Facts:
 * docs/vendors/ssh-targets.md (certbot-nginx: `nginx -t`, `nginx -s reload`).
 */
import type { ParsedWithDefaults } from '../config-check';
import type { VendorDescriptor } from '../types';
import { parsePathOptions, parseSshServerOptions, type SshServerOptions } from '../ssh/options';
import { keyFileField, sshServerDescriptor } from '../ssh/server-descriptor';

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

export const nginxDescriptor: VendorDescriptor = sshServerDescriptor({
  id: 'nginx',
  label: 'Nginx (SSH)',
  pathFields: [
    {
      name: 'certPath',
      label: 'Certificate file (full chain)',
      kind: 'text',
      required: true,
      placeholder: '/etc/nginx/ssl/example.com.crt',
      help: 'The ssl_certificate path: CertFleet writes the certificate followed by its intermediates.',
    },
    keyFileField('ssl_certificate_key', '/etc/nginx/ssl/example.com.key'),
  ],
  defaultCommands: NGINX_DEFAULT_COMMANDS,
  parseOptions: parseNginxOptions,
});
