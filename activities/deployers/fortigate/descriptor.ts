/**
 * FortiGate target form and validation (web-safe: no device code). Facts: docs/vendors/fortigate.md.
 */
import type { ParseResult, VendorDescriptor, VerifyEndpoint } from '../types';
import { checkbox, parsePort, text } from '../form-values';

export interface FortiGateCredentials {
  /** REST API admin token (System → Administrators → REST API Admin; `execute api-user generate-key`). */
  token: string;
}

export interface FortiGateOptions {
  /** VDOM sent as `?vdom=` on every call; `root` on devices without VDOMs. */
  vdom: string;
  /** Port of the SSL-VPN (agentless VPN) portal, for the TLS check after a deploy. */
  sslVpnPort: number;
}

export interface FortiGateBinding {
  /** `config system global / set admin-server-cert`: the HTTPS admin GUI and REST API. */
  adminGui: boolean;
  /** `config vpn ssl settings / set servercert` in the VDOM. */
  sslVpn: boolean;
}

export const FORTIGATE_DEFAULT_VDOM = 'root';
export const FORTIGATE_DEFAULT_SSL_VPN_PORT = 10443;

/** VDOM names: up to 31 letters, digits, '-' and '_' (a guess at FortiOS' rule, kept permissive). */
const VDOM = /^[A-Za-z0-9_-]{1,31}$/;
/** API tokens are printable without spaces (FortiOS generates 30 alphanumeric characters). */
const TOKEN = /^[\x21-\x7e]{8,256}$/;




export function parseFortiGateCredentials(input: Record<string, unknown>): ParseResult {
  const errors: Record<string, string> = {};
  const token = text(input, 'token');
  if (!token) errors['token'] = 'Enter the API token of a REST API admin (System → Administrators → REST API Admin).';
  else if (!TOKEN.test(token)) errors['token'] = 'The API token is 8 to 256 printable characters without spaces; paste it exactly as FortiGate showed it.';
  return { value: errors['token'] ? {} : { token }, errors };
}

export function parseFortiGateOptions(input: Record<string, unknown>): ParseResult {
  const errors: Record<string, string> = {};
  const vdom = text(input, 'vdom') || FORTIGATE_DEFAULT_VDOM;
  if (!VDOM.test(vdom)) errors['vdom'] = 'A VDOM name is 1 to 31 letters, digits, "-" or "_" (leave empty for root).';
  const sslVpnPort = parsePort(text(input, 'sslVpnPort'), FORTIGATE_DEFAULT_SSL_VPN_PORT);
  if (sslVpnPort === undefined) errors['sslVpnPort'] = 'Enter the SSL-VPN port as a number from 1 to 65535 (FortiGate default 10443).';
  const value: FortiGateOptions = { vdom, sslVpnPort: sslVpnPort ?? FORTIGATE_DEFAULT_SSL_VPN_PORT };
  return { value: { ...value }, errors };
}

export function parseFortiGateBinding(input: Record<string, unknown>): ParseResult {
  const errors: Record<string, string> = {};
  const adminGui = checkbox(input['adminGui']);
  const sslVpn = checkbox(input['sslVpn']);
  if (adminGui === undefined) errors['adminGui'] = 'Admin GUI must be ticked or not.';
  if (sslVpn === undefined) errors['sslVpn'] = 'SSL-VPN must be ticked or not.';
  if (adminGui === false && sslVpn === false) errors['adminGui'] = 'Choose at least one service to bind the certificate to: admin GUI or SSL-VPN.';
  const value: FortiGateBinding = { adminGui: adminGui === true, sslVpn: sslVpn === true };
  return { value: { ...value }, errors };
}

export const fortigateDescriptor: VendorDescriptor = {
  id: 'fortigate',
  label: 'Fortinet FortiGate',
  defaultPort: 443,
  credentialFields: [
    {
      name: 'token',
      label: 'REST API token',
      kind: 'secret',
      required: true,
      help: 'Token of a REST API admin whose profile has System Configuration and VPN read/write; with VDOMs its scope must be global. Add this server to its trusted hosts.',
    },
  ],
  optionFields: [
    { name: 'vdom', label: 'VDOM', kind: 'text', required: false, placeholder: FORTIGATE_DEFAULT_VDOM, help: 'Leave empty on a FortiGate without VDOMs.' },
    { name: 'sslVpnPort', label: 'SSL-VPN port', kind: 'number', required: false, placeholder: String(FORTIGATE_DEFAULT_SSL_VPN_PORT), help: 'Where the SSL-VPN portal listens; checked by a TLS handshake after a deploy.' },
  ],
  bindingFields: [
    { name: 'adminGui', label: 'Admin GUI (HTTPS management)', kind: 'checkbox', required: false, help: 'Sets admin-server-cert. The management API then presents the new certificate.' },
    { name: 'sslVpn', label: 'SSL-VPN portal', kind: 'checkbox', required: false, help: 'Sets the SSL-VPN servercert in the VDOM. Some FortiOS 7.6 models have no SSL-VPN.' },
  ],
  parseCredentials: parseFortiGateCredentials,
  parseOptions: parseFortiGateOptions,
  parseBinding: parseFortiGateBinding,
  defaultVerifyEndpoints(target, binding) {
    const parsed = parseFortiGateBinding(binding).value as Partial<FortiGateBinding>;
    const sslVpnPort = (parseFortiGateOptions(target.options).value as Partial<FortiGateOptions>).sslVpnPort ?? FORTIGATE_DEFAULT_SSL_VPN_PORT;
    const endpoints: VerifyEndpoint[] = [];
    if (parsed.adminGui) endpoints.push({ host: target.host, port: target.port });
    if (parsed.sslVpn) endpoints.push({ host: target.host, port: sslVpnPort });
    return endpoints;
  },
};
