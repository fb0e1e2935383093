/**
 * PAN-OS (firewall or Panorama) target: web-safe fields and validation, no device code.
 * Facts: docs/vendors/panos.md.
 */
import type { VendorDescriptor, VerifyEndpoint } from '../types';
import { untypedParsers, vendorParsers, type Parsed } from '../config-check';
import { adminUsernameField, checkbox, text } from '../form-values';

export interface PanosCredentials {
  /** The API admin: keygen logs in as it and partial commits are scoped to it (docs/vendors/panos.md). */
  username: string;
  password?: string;
  /** A pre-generated API key; when set, no keygen is done. */
  apiKey?: string;
}

/**
 * Where the certificate goes (docs/vendors/panos.md "Panorama"):
 * - `firewall`: a firewall, also one managed by Panorama and reached directly;
 * - `panorama`: Panorama's own certificate (`/config/panorama/...`);
 * - `template` / `template-stack`: a Panorama template, committed on Panorama and pushed to the
 *   template's (or the stack's) firewalls.
 */
export type PanosKind = 'firewall' | 'panorama' | 'template' | 'template-stack';
export const PANOS_KINDS: readonly PanosKind[] = ['firewall', 'panorama', 'template', 'template-stack'];

export interface PanosOptions {
  kind: PanosKind;
  /** The template holding the certificate and profiles (kinds template and template-stack). */
  template?: string;
  /** The template stack pushed to the firewalls (kind template-stack). */
  templateStack?: string;
  /** The vsys holding the SSL/TLS service profiles; undefined = shared (not for Panorama's own certificate). */
  vsys?: string;
}

export interface PanosBinding {
  /** SSL/TLS service profiles whose certificate is replaced. */
  profiles: string[];
  /** TLS ports of the services using those profiles (GlobalProtect portal, …) for the verify step. */
  verifyPorts: number[];
  /** The management web interface uses the first profile (deviceconfig/system/ssl-tls-service-profile). */
  adminGui: boolean;
}

/** A list field: an array, or text split on commas and new lines. */
const list = (input: Record<string, unknown>, key: string): string[] => {
  const raw = input[key];
  const items = Array.isArray(raw)
    ? raw.map((v) => String(v))
    : typeof raw === 'string' || typeof raw === 'number'
      ? String(raw).split(/[,\n]/)
      : [];
  return [...new Set(items.map((s) => s.trim()).filter(Boolean))];
};

/** Object names end up inside xpaths (`entry[@name='…']`): no quotes or markup. */
export const PANOS_OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
const ADMIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/;
const VSYS = /^vsys[1-9][0-9]{0,2}$/;

export function parsePanosCredentials(input: Record<string, unknown>): Parsed<PanosCredentials> {
  const errors: Record<string, string> = {};
  const username = text(input, 'username');
  const password = typeof input['password'] === 'string' ? input['password'] : '';
  const apiKey = text(input, 'apiKey');
  if (!username) errors['username'] = "Enter the API admin user name (commits are limited to this admin's changes).";
  else if (!ADMIN_NAME.test(username))
    errors['username'] = 'An admin name has letters, digits, dot, dash, underscore or @ (at most 63 characters).';
  if (!password && !apiKey) errors['password'] = 'Enter the admin password, or an API key instead.';
  if (Object.keys(errors).length > 0) return { errors };
  return { value: { username, ...(password ? { password } : {}), ...(apiKey ? { apiKey } : {}) }, errors };
}

/** The kind, from the `kind` field or (stored before it existed) the `panorama` checkbox. */
function kindOf(input: Record<string, unknown>): PanosKind | undefined {
  const raw = text(input, 'kind')
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  if (raw === '') return checkbox(input['panorama']) === true ? 'panorama' : 'firewall';
  return PANOS_KINDS.find((k) => k === raw);
}

export function parsePanosOptions(input: Record<string, unknown>): Parsed<PanosOptions> {
  const errors: Record<string, string> = {};
  const kind = kindOf(input);
  const vsys = text(input, 'vsys').toLowerCase();
  const template = text(input, 'template');
  const templateStack = text(input, 'templateStack');
  if (!kind) errors['kind'] = `Choose one of ${PANOS_KINDS.join(', ')}.`;
  if (vsys && !VSYS.test(vsys))
    errors['vsys'] = 'A virtual system is named like vsys1; leave empty for shared profiles.';
  else if (vsys && kind === 'panorama')
    errors['vsys'] = "Panorama's own certificates have no virtual system; leave it empty.";
  const templated = kind === 'template' || kind === 'template-stack';
  if (templated && !template)
    errors['template'] = 'Name the Panorama template that holds the certificate and the SSL/TLS service profiles.';
  else if (template && !PANOS_OBJECT_NAME.test(template))
    errors['template'] = 'A template name has letters, digits, space, dot, dash or underscore (at most 63 characters).';
  else if (template && !templated)
    errors['template'] = 'A template is only used with the kinds template and template-stack.';
  if (kind === 'template-stack' && !templateStack)
    errors['templateStack'] = 'Name the template stack to push to the firewalls.';
  else if (templateStack && !PANOS_OBJECT_NAME.test(templateStack))
    errors['templateStack'] =
      'A template stack name has letters, digits, space, dot, dash or underscore (at most 63 characters).';
  else if (templateStack && kind !== 'template-stack')
    errors['templateStack'] = 'A template stack is only used with the kind template-stack.';
  if (Object.keys(errors).length > 0 || !kind) return { errors };
  return {
    value: {
      kind,
      ...(template ? { template } : {}),
      ...(templateStack ? { templateStack } : {}),
      ...(vsys ? { vsys } : {}),
    },
    errors,
  };
}

export function parsePanosBinding(input: Record<string, unknown>): Parsed<PanosBinding> {
  const errors: Record<string, string> = {};
  const profiles = list(input, 'profiles');
  if (profiles.length === 0)
    errors['profiles'] =
      'Name at least one SSL/TLS service profile (Device > Certificate Management > SSL/TLS Service Profile).';
  else {
    const bad = profiles.filter((p) => !PANOS_OBJECT_NAME.test(p));
    if (bad.length)
      errors['profiles'] =
        `Not a valid profile name: ${bad.join(', ')} (letters, digits, space, dot, dash, underscore; at most 63 characters).`;
  }
  const portTexts = list(input, 'verifyPorts');
  const verifyPorts = portTexts.map((p) => Number(p));
  if (verifyPorts.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
    errors['verifyPorts'] = 'Ports are whole numbers from 1 to 65535, e.g. 443, 4443.';
  const adminGui = checkbox(input['adminGui']);
  if (adminGui === undefined) errors['adminGui'] = 'Admin GUI is on or off.';
  if (Object.keys(errors).length > 0 || adminGui === undefined) return { errors };
  return { value: { profiles, verifyPorts, adminGui }, errors };
}

/** The typed parsers, for checkDeployerConfig. */
export const panosParsers = vendorParsers(parsePanosCredentials, parsePanosOptions, parsePanosBinding);

export const panosDescriptor: VendorDescriptor = {
  id: 'panos',
  label: 'Palo Alto Networks PAN-OS / Panorama',
  defaultPort: 443,
  credentialFields: [
    adminUsernameField(
      'API admin',
      "A dedicated admin whose role allows XML API config, import, commit and operational requests. Commits only push this admin's changes.",
    ),
    {
      name: 'password',
      label: 'Password',
      kind: 'secret',
      required: false,
      help: "Used to generate an API key (keygen). Generating a key ends this admin's other API sessions.",
    },
    {
      name: 'apiKey',
      label: 'API key',
      kind: 'secret',
      required: false,
      help: 'Instead of the password: a key generated for the admin above.',
    },
  ],
  optionFields: [
    {
      name: 'kind',
      label: 'Where',
      kind: 'text',
      required: false,
      placeholder: 'firewall',
      help: "firewall (also one managed by Panorama, reached directly), panorama (Panorama's own certificate), template or template-stack (a Panorama template, committed and pushed to its firewalls). Test connection tells which fits the device.",
    },
    {
      name: 'panorama',
      label: 'Panorama (own certificate)',
      kind: 'checkbox',
      required: false,
      help: 'Targets saved before "Where" existed: ticked means Where = panorama. A Where given above wins.',
    },
    {
      name: 'template',
      label: 'Template',
      kind: 'text',
      required: false,
      help: 'Kinds template and template-stack: the template that holds the certificate and the SSL/TLS service profiles.',
    },
    {
      name: 'templateStack',
      label: 'Template stack',
      kind: 'text',
      required: false,
      help: 'Kind template-stack: the stack pushed to the firewalls after the commit on Panorama.',
    },
    {
      name: 'vsys',
      label: 'Virtual system',
      kind: 'text',
      required: false,
      placeholder: 'vsys1',
      help: 'Where the SSL/TLS service profiles are; leave empty for shared.',
    },
  ],
  bindingFields: [
    {
      name: 'profiles',
      label: 'SSL/TLS service profiles',
      kind: 'list',
      required: true,
      placeholder: 'gp-portal',
      help: 'Every profile listed gets the new certificate.',
    },
    {
      name: 'verifyPorts',
      label: 'Ports to verify',
      kind: 'list',
      required: false,
      placeholder: '443',
      help: 'TLS ports on this host where the services using the profiles answer.',
    },
    {
      name: 'adminGui',
      label: 'Admin GUI (management interface)',
      kind: 'checkbox',
      required: false,
      help: 'The management web interface uses the first profile above (firewall and Panorama kinds). The management API then presents the new certificate: pin the trust by fingerprint or use a CA the new certificate chains to.',
    },
  ],
  ...untypedParsers(panosParsers),
  defaultVerifyEndpoints(target, binding): VerifyEndpoint[] {
    const ports = list(binding, 'verifyPorts')
      .map(Number)
      .filter((p) => Number.isInteger(p) && p >= 1 && p <= 65535);
    if (checkbox(binding['adminGui']) === true && !ports.includes(target.port)) ports.push(target.port);
    return ports.map((port) => ({ host: target.host, port }));
  },
  bindsManagementGui: (binding) => checkbox(binding['adminGui']) === true,
};
