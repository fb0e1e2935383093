/**
 * Form fields and validation shared by the SSH-managed web servers (nginx, apache). Web-safe: no
 * ssh2, no device code. Facts: docs/vendors/ssh-targets.md.
 *
 * Credentials (sealed): username, privateKey (+ passphrase) and/or password.
 * Options (not secret): the host-key pin `hostKeySha256`, file paths, the config-test and reload
 * commands, `useSudo`, and how long to wait for the reload to show. `target.trust` is not used for
 * SSH targets: the host key is the management identity and is pinned here.
 * Binding: the TLS ports to check after a deploy (`verifyPorts`) and the SNI name to send.
 */
import type { Parsed, ParsedWithDefaults } from '../config-check';
import type { VendorDescriptor, VendorField, VerifyEndpoint } from '../types';
import { normalizeHostKeyPin } from './pin';
import { checkbox, text } from '../form-values';

export { checkbox, text };

export interface SshCredentials {
  username: string;
  /** PEM or OpenSSH private key. */
  privateKey?: string;
  passphrase?: string;
  password?: string;
}

export interface SshServerOptions {
  /** "SHA256:…" (normalised); undefined until the first pin. */
  hostKeySha256?: string;
  /** Run file operations and commands through `sudo -n`. */
  useSudo: boolean;
  testCommand: string;
  reloadCommand: string;
  /** After the reload, wait up to this long for the verify ports to serve the new certificate (0: do not wait). */
  reloadWaitSeconds: number;
}

export interface SshVerifyBinding {
  verifyPorts: number[];
  /** SNI to send in the check after a deploy (the site's name when the server hosts several). */
  serverName?: string;
}

export const DEFAULT_VERIFY_PORT = 443;
export const DEFAULT_RELOAD_WAIT_SECONDS = 15;
const MAX_RELOAD_WAIT_SECONDS = 300;

/** Login names: letters, digits and `_ . @ -` (AD-style names included), not starting with '-'. */
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;
const PRIVATE_KEY = /^-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----\n[\s\S]+\n-----END ([A-Z0-9]+ )*PRIVATE KEY-----\n?$/;
/** Limits of the sealed credentials: far above real keys and passwords, far below the request limit. */
const MAX_PRIVATE_KEY = 16 * 1024;
const MAX_SECRET = 1024;

/**
 * Characters allowed in a remote path. No shell metacharacters, spaces or quotes: paths end up in
 * commands (`mv -f -- tmp path`, sudo file operations), quoted, but they should not need quoting.
 */
const PATH_CHARS = /^[A-Za-z0-9._/+@=,-]+$/;
/** Suffixes CertFleet itself appends next to the live files. */
export const BACKUP_SUFFIX = '.certfleet-backup';

/** An absolute, normalised path of a file, or the reason it is not acceptable. */
export function checkRemotePath(raw: string): { path?: string; error?: string } {
  if (raw === '') return { error: 'Enter the absolute path of the file on the server.' };
  if (!raw.startsWith('/')) return { error: 'Use an absolute path (starting with "/").' };
  if (raw.length > 1024) return { error: 'The path is longer than 1024 characters.' };
  if (!PATH_CHARS.test(raw))
    return {
      error:
        'Use only letters, digits and . _ - + @ = , / in paths: no spaces, quotes or shell characters ($ ` ; & | * ? < > etc.).',
    };
  const segments = raw.split('/').slice(1);
  if (raw.endsWith('/') || segments.some((s) => s === ''))
    return { error: 'The path must name a file (no trailing "/" or "//").' };
  if (segments.some((s) => s === '.' || s === '..'))
    return { error: 'The path must not contain "." or ".." segments.' };
  if (segments.some((s) => s.startsWith('-'))) return { error: 'No part of the path may start with "-".' };
  if (segments.some((s) => s.length > 255)) return { error: 'A part of the path is longer than 255 characters.' };
  if (raw.includes(BACKUP_SUFFIX))
    return { error: `The path must not contain "${BACKUP_SUFFIX}" (CertFleet names its backups so).` };
  return { path: raw };
}

/** A configured shell command: one line of printable text, run as given (after `sudo -n` with useSudo). */
export function checkCommand(raw: string): { command?: string; error?: string } {
  if (raw === '') return { error: 'Enter the command.' };
  if (raw.length > 1024) return { error: 'The command is longer than 1024 characters.' };
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) return { error: 'The command must be a single line without control characters.' };
  return { command: raw };
}

export function parseSshCredentials(input: Record<string, unknown>): Parsed<SshCredentials> {
  const errors: Record<string, string> = {};
  const username = text(input, 'username');
  if (!username) errors['username'] = 'Enter the SSH login name (e.g. root, or a deploy user with sudo).';
  else if (!USERNAME.test(username))
    errors['username'] = 'A login name is 1 to 64 letters, digits, "_", ".", "@" or "-", not starting with "-".';
  const rawKey = typeof input['privateKey'] === 'string' ? input['privateKey'].replace(/\r\n?/g, '\n').trim() : '';
  const privateKey = rawKey ? `${rawKey}\n` : '';
  if (privateKey.length > MAX_PRIVATE_KEY)
    errors['privateKey'] =
      `The private key is longer than ${MAX_PRIVATE_KEY / 1024} KiB; paste one key (an RSA 4096 key is about 3.3 KiB).`;
  else if (privateKey && !PRIVATE_KEY.test(privateKey)) {
    errors['privateKey'] =
      'Paste the whole private key, from "-----BEGIN … PRIVATE KEY-----" to "-----END … PRIVATE KEY-----" (OpenSSH or PEM format).';
  }
  const passphrase = typeof input['passphrase'] === 'string' ? input['passphrase'] : '';
  const password = typeof input['password'] === 'string' ? input['password'] : '';
  if (!privateKey && !password) errors['privateKey'] = 'Enter a private key or a password (or both).';
  if (passphrase && !privateKey)
    errors['passphrase'] = 'A passphrase belongs to a private key: enter the key too, or clear the passphrase.';
  else if (passphrase.length > MAX_SECRET)
    errors['passphrase'] = `The passphrase is longer than ${MAX_SECRET} characters.`;
  if (password.length > MAX_SECRET) errors['password'] = `The password is longer than ${MAX_SECRET} characters.`;
  const value: SshCredentials = {
    username,
    ...(privateKey ? { privateKey } : {}),
    ...(privateKey && passphrase ? { passphrase } : {}),
    ...(password ? { password } : {}),
  };
  return Object.keys(errors).length > 0 ? { errors } : { value, errors };
}

/**
 * The optional host-key pin (`hostKeySha256`), normalised to "SHA256:…"; `keyFile`: where the server
 * keeps its ed25519 public key, for the message that tells how to read the fingerprint.
 */
export function parseHostKeyPinOption(
  input: Record<string, unknown>,
  keyFile: string,
): { hostKeySha256?: string; error?: string } {
  const pinText = text(input, 'hostKeySha256');
  if (!pinText) return {};
  const hostKeySha256 = normalizeHostKeyPin(pinText);
  if (hostKeySha256) return { hostKeySha256 };
  return {
    error: `Enter the host key's SHA-256 fingerprint as "SHA256:…" (ssh-keygen -lf ${keyFile}) or 64 hex digits; leave it empty and run Test connection to see it.`,
  };
}

/** The options every SSH-managed server has; vendor descriptors add their file paths. Fields in error hold their defaults. */
export function parseSshServerOptions(
  input: Record<string, unknown>,
  defaults: { testCommand: string; reloadCommand: string },
): ParsedWithDefaults<SshServerOptions> {
  const errors: Record<string, string> = {};
  const { hostKeySha256, error: pinError } = parseHostKeyPinOption(input, '/etc/ssh/ssh_host_ed25519_key.pub');
  if (pinError) errors['hostKeySha256'] = pinError;
  const useSudo = checkbox(input['useSudo']);
  if (useSudo === undefined) errors['useSudo'] = 'Use sudo must be ticked or not.';
  const test = checkCommand(text(input, 'testCommand') || defaults.testCommand);
  if (test.error) errors['testCommand'] = test.error;
  const reload = checkCommand(text(input, 'reloadCommand') || defaults.reloadCommand);
  if (reload.error) errors['reloadCommand'] = reload.error;
  const waitText = text(input, 'reloadWaitSeconds');
  const reloadWaitSeconds =
    waitText === '' ? DEFAULT_RELOAD_WAIT_SECONDS : /^\d{1,3}$/.test(waitText) ? Number(waitText) : NaN;
  if (!(reloadWaitSeconds >= 0 && reloadWaitSeconds <= MAX_RELOAD_WAIT_SECONDS))
    errors['reloadWaitSeconds'] = `Enter a whole number of seconds from 0 to ${MAX_RELOAD_WAIT_SECONDS}.`;
  const value: SshServerOptions = {
    ...(hostKeySha256 ? { hostKeySha256 } : {}),
    useSudo: useSudo === true,
    testCommand: test.command ?? defaults.testCommand,
    reloadCommand: reload.command ?? defaults.reloadCommand,
    reloadWaitSeconds: Number.isFinite(reloadWaitSeconds) ? reloadWaitSeconds : DEFAULT_RELOAD_WAIT_SECONDS,
  };
  return { value, errors };
}

/** Parses the named path options (required unless listed in `optional`); all must differ. The value holds the valid ones. */
export function parsePathOptions<K extends string>(
  input: Record<string, unknown>,
  names: readonly K[],
  optional: readonly K[] = [],
): { value: Partial<Record<K, string>>; errors: Partial<Record<K, string>> } {
  const errors: Partial<Record<K, string>> = {};
  const value: Partial<Record<K, string>> = {};
  for (const name of names) {
    const raw = text(input, name);
    if (raw === '' && optional.includes(name)) continue;
    const checked = checkRemotePath(raw);
    if (checked.error) errors[name] = checked.error;
    else if (checked.path) value[name] = checked.path;
  }
  const given = names.flatMap((name) => (value[name] !== undefined ? [[name, value[name]] as const] : []));
  const seen = new Map<string, K>();
  for (const [name, path] of given) {
    const other = seen.get(path);
    if (other) errors[name] = `The same path as ${other}: every file needs its own path.`;
    seen.set(path, name);
  }
  // A path that is another's staged copy or backup would be overwritten by it.
  for (const [name, path] of given) {
    const prefixOf = [...seen.keys()].find((p) => p !== path && path.startsWith(`${p}.`));
    if (prefixOf && !errors[name])
      errors[name] =
        `Choose another name: paths beginning with "${prefixOf}." are where CertFleet keeps version copies of ${seen.get(prefixOf) ?? 'that file'}.`;
  }
  return { value, errors };
}

function parsePorts(value: unknown): number[] | undefined {
  const items = Array.isArray(value)
    ? value
    : typeof value === 'number'
      ? [value]
      : typeof value === 'string'
        ? value.split(/[\s,;]+/).filter(Boolean)
        : value === undefined || value === null
          ? []
          : undefined;
  if (!items) return undefined;
  const ports: number[] = [];
  for (const item of items) {
    const raw = typeof item === 'number' ? String(item) : typeof item === 'string' ? item.trim() : '';
    if (!/^\d{1,5}$/.test(raw)) return undefined;
    const port = Number(raw);
    if (port < 1 || port > 65535) return undefined;
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

const HOSTNAME =
  /^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Fields in error hold their defaults (port 443, no SNI name). */
export function parseVerifyBinding(input: Record<string, unknown>): ParsedWithDefaults<SshVerifyBinding> {
  const errors: Record<string, string> = {};
  const ports = parsePorts(input['verifyPorts']);
  if (!ports)
    errors['verifyPorts'] = 'List the TLS ports to check after a deploy as numbers from 1 to 65535, e.g. "443, 8443".';
  if (ports && ports.length > 16) errors['verifyPorts'] = 'List at most 16 ports.';
  const serverName = text(input, 'serverName');
  if (serverName && (!HOSTNAME.test(serverName) || serverName.startsWith('*')))
    errors['serverName'] = 'Enter a host name such as www.example.com (sent as SNI), or leave it empty.';
  const value: SshVerifyBinding = {
    verifyPorts: ports && ports.length > 0 ? ports : [DEFAULT_VERIFY_PORT],
    ...(serverName ? { serverName: serverName.toLowerCase() } : {}),
  };
  return { value, errors };
}

/** Where a deploy is checked by TLS handshake: the target's host on every verify port, with the binding's SNI name. */
export const verifyEndpointsFor = (host: string, binding: SshVerifyBinding): VerifyEndpoint[] =>
  binding.verifyPorts.map((port) => ({
    host,
    port,
    ...(binding.serverName ? { servername: binding.serverName } : {}),
  }));

/** The endpoints of a stored binding; a field in error falls back to its default (port 443, no SNI). */
export function verifyEndpointsOf(host: string, binding: Record<string, unknown>): VerifyEndpoint[] {
  const { value, errors } = parseVerifyBinding(binding);
  const { serverName } = value;
  return verifyEndpointsFor(host, {
    verifyPorts: errors['verifyPorts'] ? [DEFAULT_VERIFY_PORT] : value.verifyPorts,
    ...(serverName && !errors['serverName'] ? { serverName } : {}),
  });
}

/** How every SSH-managed target is reached: SSH on port 22 with a pinned host key (an option), not management HTTPS. */
export const SSH_MANAGED: Pick<VendorDescriptor, 'defaultPort' | 'managementTls'> = {
  defaultPort: 22,
  managementTls: false,
};

export const sshCredentialFields: VendorField[] = [
  {
    name: 'username',
    label: 'SSH user',
    kind: 'text',
    required: true,
    placeholder: 'root',
    help: 'A user who may write the certificate files and run the test and reload commands (directly, or through sudo -n).',
  },
  {
    name: 'privateKey',
    label: 'Private key',
    kind: 'secret',
    required: false,
    help: "OpenSSH or PEM private key whose public key is in the user's authorized_keys. Preferred over a password.",
  },
  {
    name: 'passphrase',
    label: 'Key passphrase',
    kind: 'secret',
    required: false,
    help: 'Only if the private key is encrypted.',
  },
  {
    name: 'password',
    label: 'Password',
    kind: 'secret',
    required: false,
    help: 'Used when no key is given, or when the key is refused.',
  },
];

export function sshOptionFields(defaults: { testCommand: string; reloadCommand: string }): VendorField[] {
  return [
    {
      name: 'hostKeySha256',
      label: 'SSH host key (SHA-256)',
      kind: 'text',
      required: false,
      placeholder: 'SHA256:…',
      help: 'The server\'s host key fingerprint, as "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" prints it. Leave empty at first: Test connection shows the key the server presents, for you to compare and pin. Pinning or changing it asks for the credentials again.',
      endpoint: true,
    },
    {
      name: 'testCommand',
      label: 'Config test command',
      kind: 'text',
      required: false,
      placeholder: defaults.testCommand,
      help: 'Must exit 0 when the configuration (with the new files) is valid.',
    },
    {
      name: 'reloadCommand',
      label: 'Reload command',
      kind: 'text',
      required: false,
      placeholder: defaults.reloadCommand,
      help: 'Makes the server load the new certificate without dropping connections.',
    },
    {
      name: 'useSudo',
      label: 'Use sudo',
      kind: 'checkbox',
      required: false,
      help: 'Prefix file operations and commands with "sudo -n" (needs NOPASSWD for cat, stat, install, dd, mv, rm, chmod, test and the commands above).',
    },
    {
      name: 'reloadWaitSeconds',
      label: 'Wait after reload (s)',
      kind: 'number',
      required: false,
      placeholder: String(DEFAULT_RELOAD_WAIT_SECONDS),
      help: 'How long to wait for the verify ports to serve the new certificate after the reload. A server that stops answering within it is put back.',
    },
  ];
}

export const sshBindingFields: VendorField[] = [
  {
    name: 'verifyPorts',
    label: 'TLS ports to check',
    kind: 'list',
    required: false,
    placeholder: String(DEFAULT_VERIFY_PORT),
    help: 'After the reload, a TLS handshake on these ports of the host must show the new certificate.',
  },
  {
    name: 'serverName',
    label: 'Site name (SNI)',
    kind: 'text',
    required: false,
    placeholder: 'www.example.com',
    help: "Sent in the check when the server hosts several sites; empty: the target's host name.",
  },
];
