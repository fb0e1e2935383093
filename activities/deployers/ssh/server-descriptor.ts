/**
 * The descriptor every SSH-managed web server shares (nginx, apache): SSH credentials, the common
 * server options after the vendor's file paths, and TLS-port bindings. Web-safe: no ssh2, no device
 * code. Facts: docs/vendors/ssh-targets.md.
 */
import { untypedParsers, type ParsedWithDefaults } from '../config-check';
import type { VendorDescriptor, VendorField } from '../types';
import {
  parseSshCredentials,
  parseVerifyBinding,
  SSH_MANAGED,
  sshBindingFields,
  sshCredentialFields,
  sshOptionFields,
  verifyEndpointsOf,
} from './options';

export interface SshServerDescriptorSpec<O extends object> {
  id: string;
  label: string;
  /** The server's own file-path fields, shown before the common SSH options. */
  pathFields: VendorField[];
  defaultCommands: { testCommand: string; reloadCommand: string };
  parseOptions: (input: Record<string, unknown>) => ParsedWithDefaults<O>;
}

/** The key file field: its server directive named in the help, written with mode 0600. */
export const keyFileField = (directive: string, placeholder: string): VendorField => ({
  name: 'keyPath',
  label: 'Key file',
  kind: 'text',
  required: true,
  placeholder,
  help: `The ${directive} path; written with mode 0600.`,
});

export function sshServerDescriptor<O extends object>(spec: SshServerDescriptorSpec<O>): VendorDescriptor {
  return {
    id: spec.id,
    label: spec.label,
    ...SSH_MANAGED,
    credentialFields: sshCredentialFields,
    optionFields: [...spec.pathFields, ...sshOptionFields(spec.defaultCommands)],
    bindingFields: sshBindingFields,
    ...untypedParsers({
      parseCredentials: parseSshCredentials,
      parseOptions: spec.parseOptions,
      parseBinding: parseVerifyBinding,
    }),
    defaultVerifyEndpoints: (target, binding) => verifyEndpointsOf(target.host, binding),
  };
}
