/**
 * FortiOS REST API: one method per call, no business logic. Every call carries the token as
 * `Authorization: Bearer` (never `?access_token=`, disabled by default since FortiOS 7.4.5) and the
 * VDOM as `?vdom=`. Facts and sources: docs/vendors/fortigate.md.
 *
 * Methods return the HTTP status and the parsed envelope; interpreting them is the deployer's job.
 * Transport failures arrive as ClassifiedErrors from device-http.
 */
import type { DeviceHttp } from '../device-http';

/** The FortiOS JSON envelope (success and error share it). */
export interface FortiEnvelope {
  http_method?: string;
  status?: string;
  http_status?: number;
  /** FortiOS error code of an error envelope, e.g. -23, -145, -327, -328. */
  error?: number;
  /** CLI error text some CMDB failures carry. */
  cli_error?: string;
  results?: unknown;
  vdom?: string;
  revision?: string;
  revision_changed?: boolean;
  mkey?: string;
  serial?: string;
  version?: string;
  build?: number;
}

export interface FortiResponse {
  status: number;
  /** Undefined when the body was not a JSON object (FortiOS answers 401 with an HTML page). */
  envelope?: FortiEnvelope;
}

/** Body of `monitor/vpn-certificate/local/import`, type regular (base64 values). */
export interface LocalImportRegular {
  type: 'regular';
  certname: string;
  scope: 'vdom' | 'global';
  file_content: string;
  key_file_content: string;
  password?: string;
}

/** Body of `monitor/vpn-certificate/ca/import`. */
export interface CaImportFile {
  import_method: 'file';
  scope: 'vdom' | 'global';
  file_content: string;
}

/**
 * The CMDB settings tables (one object, per VDOM or global) that name a certificate, and the attribute
 * that names it (docs/vendors/fortigate.md "Bindings"):
 * - `system/global` `admin-server-cert`: the HTTPS admin GUI / API; the table also holds the firmware and
 *   `auth-https-port`. acme.sh PR #6236 deploy/fortigate.sh set_active_web_cert; CyB0rgg/fortigate-cert-swap
 *   bind_gui; jonarihen/caddy-forticertsync fortigate_client.go certReferenceEndpoints.
 * - `vpn.ssl/settings` `servercert` (404 where FortiOS 7.6 removed SSL-VPN). CyB0rgg/fortigate-cert-swap
 *   bind_ssl_vpn; caddy-forticertsync certReferenceEndpoints, UpdateCertReference.
 * - `user/setting` `auth-cert` (a string, datasource vpn.certificate.local): the HTTPS firewall
 *   authentication / captive portal certificate. FortiOS CLI reference `config user setting` (6.0.0,
 *   419036); Fortinet ansible fortios_user_setting `auth_cert`; terraform-provider-fortios fortios_user_setting.
 */
export const CERTIFICATE_SETTINGS = {
  'system/global': 'admin-server-cert',
  'vpn.ssl/settings': 'servercert',
  'user/setting': 'auth-cert',
} as const;
export type FortiSettingsTable = keyof typeof CERTIFICATE_SETTINGS;

const API = '/api/v2';
const seg = (name: string): string => encodeURIComponent(name);

export class FortiGateClient {
  constructor(
    private readonly http: DeviceHttp,
    private readonly session: { token: string; vdom: string },
  ) {}

  private async call(method: string, path: string, json?: unknown): Promise<FortiResponse> {
    const response = await this.http.request(method, `${API}${path}`, {
      query: { vdom: this.session.vdom },
      headers: { authorization: `Bearer ${this.session.token}` },
      ...(json !== undefined ? { json } : {}),
    });
    const body = response.json;
    const envelope =
      typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as FortiEnvelope) : undefined;
    return { status: response.status, ...(envelope ? { envelope } : {}) };
  }

  /** GET /api/v2/cmdb/<table>: a settings table's one object (sources: CERTIFICATE_SETTINGS). */
  getSettings(table: FortiSettingsTable): Promise<FortiResponse> {
    return this.call('GET', `/cmdb/${table}`);
  }

  /** PUT /api/v2/cmdb/<table> {<attribute>: name}: the certificate the table names (sources: CERTIFICATE_SETTINGS). */
  setSettingsCertificate(table: FortiSettingsTable, name: string): Promise<FortiResponse> {
    return this.call('PUT', `/cmdb/${table}`, { [CERTIFICATE_SETTINGS[table]]: name });
  }

  /**
   * GET /api/v2/cmdb/vpn.ipsec/phase1-interface/<name>: `authmethod` (psk | signature) and `certificate`,
   * a list of `{name}` (up to 4). fortinetdev/terraform-provider-fortios resource_vpnipsec_phase1interface.go
   * (expandVpnIpsecPhase1InterfaceCertificate); FortiOS CLI reference `config vpn ipsec phase1-interface`.
   */
  getPhase1Interface(name: string): Promise<FortiResponse> {
    return this.call('GET', `/cmdb/vpn.ipsec/phase1-interface/${seg(name)}`);
  }

  /** PUT /api/v2/cmdb/vpn.ipsec/phase1-interface/<name> {"certificate": [{name}, …]} (same sources). */
  setPhase1Certificates(name: string, certificates: string[]): Promise<FortiResponse> {
    return this.call('PUT', `/cmdb/vpn.ipsec/phase1-interface/${seg(name)}`, {
      certificate: certificates.map((c) => ({ name: c })),
    });
  }

  /**
   * GET /api/v2/cmdb/firewall/vip/<name>: `type`, `server-type`, `extip`, `extport`, `ssl-certificate`.
   * terraform-provider-fortios docs fortios_firewall_vip and resource_firewall_vip.go.
   */
  getVip(name: string): Promise<FortiResponse> {
    return this.call('GET', `/cmdb/firewall/vip/${seg(name)}`);
  }

  /**
   * PUT /api/v2/cmdb/firewall/vip/<name> {"ssl-certificate": …}: a list `[{name}]` on FortiOS ≥ 7.4.2,
   * a plain name before (terraform-provider-fortios resource_firewall_vip.go expandFirewallVipSslCertificate).
   */
  setVipSslCertificate(name: string, certificate: string, asList: boolean): Promise<FortiResponse> {
    return this.call('PUT', `/cmdb/firewall/vip/${seg(name)}`, {
      'ssl-certificate': asList ? [{ name: certificate }] : certificate,
    });
  }

  /**
   * GET /api/v2/cmdb/vpn.certificate/local (the monitor `local/select` is gone in FortiOS 7.6.6).
   * CyB0rgg/fortigate-cert-swap list_local_certs; caddy-forticertsync ListCertificates.
   */
  listLocalCertificates(): Promise<FortiResponse> {
    return this.call('GET', '/cmdb/vpn.certificate/local');
  }

  /** GET /api/v2/cmdb/vpn.certificate/local/<name> (CMDB read by key, same table as above). */
  getLocalCertificate(name: string): Promise<FortiResponse> {
    return this.call('GET', `/cmdb/vpn.certificate/local/${seg(name)}`);
  }

  /**
   * DELETE /api/v2/cmdb/vpn.certificate/local/<name> (refused while the certificate is bound).
   * acme.sh PR #6236; caddy-forticertsync DeleteCertificate; CyB0rgg/fortigate-cert-swap delete_cert.
   */
  deleteLocalCertificate(name: string): Promise<FortiResponse> {
    return this.call('DELETE', `/cmdb/vpn.certificate/local/${seg(name)}`);
  }

  /**
   * GET /api/v2/cmdb/vpn.certificate/ca: the CA store (CLI `config vpn certificate ca`). No source names
   * it (ASSUMPTION F1 in docs/vendors/fortigate.md); the CMDB path follows the local-certificate table's pattern.
   */
  listCaCertificates(): Promise<FortiResponse> {
    return this.call('GET', '/cmdb/vpn.certificate/ca');
  }

  /** DELETE /api/v2/cmdb/vpn.certificate/ca/<name> (same pattern; ASSUMPTION F1 in docs/vendors/fortigate.md). */
  deleteCaCertificate(name: string): Promise<FortiResponse> {
    return this.call('DELETE', `/cmdb/vpn.certificate/ca/${seg(name)}`);
  }

  /**
   * POST /api/v2/monitor/vpn-certificate/local/import: certificate + key, base64 values.
   * docs.fortinet.com/document/fortigate/7.0.1/administration-guide/379103/uploading-a-certificate-using-an-api;
   * acme.sh PR #6236 (base64 of PEM); caddy-forticertsync ImportCertificate (base64 of DER on 7.6.6).
   */
  importLocalCertificate(body: LocalImportRegular): Promise<FortiResponse> {
    return this.call('POST', '/monitor/vpn-certificate/local/import', body);
  }

  /**
   * POST /api/v2/monitor/vpn-certificate/ca/import {import_method: "file", scope, file_content}.
   * acme.sh PR #6236 upload_ca_cert (-328 = exists); Fortinet ansible fortios_monitor "import.vpn-certificate.ca".
   */
  importCaCertificate(body: CaImportFile): Promise<FortiResponse> {
    return this.call('POST', '/monitor/vpn-certificate/ca/import', body);
  }
}
