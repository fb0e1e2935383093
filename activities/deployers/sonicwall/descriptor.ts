/**
 * SonicWall target form and validation (web-safe: no device code). Facts: docs/vendors/sonicwall.md.
 *
 * SonicOS 7 takes the PKCS#12 as an upload (`PUT import/certificates/cert-key-pair/…`); SonicOS
 * 6.5 has no upload path, so there the firewall pulls it from an FTP server CertFleet uploads it to
 * (`cert-key-pair-ftp`). The FTP fields are therefore optional here; preflight and stage read
 * the firmware and refuse a 6.5 target without them (docs/vendors/sonicwall.md).
 */
import type { VendorDescriptor, VerifyEndpoint } from '../types';
import { untypedParsers, vendorParsers, type Parsed, type ParsedWithDefaults } from '../config-check';
import { adminUsernameField, checkbox, parsePort, PASSWORD_FIELD, text } from '../form-values';

export interface SonicWallCredentials {
  /** A full administrator (only full admins may use the SonicOS API). */
  username: string;
  password: string;
  /** Password of the FTP account in `ftpUser` (SonicOS 6.5 only; '' = none). It is sent to the firewall inside the import URL. */
  ftpPassword: string;
}

export type SonicWallAuthMethod = 'basic' | 'chap';

export interface SonicWallOptions {
  /** RFC 2617 Basic (default) or CHAP (MD5 over id, password and challenge), §3.1. */
  authMethod: SonicWallAuthMethod;
  /** Log in with `override: true`, pre-empting another administrator's session. Default off. */
  override: boolean;
  /** FTP server CertFleet uploads the PKCS#12 to (SonicOS 6.5 only; '' = none configured). */
  ftpHost: string;
  ftpPort: number;
  ftpUser: string;
  /** Directory on the FTP server, relative to the FTP account's home ('' = the home itself). */
  ftpDirectory: string;
  /** The FTP server's address as the firewall reaches it (default: ftpHost). */
  ftpUrlHost: string;
  /** Port of the SSL-VPN portal, for the TLS check after a deploy. */
  sslVpnPort: number;
}

export interface SonicWallBinding {
  /** Device → Administration → Web Management: the HTTPS management certificate (and the API's). */
  webManagement: boolean;
  /** Network → SSL VPN → Server Settings: the SSL-VPN portal certificate. */
  sslVpn: boolean;
}

export const SONICWALL_DEFAULT_FTP_PORT = 21;
/** SonicOS' default SSL-VPN port. */
export const SONICWALL_DEFAULT_SSL_VPN_PORT = 4433;

/** Host names and IPv4/IPv6 addresses (IPv6 without brackets). */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;
/**
 * FTP user and password go into `ftp://user:password@host/…`, which goes into the path of the import
 * call. How SonicOS decodes that is undocumented and error-prone (docs/vendors/sonicwall.md), so only characters
 * that need no encoding anywhere on the way are accepted (RFC 3986 unreserved plus a few sub-delims).
 */
const FTP_USER = /^[A-Za-z0-9._~-]{1,64}$/;
const FTP_PASSWORD = /^[A-Za-z0-9._~!$*+,=-]{1,128}$/;
const FTP_SAFE_HINT =
  'letters, digits and - . _ ~ ! $ * + , = only (the firewall receives it inside a URL; other characters are not decoded reliably by SonicOS)';
/** Directory segments: letters, digits, '.', '_' and '-'; never '.' or '..'. */
const DIR_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
/** Administrator names: printable, no ':' (Basic auth) and no spaces at the ends. */
const USERNAME = /^[^\s:][^:]{0,62}[^\s:]$|^[^\s:]$/;

/** '/certs/in/' → 'certs/in'; undefined when a segment is not allowed. */
export function normaliseFtpDirectory(raw: string): string | undefined {
  const segments = raw.split('/').filter((s) => s !== '');
  if (!segments.every((s) => DIR_SEGMENT.test(s))) return undefined;
  return segments.join('/');
}

export function parseSonicWallCredentials(input: Record<string, unknown>): Parsed<SonicWallCredentials> {
  const errors: Record<string, string> = {};
  // Passwords are taken as typed (spaces included); only a missing value is an error.
  const username = text(input, 'username');
  const password = typeof input['password'] === 'string' ? input['password'] : '';
  const ftpPassword = typeof input['ftpPassword'] === 'string' ? input['ftpPassword'] : '';
  if (!username)
    errors['username'] = 'Enter the name of a full administrator (only full administrators may use the SonicOS API).';
  else if (!USERNAME.test(username))
    errors['username'] = 'An administrator name is 1 to 64 characters without ":" and without spaces at either end.';
  if (!password) errors['password'] = "Enter the administrator's password.";
  if (ftpPassword && !FTP_PASSWORD.test(ftpPassword))
    errors['ftpPassword'] = `The FTP password may contain ${FTP_SAFE_HINT}.`;
  if (Object.keys(errors).length > 0) return { errors };
  return { value: { username, password, ftpPassword }, errors };
}

/** Always a value (fields in error hold their defaults): the console compares the FTP endpoint fields while others are in error. */
export function parseSonicWallOptions(input: Record<string, unknown>): ParsedWithDefaults<SonicWallOptions> {
  const errors: Record<string, string> = {};
  const authRaw = text(input, 'authMethod').toLowerCase() || 'basic';
  const authMethod: SonicWallAuthMethod = authRaw === 'chap' ? 'chap' : 'basic';
  if (authRaw !== 'basic' && authRaw !== 'chap')
    errors['authMethod'] =
      'Choose Basic or CHAP (Device → Settings → Administration → SonicOS API lists what the firewall allows).';
  const override = checkbox(input['override']);
  if (override === undefined) errors['override'] = 'Override must be ticked or not.';

  // The FTP drop is for SonicOS 6.5 only (no upload path there): all of it, or none of it.
  const ftpHost = text(input, 'ftpHost');
  const ftpUserGiven = text(input, 'ftpUser');
  if (!ftpHost && ftpUserGiven)
    errors['ftpHost'] =
      'Enter the FTP server as well, or clear the FTP user (the FTP drop is only needed for SonicOS 6.5).';
  else if (ftpHost && !HOST.test(ftpHost))
    errors['ftpHost'] = 'Enter a host name or an IP address (without ftp:// and without a port).';
  const ftpPort = parsePort(text(input, 'ftpPort'), SONICWALL_DEFAULT_FTP_PORT);
  if (ftpPort === undefined) errors['ftpPort'] = 'Enter the FTP port as a number from 1 to 65535 (default 21).';
  const ftpUser = text(input, 'ftpUser');
  if (ftpHost && !ftpUser) errors['ftpUser'] = 'Enter the FTP account name.';
  else if (ftpUser && !FTP_USER.test(ftpUser))
    errors['ftpUser'] =
      'The FTP account name may contain letters, digits and - . _ ~ only (it travels inside a URL to the firewall).';
  const ftpDirectory = normaliseFtpDirectory(text(input, 'ftpDirectory'));
  if (ftpDirectory === undefined)
    errors['ftpDirectory'] =
      'Enter a directory such as certfleet or drop/sonicwall: letters, digits, ".", "_" and "-" between slashes, no "..".';
  const urlHostRaw = text(input, 'ftpUrlHost');
  if (urlHostRaw && !HOST.test(urlHostRaw))
    errors['ftpUrlHost'] =
      'Enter the host name or IP address the firewall uses to reach the FTP server (or leave empty to use the FTP server above).';
  const sslVpnPort = parsePort(text(input, 'sslVpnPort'), SONICWALL_DEFAULT_SSL_VPN_PORT);
  if (sslVpnPort === undefined)
    errors['sslVpnPort'] = 'Enter the SSL-VPN port as a number from 1 to 65535 (SonicWall default 4433).';

  const value: SonicWallOptions = {
    authMethod,
    override: override === true,
    ftpHost,
    ftpPort: ftpPort ?? SONICWALL_DEFAULT_FTP_PORT,
    ftpUser,
    ftpDirectory: ftpDirectory ?? '',
    ftpUrlHost: ftpHost ? urlHostRaw || ftpHost : '',
    sslVpnPort: sslVpnPort ?? SONICWALL_DEFAULT_SSL_VPN_PORT,
  };
  return { value, errors };
}

/** Always a value (a field in error counts as unticked). */
export function parseSonicWallBinding(input: Record<string, unknown>): ParsedWithDefaults<SonicWallBinding> {
  const errors: Record<string, string> = {};
  const webManagement = checkbox(input['webManagement']);
  const sslVpn = checkbox(input['sslVpn']);
  if (webManagement === undefined) errors['webManagement'] = 'Web management must be ticked or not.';
  if (sslVpn === undefined) errors['sslVpn'] = 'SSL-VPN must be ticked or not.';
  if (webManagement === false && sslVpn === false)
    errors['webManagement'] = 'Choose at least one service to bind the certificate to: web management or SSL-VPN.';
  return { value: { webManagement: webManagement === true, sslVpn: sslVpn === true }, errors };
}

/** The typed parsers, for checkDeployerConfig. */
export const sonicwallParsers = vendorParsers(parseSonicWallCredentials, parseSonicWallOptions, parseSonicWallBinding);

export const sonicwallDescriptor: VendorDescriptor = {
  id: 'sonicwall',
  label: 'SonicWall (SonicOS 6.5 / 7)',
  defaultPort: 443,
  exclusiveSession: true,
  credentialFields: [
    adminUsernameField(
      'Administrator',
      'A full administrator. The SonicOS API must be enabled (Device → Settings → Administration → SonicOS API).',
    ),
    PASSWORD_FIELD,
    {
      name: 'ftpPassword',
      label: 'FTP password',
      kind: 'secret',
      required: false,
      help: 'SonicOS 6.5 only. The firewall receives it inside the import URL (plain FTP): use an account that can only reach the drop directory.',
    },
  ],
  optionFields: [
    {
      name: 'authMethod',
      label: 'API authentication',
      kind: 'text',
      required: false,
      placeholder: 'basic',
      help: 'basic or chap, whichever the SonicOS API settings allow (some releases disable Basic).',
    },
    {
      name: 'override',
      label: 'Pre-empt other administrators',
      kind: 'checkbox',
      required: false,
      help: 'Off (recommended): when someone is logged in, CertFleet waits and retries. On: CertFleet logs them out, and their unsaved changes are lost.',
    },
    {
      name: 'ftpHost',
      label: 'FTP server (SonicOS 6.5 only)',
      kind: 'text',
      required: false,
      help: 'SonicOS 7 takes the certificate as an upload and needs no FTP server. SonicOS 6.5 has no upload: CertFleet puts a password-protected PKCS#12 here, the firewall downloads it and CertFleet deletes it.',
      endpoint: true,
    },
    {
      name: 'ftpPort',
      label: 'FTP port',
      kind: 'number',
      required: false,
      placeholder: String(SONICWALL_DEFAULT_FTP_PORT),
      endpoint: true,
    },
    { name: 'ftpUser', label: 'FTP user', kind: 'text', required: false, endpoint: true },
    {
      name: 'ftpDirectory',
      label: 'FTP directory',
      kind: 'text',
      required: false,
      placeholder: 'certfleet',
      help: "Relative to the FTP account's home; it must exist. Leave empty for the home itself.",
    },
    {
      name: 'ftpUrlHost',
      label: 'FTP server as the firewall sees it',
      kind: 'text',
      required: false,
      help: 'Host name or address the firewall uses to reach the FTP server, when it differs from the one above.',
      endpoint: true,
    },
    {
      name: 'sslVpnPort',
      label: 'SSL-VPN port',
      kind: 'number',
      required: false,
      placeholder: String(SONICWALL_DEFAULT_SSL_VPN_PORT),
      help: 'Checked by a TLS handshake after a deploy.',
    },
  ],
  bindingFields: [
    {
      name: 'webManagement',
      label: 'Web management (HTTPS and API)',
      kind: 'checkbox',
      required: false,
      help: 'The management API then presents the new certificate.',
    },
    { name: 'sslVpn', label: 'SSL-VPN portal', kind: 'checkbox', required: false },
  ],
  ...untypedParsers(sonicwallParsers),
  defaultVerifyEndpoints(target, binding) {
    const parsed = parseSonicWallBinding(binding).value;
    const sslVpnPort = parseSonicWallOptions(target.options).value.sslVpnPort;
    const endpoints: VerifyEndpoint[] = [];
    if (parsed.webManagement) endpoints.push({ host: target.host, port: target.port });
    if (parsed.sslVpn) endpoints.push({ host: target.host, port: sslVpnPort });
    return endpoints;
  },
  bindsManagementGui: (binding) => parseSonicWallBinding(binding).value.webManagement,
};
