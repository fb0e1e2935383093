/**
 * SonicOS API (6.5 / 7.x): one method per call, no business logic. Facts and sources:
 * ../shared/vendor-apis.md §3.
 *
 * Login is `POST /api/sonicos/auth` (Basic header, or a CHAP digest in the body); every later call
 * rides the session cookie the login set, as SonicWall's own tooling does with a cookie jar
 * (sonicwall/sonicos-automation sonicos/api.py `create_admin_session`). Methods return the HTTP status,
 * the parsed body and its `status.info[0]` (the §3.2 envelope); interpreting them is the deployer's job.
 * Transport failures arrive as ClassifiedErrors from device-http.
 */
import type { DeviceHttp, DeviceResponse } from '../device-http';

/** One entry of `status.info` (§3.2). */
export interface SonicInfo {
  level?: string;
  code?: string;
  message?: string;
  /** e.g. `API_AUTH_PASSWORD_UPDATE` on a first login (§3.1). */
  auth_code?: string;
}

export interface SonicResponse {
  status: number;
  /** The JSON body, or undefined when there was none or it was not a JSON object (e.g. the empty 401 of a Digest-only appliance). */
  body?: Record<string, unknown>;
  /** `status.success` of the envelope, when present. */
  success?: boolean;
  /** `status.info[0]`, when present. */
  info?: SonicInfo;
}

const API = '/api/sonicos';
/** SonicWall's official tooling sends these on every call (vendor-apis.md §3.1). */
const HEADERS = { accept: 'application/json', 'accept-encoding': 'application/json', charset: 'UTF-8' };

/**
 * Path segments as SonicOS expects them (§3.3, §3.6 pitfall 4): spaces become %20 and "//" becomes
 * %2f%2f, as SonicWall's own API test harness encodes names, passwords and FTP URLs. Everything else
 * is passed as is, so callers must only use characters that need no encoding (CertFleet generates
 * names and PFX passwords that way, and the descriptor restricts FTP user names and passwords).
 */
export const sonicPathSegment = (value: string): string => value.replace(/ /g, '%20').replace(/\/\//g, '%2f%2f');

function parse(response: DeviceResponse): SonicResponse {
  const body = typeof response.json === 'object' && response.json !== null && !Array.isArray(response.json) ? (response.json as Record<string, unknown>) : undefined;
  const status = body?.['status'];
  let success: boolean | undefined;
  let info: SonicInfo | undefined;
  if (typeof status === 'object' && status !== null) {
    const s = status as Record<string, unknown>;
    if (typeof s['success'] === 'boolean') success = s['success'];
    const first: unknown = Array.isArray(s['info']) ? s['info'][0] : undefined;
    if (typeof first === 'object' && first !== null) {
      const f = first as Record<string, unknown>;
      info = {};
      for (const key of ['level', 'code', 'message', 'auth_code'] as const) if (typeof f[key] === 'string') info[key] = f[key];
    }
  }
  return { status: response.status, ...(body ? { body } : {}), ...(success !== undefined ? { success } : {}), ...(info ? { info } : {}) };
}

export class SonicWallClient {
  private cookie: string | undefined;

  constructor(private readonly http: DeviceHttp) {}

  /** True while a login has set a session cookie that no logout has cleared. */
  get hasSession(): boolean {
    return this.cookie !== undefined;
  }

  private async call(method: string, path: string, options: { json?: unknown; headers?: Record<string, string>; bytes?: Buffer; timeoutMs?: number } = {}): Promise<SonicResponse> {
    const response = await this.http.request(method, `${API}${path}`, {
      headers: { ...HEADERS, ...(this.cookie ? { cookie: this.cookie } : {}), ...options.headers },
      ...(options.json !== undefined ? { json: options.json } : {}),
      ...(options.bytes ? { bytes: options.bytes } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    return parse(response);
  }

  /** Keeps the cookies a login answer set (name=value pairs only), for every later call. */
  private async login(json: Record<string, unknown>, headers: Record<string, string> = {}): Promise<SonicResponse> {
    const response = await this.http.request('POST', `${API}/auth`, { headers: { ...HEADERS, ...headers }, json });
    const result = parse(response);
    if (response.status === 200) {
      const cookies = response.headers.getSetCookie().map((c) => c.split(';')[0]?.trim() ?? '').filter((c) => c.includes('='));
      this.cookie = cookies.length > 0 ? cookies.join('; ') : undefined;
    }
    return result;
  }

  /**
   * POST /api/sonicos/auth with `Authorization: Basic` and `{"override": …}`.
   * [sw-doc] Client Authentication; sonicwall/sonicos-automation sonicos/api.py create_admin_session.
   */
  loginBasic(username: string, password: string, override: boolean): Promise<SonicResponse> {
    const basic = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
    return this.login({ override }, { authorization: `Basic ${basic}` });
  }

  /**
   * GET /api/sonicos/auth → `{id, challenge}` (hex strings) for a CHAP login.
   * sonicwall/sonicos-automation sonicos/api.py create_admin_session_chap.
   */
  chapChallenge(): Promise<SonicResponse> {
    return this.call('GET', '/auth');
  }

  /**
   * POST /api/sonicos/auth `{override, id, user, digest}`, digest = MD5(id ‖ password ‖ challenge) in hex,
   * id and challenge taken as the bytes their hex strings encode. Same source as chapChallenge.
   */
  loginChap(body: { override: boolean; id: string; user: string; digest: string }): Promise<SonicResponse> {
    return this.login(body);
  }

  /** DELETE /api/sonicos/auth: ends the session; the device drops uncommitted changes ([sw-doc]). */
  async logout(): Promise<SonicResponse> {
    const result = await this.call('DELETE', '/auth');
    this.cookie = undefined;
    return result;
  }

  /** Forgets the session cookie without a call (the device ended the session itself). */
  forgetSession(): void {
    this.cookie = undefined;
  }

  /**
   * GET /api/sonicos/version → `firmware_version` ("SonicOS 7.0.1-5145"), `model`, `serial_number`.
   * sonicwall/sonicos-automation credential_reset (get_request '/api/sonicos/version').
   */
  version(): Promise<SonicResponse> {
    return this.call('GET', '/version');
  }

  /** GET /api/sonicos/reporting/certificates ([sw-oas]; SonicWall's API test harness CertificateApi.show_certs). */
  listCertificates(): Promise<SonicResponse> {
    return this.call('GET', '/reporting/certificates');
  }

  /**
   * POST /api/sonicos/certificates/import/cert-key-pair-ftp/name/{NAME}/password/{PASSWD}/url/{URL}/:
   * the firewall downloads the PKCS#12 from `ftpUrl` (ftp://user:pass@host:port/dir/file) itself.
   * SonicWall's API test harness CertificateApi.import_cert_keypair_ftp (vendor-apis.md §3.3).
   */
  importCertKeyPairFtp(name: string, pfxPassword: string, ftpUrl: string, timeoutMs?: number): Promise<SonicResponse> {
    const path = `/certificates/import/cert-key-pair-ftp/name/${sonicPathSegment(name)}/password/${sonicPathSegment(pfxPassword)}/url/${sonicPathSegment(ftpUrl)}/`;
    return this.call('POST', path, timeoutMs ? { timeoutMs } : {});
  }

  /** DELETE /api/sonicos/certificates/name/{NAME} (refused while bound, §3.6 pitfall 2). [sw-oas]; harness delete_cert. */
  deleteCertificate(name: string): Promise<SonicResponse> {
    return this.call('DELETE', `/certificates/name/${sonicPathSegment(name)}`);
  }

  /** GET /api/sonicos/administration/global (holds `web_management.certificate`, §3.4). */
  getAdministration(): Promise<SonicResponse> {
    return this.call('GET', '/administration/global');
  }

  /**
   * PUT /api/sonicos/administration/global with the whole object read before (read-modify-write, as
   * SonicWall's API test harness AdminApi.edit_admin does). [sw-oas] administration_web_management_certificate_*.
   */
  putAdministration(body: Record<string, unknown>): Promise<SonicResponse> {
    return this.call('PUT', '/administration/global', { json: body });
  }

  /** GET /api/sonicos/ssl-vpn/server/base (holds `ssl_vpn.server.certificate`, §3.4). */
  getSslVpnServer(): Promise<SonicResponse> {
    return this.call('GET', '/ssl-vpn/server/base');
  }

  /** PUT /api/sonicos/ssl-vpn/server/base ([sw-oas] ssl_vpn_server_ssl_vpn_server_certificate oneOf use_self_signed|name). */
  putSslVpnServer(body: Record<string, unknown>): Promise<SonicResponse> {
    return this.call('PUT', '/ssl-vpn/server/base', { json: body });
  }

  /** POST /api/sonicos/config/pending `{}`: commits this session's staged changes ([sw-doc] Commit Pending Configuration). */
  commitPending(): Promise<SonicResponse> {
    return this.call('POST', '/config/pending', { json: {} });
  }

  /** DELETE /api/sonicos/config/pending: discards this session's staged changes ([sw-doc]). */
  discardPending(): Promise<SonicResponse> {
    return this.call('DELETE', '/config/pending');
  }
}
