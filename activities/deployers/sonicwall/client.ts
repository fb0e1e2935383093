/**
 * SonicOS API (6.5 / 7.x): one method per call, no business logic. Facts and sources:
 * docs/vendors/sonicwall.md.
 *
 * Login is `POST /api/sonicos/auth` (Basic header, or a CHAP digest in the body). The session is not a
 * cookie: no public client shows SonicOS setting one (sonicwall/sonicos-automation sonicos/api.py keeps
 * a requests.Session but sends nothing on later calls; hbonath/sonicapi and aidrak/CertSync send Basic
 * on every request). With "session security" on (the SonicOS 7 default, API guide "Session
 * Security"), every later call carries an RFC 7616 Digest header (./digest.ts); with it off, the
 * firewall ties the session to the client (ASSUMPTION from the same page: session security exists to
 * stop requests "from malware that can spoof the client's IP address"). A cookie that does come back
 * is kept and sent, never relied on. Methods return the HTTP status, the parsed body and its
 * `status.info[0]` (the SonicOS status envelope); interpreting them is the deployer's job. Transport failures
 * arrive as ClassifiedErrors from device-http.
 */
import { FormData, type DeviceHttp, type DeviceResponse } from '../device-http';
import { DigestSigner, nextNonceOf, parseDigestChallenges } from './digest';

/** One entry of `status.info` (docs/vendors/sonicwall.md). */
export interface SonicInfo {
  level?: string;
  code?: string;
  message?: string;
  /** e.g. `API_AUTH_PASSWORD_UPDATE` on a first login (docs/vendors/sonicwall.md). */
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
  /** The body when it is a top-level JSON array (the 7.0.1 OpenAPI certificate list). */
  list?: unknown[];
}

/** Whether the firewall asks for a Digest header on every call after the login. */
export type SessionSecurity = 'on' | 'off' | 'unknown';

const API = '/api/sonicos';
/** SonicWall's official tooling sends these on every call (docs/vendors/sonicwall.md). */
const HEADERS = { accept: 'application/json', 'accept-encoding': 'application/json', charset: 'UTF-8' };

/**
 * Path segments as SonicOS expects them (docs/vendors/sonicwall.md): spaces become %20 and "//" becomes
 * %2f%2f, as SonicWall's own API test harness encodes names, passwords and FTP URLs. Everything else
 * is passed as is, so callers must only use characters that need no encoding (CertFleet generates
 * names and PFX passwords that way, and the descriptor restricts FTP user names and passwords).
 */
export const sonicPathSegment = (value: string): string => value.replace(/ /g, '%20').replace(/\/\//g, '%2f%2f');

function parse(response: DeviceResponse): SonicResponse {
  const body =
    typeof response.json === 'object' && response.json !== null && !Array.isArray(response.json)
      ? (response.json as Record<string, unknown>)
      : undefined;
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
      for (const key of ['level', 'code', 'message', 'auth_code'] as const)
        if (typeof f[key] === 'string') info[key] = f[key];
    }
  }
  const list = Array.isArray(response.json) ? (response.json as unknown[]) : undefined;
  return {
    status: response.status,
    ...(body ? { body } : {}),
    ...(list ? { list } : {}),
    ...(success !== undefined ? { success } : {}),
    ...(info ? { info } : {}),
  };
}

interface CallOptions {
  json?: unknown;
  headers?: Record<string, string>;
  bytes?: Buffer;
  multipart?: FormData;
  timeoutMs?: number;
}

export class SonicWallClient {
  private loggedIn = false;
  private cookie: string | undefined;
  private signer: DigestSigner | undefined;
  private security: SessionSecurity = 'unknown';
  private credentials: { username: string; password: string } | undefined;

  constructor(private readonly http: DeviceHttp) {}

  /** True from a successful login until logout (or forgetSession); never derived from a cookie. */
  get hasSession(): boolean {
    return this.loggedIn;
  }

  /** 'on' once the firewall asked for Digest on a call, 'off' once a call passed without it. */
  get sessionSecurity(): SessionSecurity {
    return this.security;
  }

  /** Digest algorithm in use, when session security is on. */
  get digestAlgorithm(): string | undefined {
    return this.signer?.algorithm;
  }

  private send(
    method: string,
    uri: string,
    options: CallOptions,
    signer: DigestSigner | undefined,
  ): Promise<DeviceResponse> {
    return this.http.request(method, uri, {
      headers: {
        ...HEADERS,
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(signer ? { authorization: signer.sign(method, uri) } : {}),
        ...options.headers,
      },
      ...(options.json !== undefined ? { json: options.json } : {}),
      ...(options.bytes ? { bytes: options.bytes } : {}),
      ...(options.multipart ? { multipart: options.multipart } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
  }

  /**
   * One management call. A 401 Digest challenge within a session (first call after a non-digest
   * login, or a stale nonce) is answered once with the session's credentials ("Operation After
   * Non-Digest Authentication"); a `nextnonce` is adopted for the next call ("Nonce Resetting").
   */
  private async call(method: string, path: string, options: CallOptions = {}): Promise<SonicResponse> {
    const uri = `${API}${path}`;
    let response = await this.send(method, uri, options, this.signer);
    if (response.status === 401 && this.loggedIn && this.credentials) {
      const challenge = parseDigestChallenges(response.headers.get('www-authenticate'))[0];
      if (challenge && (!this.signer || challenge.stale)) {
        if (this.signer) this.signer.renew(challenge);
        else this.signer = new DigestSigner(this.credentials.username, this.credentials.password, challenge);
        this.security = 'on';
        response = await this.send(method, uri, options, this.signer);
      }
    }
    this.absorb(response);
    return parse(response);
  }

  private absorb(response: DeviceResponse): void {
    const next = nextNonceOf(response.headers.get('authentication-info'));
    if (next && this.signer) this.signer.renew({ nonce: next });
    if (this.loggedIn && !this.signer && response.status !== 401) this.security = 'off';
  }

  /**
   * Keeps what a successful login hands out: the proprietary `Authentication-Info` Digest parameters
   * ("Operation After Non-Digest Authentication") and any cookie (kept, never required).
   */
  private async login(
    json: Record<string, unknown>,
    credentials: { username: string; password: string },
    headers: Record<string, string> = {},
  ): Promise<SonicResponse> {
    this.reset();
    const response = await this.http.request('POST', `${API}/auth`, { headers: { ...HEADERS, ...headers }, json });
    const result = parse(response);
    if (response.status === 200 && result.success !== false) {
      this.loggedIn = true;
      this.credentials = credentials;
      const cookies = response.headers
        .getSetCookie()
        .map((c) => c.split(';')[0]?.trim() ?? '')
        .filter((c) => c.includes('='));
      this.cookie = cookies.length > 0 ? cookies.join('; ') : undefined;
      const offered = parseDigestChallenges(response.headers.get('authentication-info'))[0];
      if (offered) {
        this.signer = new DigestSigner(credentials.username, credentials.password, offered);
        this.security = 'on';
      }
    }
    return result;
  }

  private reset(): void {
    this.loggedIn = false;
    this.cookie = undefined;
    this.signer = undefined;
    this.credentials = undefined;
  }

  /**
   * POST /api/sonicos/auth with `Authorization: Basic` and `{"override": …}`.
   * [sw-doc] Client Authentication; sonicwall/sonicos-automation sonicos/api.py create_admin_session.
   */
  loginBasic(username: string, password: string, override: boolean): Promise<SonicResponse> {
    const basic = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
    return this.login({ override }, { username, password }, { authorization: `Basic ${basic}` });
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
  loginChap(
    body: { override: boolean; id: string; user: string; digest: string },
    password: string,
  ): Promise<SonicResponse> {
    return this.login(body, { username: body.user, password });
  }

  /** DELETE /api/sonicos/auth: ends the session; the device drops uncommitted changes ([sw-doc]). */
  async logout(): Promise<SonicResponse> {
    try {
      return await this.call('DELETE', '/auth');
    } finally {
      this.reset();
    }
  }

  /**
   * DELETE /api/sonicos/auth before a login, to end a session a crashed attempt left behind. The API
   * guide ("Authentication Methods") says to log out with DELETE "with bearer token or user
   * name/password"; without a session of our own the firewall answers the Digest challenge, which
   * this answers with the account's credentials. ASSUMPTION (no source shows it): that ends the API
   * session of this account; with session security off, the session of this client. Best effort.
   */
  async endLeftoverSession(username: string, password: string): Promise<SonicResponse> {
    const uri = `${API}/auth`;
    let response = await this.send('DELETE', uri, {}, undefined);
    const challenge =
      response.status === 401 ? parseDigestChallenges(response.headers.get('www-authenticate'))[0] : undefined;
    if (challenge) response = await this.send('DELETE', uri, {}, new DigestSigner(username, password, challenge));
    return parse(response);
  }

  /** Forgets the session without a call (the device ended the session itself). */
  forgetSession(): void {
    this.reset();
  }

  /**
   * GET /api/sonicos/version → `firmware_version` ("SonicOS 7.0.1-5145"), `model`, `serial_number`.
   * sonicwall/sonicos-automation credential_reset (get_request '/api/sonicos/version').
   */
  version(): Promise<SonicResponse> {
    return this.call('GET', '/version');
  }

  /**
   * GET /api/sonicos/reporting/certificates: a top-level JSON array of `{certificate, type, validated,
   * expires_on, expired_on}`, no serial (7.0.1 OpenAPI `show_status_certs_list`, generalsle1n/SonicWallGen7
   * api/openapi.yaml; docs/vendors/sonicwall.md).
   */
  listCertificates(): Promise<SonicResponse> {
    return this.call('GET', '/reporting/certificates');
  }

  /**
   * GET /api/sonicos/reporting/certificates/name/{NAME}: one certificate's details, an object with
   * `certificate`, `certificate_serial_number`, `subject_distinguished_name`, … (7.0.1 OpenAPI
   * `show_status_cert_detail`, same source).
   */
  certificateDetail(name: string): Promise<SonicResponse> {
    return this.call('GET', `/reporting/certificates/name/${sonicPathSegment(name)}`);
  }

  /**
   * PUT /api/sonicos/import/certificates/cert-key-pair/name/{NAME}/password/{PASSWD} with the PKCS#12
   * as multipart/form-data: a `certPasswd` part and the file part (7.0.1 OpenAPI path, body schema
   * left empty; the multipart shape is SonicWall's API test code, docs/vendors/sonicwall.md).
   * SonicOS 7 only: 6.5 has no upload path.
   */
  importCertKeyPair(name: string, pfxPassword: string, pfx: Buffer, timeoutMs?: number): Promise<SonicResponse> {
    const form = new FormData();
    form.append('certPasswd', pfxPassword);
    form.append('file', new Blob([new Uint8Array(pfx)], { type: 'application/x-pkcs12' }), `${name}.p12`);
    const path = `/import/certificates/cert-key-pair/name/${sonicPathSegment(name)}/password/${sonicPathSegment(pfxPassword)}`;
    return this.call('PUT', path, { multipart: form, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /**
   * POST /api/sonicos/certificates/import/cert-key-pair-ftp/name/{NAME}/password/{PASSWD}/url/{URL}/:
   * the firewall downloads the PKCS#12 from `ftpUrl` (ftp://user:pass@host:port/dir/file) itself.
   * SonicOS 6.5 only (no upload path there). Not in the 7.0.1 OpenAPI; its only source is SonicWall's
   * API test harness CertificateApi.import_cert_keypair_ftp (docs/vendors/sonicwall.md).
   */
  importCertKeyPairFtp(name: string, pfxPassword: string, ftpUrl: string, timeoutMs?: number): Promise<SonicResponse> {
    const path = `/certificates/import/cert-key-pair-ftp/name/${sonicPathSegment(name)}/password/${sonicPathSegment(pfxPassword)}/url/${sonicPathSegment(ftpUrl)}/`;
    return this.call('POST', path, timeoutMs ? { timeoutMs } : {});
  }

  /** DELETE /api/sonicos/certificates/name/{NAME} (refused while bound). [sw-oas]; harness delete_cert. */
  deleteCertificate(name: string): Promise<SonicResponse> {
    return this.call('DELETE', `/certificates/name/${sonicPathSegment(name)}`);
  }

  /** GET /api/sonicos/administration/global (holds `web_management.certificate`). */
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

  /** GET /api/sonicos/ssl-vpn/server/base (holds `ssl_vpn.server.certificate`). */
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

  /** GET /api/sonicos/config/pending: this session's staged changes ([sw-doc] Commit Pending Configuration). */
  pendingChanges(): Promise<SonicResponse> {
    return this.call('GET', '/config/pending');
  }

  /** DELETE /api/sonicos/config/pending: discards this session's staged changes ([sw-doc]). */
  discardPending(): Promise<SonicResponse> {
    return this.call('DELETE', '/config/pending');
  }
}
