/**
 * F5 BIG-IP: form fields and validation (web-safe, no device code). See docs/vendors/f5-bigip.md.
 * The typed parsers (`bigipParsers`) are what the deployer reads its configuration with, once
 * (activities/deployers/config-check.ts); the descriptor wraps the same parsers for the console.
 */
import { untypedParsers, vendorParsers, type Parsed } from '../config-check';
import { adminUsernameField, PASSWORD_FIELD, text } from '../form-values';
import type { VendorDescriptor, VerifyEndpoint } from '../types';

export interface BigipCredentials {
  username: string;
  password: string;
}

export interface BigipOptions {
  /** Administrative partition the certificate objects are created in. */
  partition: string;
  /** Device group to `config-sync to-group` after a change (HA pairs). */
  syncGroup?: string;
}

export interface BigipBinding {
  /** client-ssl profiles to bind: names in the target's partition, or full paths (/Partition/name). */
  profiles: string[];
  /** Ports on the target's host where the profiles' virtual servers answer TLS. */
  verifyPorts: number[];
}

/** BIG-IP object names: letters, digits, '.', '_' and '-', not starting with '.' or '-'. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;
const FULL_PATH = /^\/([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})\/([A-Za-z0-9_][A-Za-z0-9_.-]{0,254})$/;

/** A list field arrives as an array (JSON) or as text separated by commas, spaces or new lines (forms). */
function list(input: Record<string, unknown>, key: string): string[] {
  const value = input[key];
  const items = Array.isArray(value)
    ? value
    : typeof value === 'string' || typeof value === 'number'
      ? String(value).split(/[\s,;]+/)
      : [];
  return items
    .map((item) => (typeof item === 'string' || typeof item === 'number' ? String(item).trim() : '?'))
    .filter((item) => item !== '');
}

const unique = <T>(items: T[]): T[] => [...new Set(items)];
const done = <T>(value: T, errors: Record<string, string>): Parsed<T> =>
  Object.keys(errors).length > 0 ? { errors } : { value, errors };

export function parseBigipCredentials(input: Record<string, unknown>): Parsed<BigipCredentials> {
  const errors: Record<string, string> = {};
  const username = text(input, 'username');
  const password = typeof input['password'] === 'string' ? input['password'] : '';
  if (!username)
    errors['username'] =
      'Enter the BIG-IP user name (a local user with the Administrator role: docs/vendors/f5-bigip.md).';
  else if (/\s/.test(username) || username.length > 255)
    errors['username'] = 'A BIG-IP user name has no spaces and at most 255 characters.';
  if (!password) errors['password'] = 'Enter the password of the BIG-IP user.';
  return done({ username, password }, errors);
}

export function parseBigipOptions(input: Record<string, unknown>): Parsed<BigipOptions> {
  const errors: Record<string, string> = {};
  const partition = text(input, 'partition').replace(/^\/+|\/+$/g, '') || 'Common';
  if (!NAME.test(partition) || partition.length > 64)
    errors['partition'] = 'A partition name has letters, digits, ".", "_" or "-" (default: Common).';
  const syncGroup = text(input, 'syncGroup');
  if (syncGroup && !NAME.test(syncGroup))
    errors['syncGroup'] = 'A device group name has letters, digits, ".", "_" or "-"; leave empty without an HA pair.';
  return done({ partition, ...(syncGroup ? { syncGroup } : {}) }, errors);
}

export function parseBigipBinding(input: Record<string, unknown>): Parsed<BigipBinding> {
  const errors: Record<string, string> = {};
  const profiles = unique(list(input, 'profiles'));
  const badProfile = profiles.find((p) => !(p.startsWith('/') ? FULL_PATH.test(p) : NAME.test(p)));
  if (profiles.length === 0) errors['profiles'] = 'Name at least one client-ssl profile, e.g. clientssl-web.';
  else if (badProfile !== undefined)
    errors['profiles'] =
      `"${badProfile}" is not a client-ssl profile name (letters, digits, ".", "_", "-"; or a full path /Partition/name).`;
  const rawPorts = list(input, 'verifyPorts');
  const ports = rawPorts.map((p) => (/^\d{1,5}$/.test(p) ? Number(p) : NaN));
  const badPort = rawPorts.find(
    (_, i) => !(Number.isInteger(ports[i]) && (ports[i] ?? 0) >= 1 && (ports[i] ?? 0) <= 65535),
  );
  if (badPort !== undefined) errors['verifyPorts'] = `"${badPort}" is not a TCP port (1-65535).`;
  return done({ profiles, verifyPorts: unique(ports) }, errors);
}

/** The typed parsers the deployer reads its configuration with (checkDeployerConfig). */
export const bigipParsers = vendorParsers(parseBigipCredentials, parseBigipOptions, parseBigipBinding);

export const bigipDescriptor: VendorDescriptor = {
  id: 'f5-bigip',
  label: 'F5 BIG-IP',
  defaultPort: 443,
  credentialFields: [
    adminUsernameField(
      'User name',
      'A local BIG-IP user with the Administrator role: config-sync and saving the configuration need it (Test connection checks the role).',
    ),
    PASSWORD_FIELD,
  ],
  optionFields: [
    {
      name: 'partition',
      label: 'Partition',
      kind: 'text',
      required: false,
      placeholder: 'Common',
      help: 'Where certificate and key objects are created.',
    },
    {
      name: 'syncGroup',
      label: 'Device group to sync',
      kind: 'text',
      required: false,
      help: 'HA pairs: runs config-sync to this device group after each change and waits until it reports "In Sync". Leave empty for a standalone device.',
    },
  ],
  bindingFields: [
    {
      name: 'profiles',
      label: 'Client SSL profiles',
      kind: 'list',
      required: true,
      placeholder: 'clientssl-web',
      help: 'Profiles whose certificate is replaced, all in one transaction. Names in the partition, or /Partition/name.',
    },
    {
      name: 'verifyPorts',
      label: 'Ports to verify',
      kind: 'list',
      required: false,
      placeholder: '443',
      help: "Ports on the target's address where the virtual servers answer TLS. Virtual servers on other addresses: name them as verify endpoints of the deployment.",
    },
  ],
  ...untypedParsers(bigipParsers),
  defaultVerifyEndpoints(target, binding): VerifyEndpoint[] {
    return (parseBigipBinding(binding).value?.verifyPorts ?? []).map((port) => ({ host: target.host, port }));
  },
};
