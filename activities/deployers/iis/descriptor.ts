/**
 * Microsoft IIS through Windows OpenSSH + PowerShell: target form and validation (web-safe: no ssh2,
 * no device code). Facts: docs/vendors/iis.md.
 *
 * Credentials: the shared SSH ones (user + private key and/or password); the user may also be
 * written DOMAIN\user. Options: the host-key pin, the certificate store (My or WebHosting), legacy
 * (3DES) PFX for Windows before Server 2016 1709, and the directory the PFX is uploaded to.
 * Binding: the site bindings to switch, one per line as `Site name|IP:port:host` (IIS binding
 * information: `*` or an address, the port, the host header or nothing), and "Require SNI".
 * The TLS check after a deploy connects to every listed binding (the host header sent as SNI).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { untypedParsers, vendorParsers, type Parsed, type ParsedWithDefaults } from '../config-check';
import {
  checkbox,
  parseHostKeyPinOption,
  parseSshCredentials,
  SSH_MANAGED,
  sshCredentialFields,
  text,
  type SshCredentials,
} from '../ssh/options';
import type { VendorDescriptor, VendorField, VerifyEndpoint } from '../types';

export const IIS_STORES = ['My', 'WebHosting'] as const;
export type IisStore = (typeof IIS_STORES)[number];
export const DEFAULT_IIS_STORE: IisStore = 'My';
export const DEFAULT_UPLOAD_DIRECTORY = 'C:\\ProgramData\\CertFleet\\upload';
export const MAX_SITE_BINDINGS = 32;

export interface IisOptions {
  /** "SHA256:…" (normalised); undefined until the first pin. */
  hostKeySha256?: string;
  store: IisStore;
  /** Build the PFX with PKCS#12 3DES/SHA-1 instead of AES-256 (Windows before Server 2016 1709). */
  legacyPfx: boolean;
  /** Windows path, backslashes, no trailing backslash. */
  uploadDirectory: string;
}

/** One binding to switch: a site and the binding information of one of its https bindings. */
export interface SiteBinding {
  site: string;
  /** "IP:port:host" exactly as IIS stores it ("*:443:www.example.com", "10.0.0.5:443:", "[::1]:8443:"). */
  bindingInformation: string;
  /** '*' or an IPv4 address or a bracketed IPv6 address. */
  ip: string;
  port: number;
  /** Host header, lowercase; '' when the binding answers every name. */
  host: string;
}

export interface IisBinding {
  /** Normalised `Site name|IP:port:host` entries (what the form shows and the database stores). */
  sites: string[];
  /** Turn "Require Server Name Indication" on for every listed binding (sslFlags bit 1). Unticked: leave each binding's setting as it is. */
  sni: boolean;
}

/** Characters IIS Manager refuses in site names, and control characters. */
// eslint-disable-next-line no-control-regex
const SITE_NAME_FORBIDDEN = /[\\/?;:@&=+$,|"<>\x00-\x1f\x7f]/;
const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const BINDING_INFO = /^(\*|[0-9.]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5}):(.*)$/;
/** A username Windows OpenSSH accepts as DOMAIN\user (the shared parser knows user and user@domain). */
const DOWN_LEVEL_USER = /^([A-Za-z0-9][A-Za-z0-9._-]{0,14})\\(.+)$/;
const SEGMENT = /^[A-Za-z0-9 ._()-]+$/;

export function parseIisCredentials(input: Record<string, unknown>): Parsed<SshCredentials> {
  const username = text(input, 'username');
  const downLevel = DOWN_LEVEL_USER.exec(username);
  if (!downLevel?.[2]) return parseSshCredentials(input);
  const parsed = parseSshCredentials({ ...input, username: downLevel[2] });
  if (!parsed.value || Object.keys(parsed.errors).length > 0) return { errors: parsed.errors };
  return { value: { ...parsed.value, username }, errors: {} };
}

/** A Windows directory path, normalised (backslashes, drive letter uppercase, no trailing backslash), or the reason it is refused. */
export function checkWindowsDirectory(raw: string): { path?: string; error?: string } {
  if (raw === '') return { error: 'Enter the directory, e.g. C:\\ProgramData\\CertFleet\\upload.' };
  const path = raw.replace(/\//g, '\\').replace(/\\+$/, '');
  if (path.length > 200) return { error: 'The path is longer than 200 characters.' };
  const match = /^([A-Za-z]):((\\[^\\]+)+)$/.exec(path);
  if (!match?.[1] || !match[2])
    return { error: 'Use an absolute path on a drive below its root, e.g. C:\\ProgramData\\CertFleet\\upload.' };
  const segments = match[2].split('\\').slice(1);
  if (segments.some((s) => !SEGMENT.test(s)))
    return { error: 'Use only letters, digits, spaces and . _ - ( ) in the directory names.' };
  if (segments.some((s) => s === '.' || s === '..' || s.endsWith('.') || s.endsWith(' ') || s.startsWith(' '))) {
    return { error: 'Directory names must not be "." or "..", nor start with a space or end with a space or a dot.' };
  }
  return { path: `${match[1].toUpperCase()}:${match[2]}` };
}

/** Fields in error hold their defaults (the console compares the host-key pin while others are in error). */
export function parseIisOptions(input: Record<string, unknown>): ParsedWithDefaults<IisOptions> {
  const errors: Record<string, string> = {};
  const { hostKeySha256, error: pinError } = parseHostKeyPinOption(
    input,
    'C:\\ProgramData\\ssh\\ssh_host_ed25519_key.pub',
  );
  if (pinError) errors['hostKeySha256'] = pinError;
  const storeText = text(input, 'store');
  const store =
    storeText === '' ? DEFAULT_IIS_STORE : IIS_STORES.find((s) => s.toLowerCase() === storeText.toLowerCase());
  if (!store) errors['store'] = 'Choose My (Personal) or WebHosting (Web Hosting).';
  const legacyPfx = checkbox(input['legacyPfx']);
  if (legacyPfx === undefined) errors['legacyPfx'] = 'Legacy PFX must be ticked or not.';
  const dir = checkWindowsDirectory(text(input, 'uploadDirectory') || DEFAULT_UPLOAD_DIRECTORY);
  if (dir.error) errors['uploadDirectory'] = dir.error;
  const value: IisOptions = {
    ...(hostKeySha256 ? { hostKeySha256 } : {}),
    store: store ?? DEFAULT_IIS_STORE,
    legacyPfx: legacyPfx === true,
    uploadDirectory: dir.path ?? DEFAULT_UPLOAD_DIRECTORY,
  };
  return { value, errors };
}

/** One `Site name|IP:port:host` entry, or the reason it is refused. */
export function parseSiteBinding(raw: string): { binding?: SiteBinding; error?: string } {
  const bar = raw.indexOf('|');
  if (bar < 0)
    return {
      error: `"${raw}": write the site name, "|", then the binding information, e.g. "Default Web Site|*:443:www.example.com".`,
    };
  const site = raw.slice(0, bar).trim();
  const info = raw.slice(bar + 1).trim();
  if (site === '') return { error: `"${raw}": the site name is missing before "|".` };
  if (site.length > 128) return { error: `"${site.slice(0, 40)}…": a site name has at most 128 characters.` };
  if (SITE_NAME_FORBIDDEN.test(site))
    return { error: `"${site}": a site name cannot contain \\ / ? ; : @ & = + $ , | " < > (IIS refuses them).` };
  const match = BINDING_INFO.exec(info);
  if (!match?.[1] || !match[2] || match[3] === undefined) {
    return {
      error: `"${info}" (site ${site}): binding information is IP:port:host, e.g. "*:443:www.example.com", "*:443:" or "10.0.0.5:8443:".`,
    };
  }
  const ip = match[1];
  if (ip !== '*' && !(ip.startsWith('[') ? isIPv6(ip.slice(1, -1)) : isIPv4(ip)))
    return { error: `"${info}" (site ${site}): "${ip}" is not "*", an IPv4 address or a bracketed IPv6 address.` };
  const port = Number(match[2]);
  if (!(port >= 1 && port <= 65535)) return { error: `"${info}" (site ${site}): the port must be from 1 to 65535.` };
  const host = match[3].toLowerCase();
  if (host.startsWith('*'))
    return {
      error: `"${info}" (site ${site}): wildcard host headers are not supported; list the binding with its exact host name.`,
    };
  if (host !== '' && !HOST.test(host)) return { error: `"${info}" (site ${site}): "${match[3]}" is not a host name.` };
  const normalIp = ip.startsWith('[') ? ip.toLowerCase() : ip;
  return { binding: { site, bindingInformation: `${normalIp}:${port}:${host}`, ip: normalIp, port, host } };
}

const listItems = (value: unknown): string[] | undefined => {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string')
    return value
      .split(/[\r\n;,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return value.map((s) => s.trim()).filter(Boolean);
  return undefined;
};

/** Always a value: the entries that parse, and SNI unticked when it is in error. */
export function parseIisBinding(input: Record<string, unknown>): ParsedWithDefaults<IisBinding> {
  const errors: Record<string, string> = {};
  const items = listItems(input['sites']);
  const bindings: SiteBinding[] = [];
  if (!items) errors['sites'] = 'List the site bindings as text, one per line.';
  else if (items.length === 0)
    errors['sites'] = 'List at least one site binding, e.g. "Default Web Site|*:443:www.example.com".';
  else if (items.length > MAX_SITE_BINDINGS) errors['sites'] = `List at most ${MAX_SITE_BINDINGS} site bindings.`;
  else {
    const problems: string[] = [];
    for (const item of items) {
      const parsed = parseSiteBinding(item);
      if (parsed.error || !parsed.binding) {
        problems.push(parsed.error ?? item);
        continue;
      }
      const b = parsed.binding;
      // IIS refuses the same binding information twice on a server, whatever the site.
      const twice = bindings.find((o) => o.bindingInformation === b.bindingInformation);
      if (twice)
        problems.push(
          twice.site.toLowerCase() === b.site.toLowerCase()
            ? `"${item}" is listed twice.`
            : `${b.bindingInformation} is listed for both ${twice.site} and ${b.site}; IIS has one binding per IP:port:host.`,
        );
      else bindings.push(b);
    }
    if (problems.length > 0) errors['sites'] = problems.join(' ');
  }
  const sni = checkbox(input['sni']);
  if (sni === undefined) errors['sni'] = 'Require SNI must be ticked or not.';
  if (sni === true && !errors['sites']) {
    const hostless = bindings.filter((b) => b.host === '');
    if (hostless.length > 0)
      errors['sni'] =
        `SNI needs a host name in every binding; ${hostless.map((b) => `${b.site}|${b.bindingInformation}`).join(', ')} has none.`;
  }
  return { value: { sites: bindings.map((b) => `${b.site}|${b.bindingInformation}`), sni: sni === true }, errors };
}

/** The parsed entries of a binding's site list (entries that do not parse are skipped). */
export const siteBindingsIn = (sites: readonly string[]): SiteBinding[] =>
  sites.map((item) => parseSiteBinding(item).binding).filter((b): b is SiteBinding => b !== undefined);

/** The parsed bindings of a stored binding value (entries that do not parse are skipped). */
export const siteBindingsOf = (binding: Record<string, unknown>): SiteBinding[] =>
  siteBindingsIn(listItems(binding['sites']) ?? []);

/** Every listed binding: its address ('*' → the target's host), its port, its host header as SNI. */
export function iisVerifyEndpoints(host: string, binding: Record<string, unknown>): VerifyEndpoint[] {
  const seen = new Set<string>();
  const endpoints: VerifyEndpoint[] = [];
  for (const b of siteBindingsOf(binding)) {
    const endpoint: VerifyEndpoint = {
      host: b.ip === '*' ? host : b.ip.replace(/^\[|\]$/g, ''),
      port: b.port,
      ...(b.host ? { servername: b.host } : {}),
    };
    const key = `${endpoint.host}:${endpoint.port}:${endpoint.servername ?? ''}`;
    if (!seen.has(key)) {
      seen.add(key);
      endpoints.push(endpoint);
    }
  }
  return endpoints;
}

const credentialFields: VendorField[] = sshCredentialFields.map((field) =>
  field.name === 'username'
    ? {
        ...field,
        placeholder: 'Administrator',
        help: 'A local administrator (or DOMAIN\\user in the Administrators group) whose key is in C:\\ProgramData\\ssh\\administrators_authorized_keys.',
      }
    : field,
);

/** The typed parsers, for checkDeployerConfig. */
export const iisParsers = vendorParsers(parseIisCredentials, parseIisOptions, parseIisBinding);

export const iisDescriptor: VendorDescriptor = {
  id: 'iis',
  label: 'Microsoft IIS (SSH + PowerShell)',
  ...SSH_MANAGED,
  credentialFields,
  optionFields: [
    {
      name: 'hostKeySha256',
      label: 'SSH host key (SHA-256)',
      kind: 'text',
      required: false,
      placeholder: 'SHA256:…',
      help: 'The server\'s host key fingerprint, as "ssh-keygen -lf C:\\ProgramData\\ssh\\ssh_host_ed25519_key.pub" prints it. Leave empty at first: Test connection shows the key the server presents, for you to compare and pin. Pinning or changing it asks for the credentials again.',
      endpoint: true,
    },
    {
      name: 'store',
      label: 'Certificate store',
      kind: 'text',
      required: false,
      placeholder: DEFAULT_IIS_STORE,
      help: 'My (Personal, the default) or WebHosting (Web Hosting, IIS 8 and later), in LocalMachine.',
    },
    {
      name: 'legacyPfx',
      label: 'Legacy PFX (3DES)',
      kind: 'checkbox',
      required: false,
      help: 'For Windows Server 2016 1607 and older, which cannot read AES-256 PFX files.',
    },
    {
      name: 'uploadDirectory',
      label: 'Upload directory',
      kind: 'text',
      required: false,
      placeholder: DEFAULT_UPLOAD_DIRECTORY,
      help: 'Where the PFX is copied over SFTP for the import; it is deleted right after. Created if missing, readable by SYSTEM, Administrators and the SSH user only.',
    },
  ],
  bindingFields: [
    {
      name: 'sites',
      label: 'Site bindings',
      kind: 'list',
      required: true,
      placeholder: 'Default Web Site|*:443:www.example.com',
      help: 'One https binding per line: the site name as IIS Manager shows it, "|", then IP:port:host ("*" for all unassigned addresses, the host name empty for a binding without one). The bindings must exist.',
    },
    {
      name: 'sni',
      label: 'Require SNI',
      kind: 'checkbox',
      required: false,
      help: 'Turn on "Require Server Name Indication" on every listed binding (each needs a host name). Unticked: each binding keeps its setting.',
    },
  ],
  ...untypedParsers(iisParsers),
  defaultVerifyEndpoints: (target, binding) => iisVerifyEndpoints(target.host, binding),
};
