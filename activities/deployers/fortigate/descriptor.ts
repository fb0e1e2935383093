/**
 * FortiGate target form and validation (web-safe: no device code). Facts: docs/vendors/fortigate.md.
 * The typed parsers are parsed once per deployer by `checkDeployerConfig`; the descriptor wraps them
 * with `untypedParsers` for the console.
 */
import { untypedParsers, vendorParsers, type Parsed } from '../config-check';
import type { VendorDescriptor, VerifyEndpoint } from '../types';
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
  /** `config system global / set auth-https-port` (default 1003 since FortiOS 6.4): the captive/auth portal over HTTPS. */
  authPortalPort: number;
}

/** A TLS endpoint a VIP answers on (`extip`:`extport`, or the address in front of it). */
export interface FortiGateVipEndpoint {
  host: string;
  port: number;
}

export interface FortiGateBinding {
  /** `config system global / set admin-server-cert`: the HTTPS admin GUI and REST API. */
  adminGui: boolean;
  /** `config vpn ssl settings / set servercert` in the VDOM (absent where FortiOS 7.6 removed SSL-VPN). */
  sslVpn: boolean;
  /** `config user setting / set auth-cert` in the VDOM: the captive/auth portal (HTTPS firewall authentication). */
  authPortal: boolean;
  /** `config vpn ipsec phase1-interface / edit <name> / set certificate`: IKE signature authentication. No TLS endpoint. */
  ipsecPhase1: string[];
  /** `config firewall vip / edit <name> / set ssl-certificate`: server-load-balance VIPs that terminate TLS. */
  vips: string[];
  /**
   * Where the VIPs answer TLS, for the check after a deploy (none given: the VIPs are not verified), as
   * normalised `host:port` / `[v6]:port` text: the parsed binding is what is stored and shown in the
   * form again, so it must parse to itself (`vipEndpointOf` reads one).
   */
  vipEndpoints: string[];
}

export const FORTIGATE_DEFAULT_VDOM = 'root';
export const FORTIGATE_DEFAULT_SSL_VPN_PORT = 10443;
/** terraform-provider-fortios docs, fortios_system_global `auth_https_port`: default 1003 on FortiOS ≥ 6.4.0. */
export const FORTIGATE_DEFAULT_AUTH_PORTAL_PORT = 1003;

/** VDOM names: up to 31 letters, digits, '-' and '_' (a guess at FortiOS' rule, kept permissive). */
const VDOM = /^[A-Za-z0-9_-]{1,31}$/;
/** API tokens are printable without spaces (FortiOS generates 30 alphanumeric characters). */
const TOKEN = /^[\x21-\x7e]{8,256}$/;
/**
 * Phase-1 interface names: at most 15 characters (they become interface names; ASSUMPTION F6 in
 * docs/vendors/fortigate.md); VIP names at most 79 (ASSUMPTION F6). Both: no quotes, slashes or
 * control characters, since they go into a URL path segment.
 */
const PHASE1_NAME = /^[A-Za-z0-9_.-][A-Za-z0-9 _.-]{0,14}$/;
const VIP_NAME = /^[A-Za-z0-9_.-][A-Za-z0-9 _.:()-]{0,78}$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})?)$/;

/** A list field: an array, or text split on commas and new lines (names never contain a comma). */
function list(input: Record<string, unknown>, key: string): string[] {
  const raw = input[key];
  const items = Array.isArray(raw)
    ? raw.map((v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '\u0000'))
    : typeof raw === 'string'
      ? raw.split(/[,\n]/)
      : [];
  return [...new Set(items.map((s) => s.trim()).filter(Boolean))];
}

/** `host:port` or `[v6]:port`, or undefined. */
export function vipEndpointOf(raw: string): FortiGateVipEndpoint | undefined {
  const match = /^(.+):(\d{1,5})$/.exec(raw);
  if (!match?.[1] || !match[2] || !HOST.test(match[1])) return undefined;
  const port = parsePort(match[2], 0);
  if (!port) return undefined;
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** The normalised text of an endpoint (the form of `vipEndpoints`). */
const endpointText = (e: FortiGateVipEndpoint): string => `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;

export function parseFortiGateCredentials(input: Record<string, unknown>): Parsed<FortiGateCredentials> {
  const token = text(input, 'token');
  if (!token)
    return { errors: { token: 'Enter the API token of a REST API admin (System → Administrators → REST API Admin).' } };
  if (!TOKEN.test(token))
    return {
      errors: {
        token:
          'The API token is 8 to 256 printable characters without spaces; paste it exactly as FortiGate showed it.',
      },
    };
  return { value: { token }, errors: {} };
}

export function parseFortiGateOptions(input: Record<string, unknown>): Parsed<FortiGateOptions> {
  const errors: Record<string, string> = {};
  const vdom = text(input, 'vdom') || FORTIGATE_DEFAULT_VDOM;
  if (!VDOM.test(vdom)) errors['vdom'] = 'A VDOM name is 1 to 31 letters, digits, "-" or "_" (leave empty for root).';
  const sslVpnPort = parsePort(text(input, 'sslVpnPort'), FORTIGATE_DEFAULT_SSL_VPN_PORT);
  if (sslVpnPort === undefined)
    errors['sslVpnPort'] = 'Enter the SSL-VPN port as a number from 1 to 65535 (FortiGate default 10443).';
  const authPortalPort = parsePort(text(input, 'authPortalPort'), FORTIGATE_DEFAULT_AUTH_PORTAL_PORT);
  if (authPortalPort === undefined)
    errors['authPortalPort'] = 'Enter the auth portal HTTPS port as a number from 1 to 65535 (FortiGate default 1003).';
  if (Object.keys(errors).length > 0 || sslVpnPort === undefined || authPortalPort === undefined) return { errors };
  return { value: { vdom, sslVpnPort, authPortalPort }, errors };
}

export function parseFortiGateBinding(input: Record<string, unknown>): Parsed<FortiGateBinding> {
  const errors: Record<string, string> = {};
  const flag = (name: 'adminGui' | 'sslVpn' | 'authPortal', label: string): boolean => {
    const value = checkbox(input[name]);
    if (value === undefined) errors[name] = `${label} must be ticked or not.`;
    return value === true;
  };
  const adminGui = flag('adminGui', 'Admin GUI');
  const sslVpn = flag('sslVpn', 'SSL-VPN');
  const authPortal = flag('authPortal', 'Auth portal');
  const ipsecPhase1 = list(input, 'ipsecPhase1');
  const badPhase1 = ipsecPhase1.filter((n) => !PHASE1_NAME.test(n));
  if (badPhase1.length > 0)
    errors['ipsecPhase1'] =
      `Not a phase-1 interface name: ${badPhase1.join(', ')} (1 to 15 letters, digits, space, ".", "-" or "_"; as in VPN → IPsec Tunnels).`;
  const vips = list(input, 'vips');
  const badVips = vips.filter((n) => !VIP_NAME.test(n));
  if (badVips.length > 0)
    errors['vips'] =
      `Not a virtual IP name: ${badVips.join(', ')} (1 to 79 letters, digits, space or . - _ : ( ); as in Policy & Objects → Virtual IPs).`;
  const endpointTexts = list(input, 'vipEndpoints');
  const vipEndpoints = endpointTexts.map(vipEndpointOf);
  const badEndpoints = endpointTexts.filter((_, i) => vipEndpoints[i] === undefined);
  if (badEndpoints.length > 0)
    errors['vipEndpoints'] = `Not host:port: ${badEndpoints.join(', ')} (e.g. 203.0.113.10:443 or [2001:db8::10]:443).`;
  else if (endpointTexts.length > 0 && vips.length === 0)
    errors['vipEndpoints'] =
      'VIP TLS endpoints are checked only for the virtual IPs named above: name at least one VIP, or leave this empty.';
  if (
    !adminGui &&
    !sslVpn &&
    !authPortal &&
    ipsecPhase1.length === 0 &&
    vips.length === 0 &&
    !errors['ipsecPhase1'] &&
    !errors['vips']
  ) {
    errors['adminGui'] =
      'Choose at least one service to bind the certificate to: admin GUI, SSL-VPN, auth portal, an IPsec phase-1 or a virtual IP.';
  }
  if (Object.keys(errors).length > 0) return { errors };
  return {
    value: {
      adminGui,
      sslVpn,
      authPortal,
      ipsecPhase1,
      vips,
      vipEndpoints: [
        ...new Set(vipEndpoints.filter((e): e is FortiGateVipEndpoint => e !== undefined).map(endpointText)),
      ],
    },
    errors,
  };
}

export const fortigateParsers = vendorParsers(parseFortiGateCredentials, parseFortiGateOptions, parseFortiGateBinding);

/** Where the bound certificate is served (IPsec has no TLS endpoint; VIPs only where endpoints are given). */
export function fortigateVerifyEndpoints(
  target: { host: string; port: number },
  options: FortiGateOptions,
  binding: FortiGateBinding,
): VerifyEndpoint[] {
  const endpoints: VerifyEndpoint[] = [];
  if (binding.adminGui) endpoints.push({ host: target.host, port: target.port });
  if (binding.sslVpn) endpoints.push({ host: target.host, port: options.sslVpnPort });
  if (binding.authPortal) endpoints.push({ host: target.host, port: options.authPortalPort });
  for (const e of binding.vipEndpoints.map(vipEndpointOf)) if (e) endpoints.push({ host: e.host, port: e.port });
  return endpoints;
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
      help: 'Token of a REST API admin whose profile has read/write on System Configuration and VPN, plus Firewall (for VIPs) and User & Authentication (for the auth portal) when those are bound; with VDOMs its scope must be global. Add this server to its trusted hosts.',
    },
  ],
  optionFields: [
    {
      name: 'vdom',
      label: 'VDOM',
      kind: 'text',
      required: false,
      placeholder: FORTIGATE_DEFAULT_VDOM,
      help: 'Leave empty on a FortiGate without VDOMs.',
    },
    {
      name: 'sslVpnPort',
      label: 'SSL-VPN port',
      kind: 'number',
      required: false,
      placeholder: String(FORTIGATE_DEFAULT_SSL_VPN_PORT),
      help: 'Where the SSL-VPN (Agentless VPN) portal listens; checked by a TLS handshake after a deploy.',
    },
    {
      name: 'authPortalPort',
      label: 'Auth portal HTTPS port',
      kind: 'number',
      required: false,
      placeholder: String(FORTIGATE_DEFAULT_AUTH_PORTAL_PORT),
      help: "The device's auth-https-port; checked by a TLS handshake after a deploy.",
    },
  ],
  bindingFields: [
    {
      name: 'adminGui',
      label: 'Admin GUI (HTTPS management)',
      kind: 'checkbox',
      required: false,
      help: 'Sets admin-server-cert. The management API then presents the new certificate.',
    },
    {
      name: 'sslVpn',
      label: 'SSL-VPN portal',
      kind: 'checkbox',
      required: false,
      help: 'Sets the SSL-VPN servercert in the VDOM. FortiOS 7.6 removed SSL-VPN on 2 GB models; preflight says whether this FortiGate has it.',
    },
    {
      name: 'authPortal',
      label: 'Auth portal (captive portal)',
      kind: 'checkbox',
      required: false,
      help: 'Sets auth-cert in the VDOM’s user settings: the HTTPS firewall authentication page.',
    },
    {
      name: 'ipsecPhase1',
      label: 'IPsec phase-1 interfaces',
      kind: 'list',
      required: false,
      placeholder: 'hq-tunnel',
      help: 'Phase-1 interfaces using certificate (signature) authentication. IPsec has no TLS endpoint: these are not checked by a handshake after a deploy.',
    },
    {
      name: 'vips',
      label: 'Virtual IPs (SSL offload)',
      kind: 'list',
      required: false,
      placeholder: 'web-vip',
      help: 'Server-load-balance VIPs that terminate HTTPS/SSL; their ssl-certificate is replaced.',
    },
    {
      name: 'vipEndpoints',
      label: 'VIP TLS endpoints',
      kind: 'list',
      required: false,
      placeholder: '203.0.113.10:443',
      help: 'host:port where those VIPs answer (their external IP and port; preflight shows them). Checked by a TLS handshake after a deploy.',
    },
  ],
  ...untypedParsers(fortigateParsers),
  defaultVerifyEndpoints(target, binding) {
    const options = parseFortiGateOptions(target.options).value;
    const parsed = parseFortiGateBinding(binding).value;
    return options && parsed ? fortigateVerifyEndpoints(target, options, parsed) : [];
  },
  withoutTlsEndpoint(binding) {
    const parsed = parseFortiGateBinding(binding).value;
    if (!parsed || parsed.ipsecPhase1.length === 0) return undefined;
    const tls = parsed.adminGui || parsed.sslVpn || parsed.authPortal || parsed.vips.length > 0;
    return tls
      ? undefined
      : `IPsec phase-1 ${parsed.ipsecPhase1.join(', ')} only: the certificate is presented during IKE, not in a TLS handshake, so there is nothing to verify by TLS`;
  },
  bindsManagementGui: (binding) => parseFortiGateBinding(binding).value?.adminGui === true,
};
