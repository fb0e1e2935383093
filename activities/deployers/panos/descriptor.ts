/**
 * PAN-OS (firewall or Panorama) target: web-safe fields and validation, no device code.
 * Facts: docs/vendors/panos.md.
 */
import type { ParseResult, VendorDescriptor, VerifyEndpoint } from '../types';
import { text } from '../form-values';

export interface PanosCredentials {
  /** The API admin: keygen logs in as it and partial commits are scoped to it (docs/vendors/panos.md). */
  username: string;
  password?: string;
  /** A pre-generated API key; when set, no keygen is done. */
  apiKey?: string;
}

export interface PanosOptions {
  /** Panorama limits certificate names to 31 characters (firewalls: 63). */
  panorama: boolean;
  /** The vsys holding the SSL/TLS service profiles; undefined = shared. */
  vsys?: string;
}

export interface PanosBinding {
  /** SSL/TLS service profiles whose certificate is replaced. */
  profiles: string[];
  /** TLS ports of the services using those profiles (GlobalProtect portal, admin GUI, …) for the verify step. */
  verifyPorts: number[];
}


/** A list field: an array, or text split on commas and new lines. */
const list = (input: Record<string, unknown>, key: string): string[] => {
  const raw = input[key];
  const items = Array.isArray(raw) ? raw.map((v) => String(v)) : typeof raw === 'string' || typeof raw === 'number' ? String(raw).split(/[,\n]/) : [];
  return [...new Set(items.map((s) => s.trim()).filter(Boolean))];
};

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && ['on', 'true', 'yes', '1'].includes(v.trim().toLowerCase()));

/** Object names end up inside xpaths (`entry[@name='…']`): no quotes or markup. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
const ADMIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/;
const VSYS = /^vsys[1-9][0-9]{0,2}$/;

export function parsePanosCredentials(input: Record<string, unknown>): { value?: PanosCredentials; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const username = text(input, 'username');
  const password = typeof input['password'] === 'string' ? input['password'] : '';
  const apiKey = text(input, 'apiKey');
  if (!username) errors['username'] = 'Enter the API admin user name (commits are limited to this admin\'s changes).';
  else if (!ADMIN_NAME.test(username)) errors['username'] = 'An admin name has letters, digits, dot, dash, underscore or @ (at most 63 characters).';
  if (!password && !apiKey) errors['password'] = 'Enter the admin password, or an API key instead.';
  if (Object.keys(errors).length > 0) return { errors };
  return { value: { username, ...(password ? { password } : {}), ...(apiKey ? { apiKey } : {}) }, errors };
}

export function parsePanosOptions(input: Record<string, unknown>): { value?: PanosOptions; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const vsys = text(input, 'vsys').toLowerCase();
  if (vsys && !VSYS.test(vsys)) errors['vsys'] = 'A virtual system is named like vsys1; leave empty for shared profiles.';
  if (Object.keys(errors).length > 0) return { errors };
  return { value: { panorama: truthy(input['panorama']), ...(vsys ? { vsys } : {}) }, errors };
}

export function parsePanosBinding(input: Record<string, unknown>): { value?: PanosBinding; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const profiles = list(input, 'profiles');
  if (profiles.length === 0) errors['profiles'] = 'Name at least one SSL/TLS service profile (Device > Certificate Management > SSL/TLS Service Profile).';
  else {
    const bad = profiles.filter((p) => !PROFILE_NAME.test(p));
    if (bad.length) errors['profiles'] = `Not a valid profile name: ${bad.join(', ')} (letters, digits, space, dot, dash, underscore; at most 63 characters).`;
  }
  const portTexts = list(input, 'verifyPorts');
  const verifyPorts = portTexts.map((p) => Number(p));
  if (verifyPorts.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) errors['verifyPorts'] = 'Ports are whole numbers from 1 to 65535, e.g. 443, 4443.';
  if (Object.keys(errors).length > 0) return { errors };
  return { value: { profiles, verifyPorts }, errors };
}

const asResult = (parsed: { value?: object; errors: Record<string, string> }): ParseResult => ({ value: { ...(parsed.value ?? {}) }, errors: parsed.errors });

export const panosDescriptor: VendorDescriptor = {
  id: 'panos',
  label: 'Palo Alto Networks PAN-OS / Panorama',
  defaultPort: 443,
  credentialFields: [
    { name: 'username', label: 'API admin', kind: 'text', required: true, help: 'A dedicated admin whose role allows XML API config, import, commit and operational requests. Commits only push this admin\'s changes.' },
    { name: 'password', label: 'Password', kind: 'secret', required: false, help: 'Used to generate an API key (keygen). Generating a key ends this admin\'s other API sessions.' },
    { name: 'apiKey', label: 'API key', kind: 'secret', required: false, help: 'Instead of the password: a key generated for the admin above.' },
  ],
  optionFields: [
    { name: 'panorama', label: 'Panorama', kind: 'checkbox', required: false, help: 'Panorama limits certificate names to 31 characters.' },
    { name: 'vsys', label: 'Virtual system', kind: 'text', required: false, placeholder: 'vsys1', help: 'Where the SSL/TLS service profiles are; leave empty for shared.' },
  ],
  bindingFields: [
    { name: 'profiles', label: 'SSL/TLS service profiles', kind: 'list', required: true, placeholder: 'gp-portal', help: 'Every profile listed gets the new certificate.' },
    { name: 'verifyPorts', label: 'Ports to verify', kind: 'list', required: false, placeholder: '443', help: 'TLS ports on this host where the services using the profiles answer.' },
  ],
  parseCredentials: (input) => asResult(parsePanosCredentials(input)),
  parseOptions: (input) => asResult(parsePanosOptions(input)),
  parseBinding: (input) => asResult(parsePanosBinding(input)),
  defaultVerifyEndpoints(target, binding): VerifyEndpoint[] {
    const ports = list(binding, 'verifyPorts').map(Number).filter((p) => Number.isInteger(p) && p >= 1 && p <= 65535);
    return ports.map((port) => ({ host: target.host, port }));
  },
};
