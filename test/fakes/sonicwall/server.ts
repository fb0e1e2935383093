/**
 * A fake SonicWall: the SonicOS API subset CertFleet uses, over real HTTPS on 127.0.0.1. Sources:
 * docs/vendors/sonicwall.md (calls, sources, assumptions), the SonicOS 7.0 API guide pages cited
 * inline, SonicWall's sonicwall/sonicos-automation sonicos/api.py (@460e34d), the 7.0.1 OpenAPI
 * document (generalsle1n/SonicWallGen7 api/openapi.yaml @b6c0446). Every behaviour names its source
 * or says ASSUMPTION; docs/vendors/sonicwall.md lists the assumptions.
 * - login `POST /api/sonicos/auth` with `Authorization: Basic` and a JSON body `{override}`, or CHAP:
 *   `GET /api/sonicos/auth` → `{id, challenge}` (hex), then `POST {override, id, user, digest}` with
 *   digest = hex MD5 over the bytes of id ‖ UTF-8 password ‖ the bytes of challenge (sonicos-automation
 *   create_admin_session / create_admin_session_chap);
 * - NO session cookie (docs/vendors/sonicwall.md). Session security ON by default (API guide "Session Security"): every
 *   later call needs an RFC 7616 Digest header (qop=auth, SHA-256 and/or MD5, a nonce count that must
 *   go up); a call without one gets 401 with a `WWW-Authenticate` challenge ("Operation After
 *   Non-Digest Authentication"); the login's 200 announces the parameters in `Authentication-Info`
 *   (same page); after `maxNonceUse` uses a reply carries `nextnonce` ("Nonce Resetting"). Session
 *   security OFF (`sessionSecurity: false`): the session is the client address's (ASSUMPTION);
 * - `DELETE /api/sonicos/auth` logs out ("Authentication Methods": log out "with bearer token or user
 *   name/password"); with a valid Digest for a user and no session of that client it still ends the
 *   user's API session (ASSUMPTION; how CertFleet cleans up after a crashed attempt);
 * - ONE session at a time ("Client Authentication": a single administrator manages at a time, a single
 *   API session is allowed): a login while another session is open is refused, unless it asks for
 *   `override: true` (sonicos-automation; `auth` schema `override` in the OpenAPI), which ends the other
 *   session (its next call fails, its pending changes are gone); sessions end after an idle timeout
 *   (API guide: "the session is closed after a time of inactivity"); `apiDisabled` answers everything
 *   403 `E_DISABLED` "Service disabled." and `basicAuth: false` answers Basic with an empty 401
 *   (sonicos-automation); a first login can carry `auth_code: API_AUTH_PASSWORD_UPDATE` (same);
 * - the status envelope `{"status":{"success":…,"info":[{"level","code","message"}]}}` (OpenAPI
 *   `api_status`) on every reply except successful list/detail reads, which are bare (OpenAPI);
 * - every config change (import, binding, delete) is PENDING in its session until `POST
 *   /api/sonicos/config/pending`; `GET` lists, `DELETE` discards; logout, timeout or pre-emption drop
 *   them (API guide "Commit Pending Configuration");
 * - import, SonicOS 7: `PUT /api/sonicos/import/certificates/cert-key-pair/name/{NAME}/password/{PASSWD}`
 *   with a multipart body (`certPasswd` + file); SonicOS 6.x (firmware option): only the FTP pull
 *   `POST /api/sonicos/certificates/import/cert-key-pair-ftp/name/{NAME}/password/{PASSWD}/url/{URL}/`
 *   with the URL path-encoded (' ' → %20, '//' → %2f%2f) as SonicWall's API test harness does; the
 *   fake downloads the file with basic-ftp and opens the PKCS#12 (docs/vendors/sonicwall.md);
 * - `GET /api/sonicos/reporting/certificates[/imported]` → a top-level array of `{certificate, type,
 *   validated, expires_on, expired_on}`; `/reporting/certificates/name/{NAME}` → one
 *   `show_status_cert_detail` object (OpenAPI); `DELETE /api/sonicos/certificates/name/{NAME}`
 *   (refused while bound); `GET/PUT /api/sonicos/administration/global` and
 *   `/ssl-vpn/server/base` (OpenAPI schemas); `GET /api/sonicos/version` (sonicos-automation).
 *
 * TLS: the management listener presents the COMMITTED web management certificate (idle keep-alive
 * connections are closed when it changes, as the HTTPS daemon restarts: ASSUMPTION); a second
 * listener plays the SSL-VPN portal with the committed SSL-VPN certificate. Both send the other
 * certificates of the imported PKCS#12 after the leaf.
 *
 * ASSUMPTIONS (kept here so tests do not mistake them for SonicOS facts):
 * - the refused second login: HTTP 401, code `E_BUSY`, message naming the holder
 *   ("Another administrator is logged in: admin (GUI from 192.0.2.10). …"): no source documents it;
 * - wrong credentials and calls without a (live) session: 401 `E_UNAUTHORIZED`; a pre-empted session's
 *   next call says "Session was pre-empted by another administrator (<user>)."; an expired one
 *   "Session expired."; the Digest realm "admin-users@127.0.0.1" follows the guide's example;
 * - sessions idle for `idleTimeoutMs` (default 5 min) end;
 * - error codes: `E_NOT_FOUND` (404), `E_NOT_SUPPORTED` (405), `E_INVALID` (400, bad body or value),
 *   `E_EXISTS` (import under a name in use), `E_IN_USE` (delete of a bound certificate),
 *   `E_FTP_DOWNLOAD`, `E_CERT_PASSWORD`, `E_CERT_FORMAT` (import failures), all with HTTP 400 unless noted;
 * - detail values (serial as colon-separated hex, dates as OpenSSL prints them): the OpenAPI types
 *   them only as strings; built-in certificates are not listed;
 * - `GET config/pending` answers `{pending: [{action, object, name?}]}` with the envelope;
 * - GETs within a session show its own pending changes (a candidate configuration);
 * - `version` answers `{firmware_version, model, serial_number, rom_version, system_uptime}`
 *   (the first three as sonicos-automation reads them);
 * - certificate names: 1 to 64 characters of letters, digits, space, '.', '_', '-';
 * - `ssl_vpn.server.port` holds the SSL-VPN listener's port.
 */
import { createHash, createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import { Writable } from 'node:stream';
import * as tls from 'node:tls';
import { Client as FtpClient } from 'basic-ftp';
import { Response } from 'undici';
import type { VerifyEndpoint } from '../../../activities/deployers/types';
import type { FakeDeviceView } from '../../support/deployer-contract';
import { Pkcs12ReadError } from '../../support/pkcs12-forge';
import { openPkcs12 } from './pkcs12';
import { sonicwallSelfSigned } from './self-signed';
import { listenOnLoopback, sendJsonReply, statelessPattern, tlsServicePort } from '../../support/fake-server-io';

export interface FakeSonicWallOptions {
  /** Administrators: name → password. */
  users: Record<string, string>;
  /** The SonicOS API is off: every call answers 403 E_DISABLED "Service disabled.". */
  apiDisabled?: boolean;
  /** Basic authentication allowed (default true); off answers Basic with an empty 401. */
  basicAuth?: boolean;
  /** CHAP allowed (default true). */
  chapAuth?: boolean;
  /** Idle time after which a session ends and its pending changes are dropped. Default 5 minutes. */
  idleTimeoutMs?: number;
  /** Users whose logins answer `auth_code: API_AUTH_PASSWORD_UPDATE`. */
  passwordUpdateRequired?: string[];
  /** Old firmware: refuse PKCS#12 files whose key is PBES2/AES-encrypted (3DES only). */
  legacyPkcs12Only?: boolean;
  /** Default 'SonicOS 7.0.1-5145'. */
  firmware?: string;
  /** Default 'TZ 370'. */
  model?: string;
  /** Default '2CB8ED694F30'. */
  serial?: string;
  /** How long the fake waits for the FTP server during an import. Default 10 s. */
  ftpTimeoutMs?: number;
  /**
   * "Session security" (SonicOS 7 API guide, page "Session Security": "enabled by default"): every
   * call after the login needs an RFC 7616 Digest header with an incrementing nonce count. Default
   * true. Off: the session is tied to the client's address (ASSUMPTION, see the header comment).
   */
  sessionSecurity?: boolean;
  /** Digest algorithms offered, in order ("Authentication Methods": SHA256 or MD5). Default ['SHA-256', 'MD5']. */
  digestAlgorithms?: ('SHA-256' | 'MD5')[];
  /**
   * A successful Basic/CHAP login announces the Digest parameters in `Authentication-Info`
   * ("Operation After Non-Digest Authentication", which calls it optional for the client). Default
   * true; false makes the client take the other documented road: a first call without a header gets
   * the 401 challenge.
   */
  announceDigest?: boolean;
  /** "Maximum nonce use" ("Authentication Methods": 10 by default); then `nextnonce` ("Nonce Resetting"). 0 = never. */
  maxNonceUse?: number;
  /**
   * TEST SETUP (not a device behaviour): start with this certificate imported and bound to Web
   * Management, as an admin would have done in the GUI (e.g. one issued by the customer's CA, for
   * targets trusted through that CA). Default: the self-signed one.
   */
  webManagementCertificate?: { name: string; certPem: string; keyPem: string; chainPems?: string[] };
}

/** A certificate reference exactly as SonicOS writes it (docs/vendors/sonicwall.md). */
export type FakeCertificateRef = { name: string } | { use_self_signed: true };

export interface FakeSonicWallCall {
  method: string;
  /** Path without query; import passwords and the FTP URL's password replaced by [omitted]. */
  path: string;
  status: number;
  /** `status.info[0].code` of the reply. */
  code: string;
  /** User of the session (or of the login). */
  user?: string;
  /** How the call authenticated: a login (basic/chap), a Digest header (session security on), the client's address (off), or not at all. */
  auth: 'basic' | 'chap' | 'digest' | 'address' | 'none';
  /** A `Cookie` header came with the call (SonicOS sets none; recorded to catch a client that relies on one). */
  cookie?: boolean;
  /** `override` of a login body. */
  override?: boolean;
}

export interface FakeSonicWallCertificate {
  name: string;
  fingerprintSha256: string;
  serialHex: string;
  /** Other certificates of the imported PKCS#12 (served after the leaf). */
  chainLength: number;
  via: 'ftp' | 'upload';
}

export interface FakeSonicWallSessionInfo {
  user: string;
  source: 'api' | 'gui';
  state: 'active' | 'logout' | 'timeout' | 'preempted';
  pending: number;
}

export interface FakeSonicWallFailure {
  status: number;
  /** Default 'E_ERROR'. */
  code?: string;
  /** Default 'Internal error.'. */
  message?: string;
  /** Only requests with this method; default any. */
  method?: string;
  /** How many matching requests fail; default 1. */
  times?: number;
  /** Process the request first (its changes happen), then fail the reply. */
  afterProcessing?: boolean;
  /** Destroy the connection instead of answering. */
  dropConnection?: boolean;
}

export interface FakeFtpPull {
  /** ftp://user:[omitted]@host:port/path */
  url: string;
  ok: boolean;
  error?: string;
}

export interface HeldSession {
  /** Ends the session as a logout (its pending changes are dropped). */
  release: () => void;
  state(): FakeSonicWallSessionInfo['state'];
}

export interface FakeSonicWall {
  host: string;
  port: number;
  /** TLS endpoints: management (web management certificate) and the SSL-VPN portal. */
  endpoints: { management: VerifyEndpoint; sslVpn: VerifyEndpoint };
  /** Every request, in order (no passwords, digests, cookies or key material). */
  calls: FakeSonicWallCall[];
  /** Every FTP download the fake attempted for an import. */
  ftpPulls: FakeFtpPull[];
  /** Successful API logins per user. */
  loginsByUser: Record<string, number>;
  /** SHA-256 (lowercase hex) of the built-in self-signed certificate. */
  managementFingerprint(): string;
  view(): FakeDeviceView;
  /** Sessions open now (expired ones are closed first). */
  activeSessions(): number;
  /** Logins refused because another session was open. */
  refusedLogins(): number;
  /** The most sessions ever open at the same time. */
  maxConcurrentSessions(): number;
  /** Every session so far. */
  sessions(): FakeSonicWallSessionInfo[];
  /** Pending changes that were dropped (logout, timeout, pre-emption) instead of being committed. */
  droppedChanges(): number;
  /** Committed bindings. */
  bindings(): { webManagement: FakeCertificateRef; sslVpn: FakeCertificateRef };
  /** Committed imported certificates. */
  certificates(): FakeSonicWallCertificate[];
  /**
   * Opens a session as another administrator in the web UI, optionally ending it after `ms`. Like a
   * login it is refused (throws) while another session is open, unless `override` pre-empts that one.
   */
  holdSession(input?: { user?: string; address?: string; ms?: number; override?: boolean }): HeldSession;
  /** Runs `hook` just before the next request whose path matches is processed (to script races). */
  /** Runs `hook` before the next matching request is handled; an async hook holds the request until it settles. */
  beforeNext(path: RegExp, hook: () => void | Promise<void>): void;
  /** The next `times` requests whose path (and method) match fail as described. */
  failNext(path: RegExp, failure: FakeSonicWallFailure): void;
  /** On: commits are accepted but the listeners keep serving what they served. Off: they catch up. */
  serveStale(on: boolean): void;
  /**
   * Test script, not a SonicOS behaviour: the next `POST config/pending` answers success but commits
   * nothing (the changes stay pending), to check that the client reads the pending list back.
   */
  swallowNextCommit(): void;
  close: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Configuration model

interface StoredCert {
  name: string;
  leaf: X509Certificate;
  key: KeyObject;
  chain: X509Certificate[];
  fingerprint: string;
  via: 'ftp' | 'upload';
}

interface DeviceConfig {
  certificates: Map<string, StoredCert>;
  /** `{administration: {…}}` as GET returns it. */
  administration: Record<string, unknown>;
  /** `{ssl_vpn: {server: {…}}}` as GET returns it. */
  sslVpn: Record<string, unknown>;
}

type PendingChange =
  | { kind: 'import'; cert: StoredCert }
  | { kind: 'delete'; name: string }
  | { kind: 'administration'; body: Record<string, unknown> }
  | { kind: 'ssl-vpn'; body: Record<string, unknown> };

interface Session {
  id: string;
  user: string;
  source: 'api' | 'gui';
  address: string;
  lastSeen: number;
  pending: PendingChange[];
  ended?: 'logout' | 'timeout' | 'preempted';
  preemptedBy?: string;
  /** Held by the test (a human in the GUI): never idles out. */
  held: boolean;
}

class SonicError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly emptyBody = false,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fingerprintOf = (x509: X509Certificate): string => x509.fingerprint256.replace(/:/g, '').toLowerCase();
const NAME = /^[A-Za-z0-9 _.-]{1,64}$/;

/** Objects merge key by key; anything else (arrays, scalars and `certificate`, a oneOf) is replaced. */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] =
      key !== 'certificate' && isObject(value) && isObject(current) ? merge(current, value) : structuredClone(value);
  }
  return out;
}

function certificateOf(section: Record<string, unknown>, path: string[]): unknown {
  let current: unknown = section;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return current;
}

/** The recorded path: import passwords and the FTP URL's password never appear. */
export function redactPath(rawPath: string): string {
  return rawPath
    .replace(/\/password\/[^/]+/g, '/password/[omitted]')
    .replace(/(ftp:(?:%2f|\/){2}[^:@/]*):[^@/]*@/gi, '$1:[omitted]@');
}

const WEB_PATH = ['administration', 'web_management', 'certificate'];
const VPN_PATH = ['ssl_vpn', 'server', 'certificate'];

function refOf(value: unknown): FakeCertificateRef | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length === 1 && typeof value['name'] === 'string' && value['name'] !== '') return { name: value['name'] };
  if (keys.length === 1 && value['use_self_signed'] === true) return { use_self_signed: true };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Server

export async function startFakeSonicWall(opts: FakeSonicWallOptions): Promise<FakeSonicWall> {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 5 * 60_000;
  const firmware = opts.firmware ?? 'SonicOS 7.0.1-5145';
  const model = opts.model ?? 'TZ 370';
  const serial = opts.serial ?? '2CB8ED694F30';
  /** SonicOS 7 or later (upload import, no FTP import); 6.x the other way round (docs/vendors/sonicwall.md). */
  const gen7 = Number(/(\d+)\./.exec(firmware)?.[1] ?? '7') >= 7;
  const builtIn = sonicwallSelfSigned();
  const builtInX509 = new X509Certificate(builtIn.certPem);

  const adminSection: Record<string, unknown> = {
    firewall_name: serial,
    idle_logout_time: Math.max(1, Math.round(idleTimeoutMs / 60_000)),
    https_port: 443,
    admin: { name: 'admin', preempt_action: 'goto-non-config', preempt_inactivity_timeout: 10 },
    web_management: {
      allow_http: false,
      certificate: { use_self_signed: true },
      cert_common_name: '192.168.168.168',
      client_certificate_check: false,
      default_table_size: 50,
      refresh_interval: 10,
    },
  };
  const vpnServer: Record<string, unknown> = {
    port: 4433,
    certificate: { use_self_signed: true },
    enable_web_management: false,
    inactivity_timeout: 10,
  };
  const committed: DeviceConfig = {
    certificates: new Map(),
    administration: { administration: adminSection },
    sslVpn: { ssl_vpn: { server: vpnServer } },
  };
  if (opts.webManagementCertificate) {
    const { name, certPem, keyPem, chainPems = [] } = opts.webManagementCertificate;
    const leaf = new X509Certificate(certPem);
    committed.certificates.set(name, {
      name,
      leaf,
      key: createPrivateKey(keyPem),
      chain: chainPems.map((pem) => new X509Certificate(pem)),
      fingerprint: fingerprintOf(leaf),
      via: 'upload',
    });
    (adminSection['web_management'] as Record<string, unknown>)['certificate'] = { name };
  }

  const sessions = new Map<string, Session>();
  const challenges = new Map<string, { challenge: string; expires: number }>();
  const calls: FakeSonicWallCall[] = [];
  const ftpPulls: FakeFtpPull[] = [];
  const loginsByUser: Record<string, number> = {};
  const seenSecrets = new Set<string>(Object.values(opts.users));
  const failRules: { path: RegExp; failure: FakeSonicWallFailure; remaining: number }[] = [];
  const hooks: { path: RegExp; hook: () => void | Promise<void> }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let refused = 0;
  let maxConcurrent = 0;
  let dropped = 0;
  let mutating = 0;
  let stale = false;
  let swallowCommit = false;

  // ------------------------------------------------------------------ sessions
  const active = (): Session[] => [...sessions.values()].filter((s) => !s.ended);

  function end(session: Session, reason: NonNullable<Session['ended']>, by?: string): void {
    if (session.ended) return;
    session.ended = reason;
    if (by) session.preemptedBy = by;
    dropped += session.pending.length;
    session.pending = [];
  }

  /** Ends sessions idle longer than the timeout (SonicOS' "Log out the administrator after inactivity"). */
  function expireIdle(): void {
    const now = Date.now();
    for (const s of active()) if (!s.held && now - s.lastSeen > idleTimeoutMs) end(s, 'timeout');
  }

  function openSession(user: string, source: Session['source'], address: string, held: boolean): Session {
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      user,
      source,
      address,
      lastSeen: Date.now(),
      pending: [],
      held,
    };
    sessions.set(session.id, session);
    maxConcurrent = Math.max(maxConcurrent, active().length);
    return session;
  }

  // ------------------------------------------------------------------ configuration views
  function apply(config: DeviceConfig, change: PendingChange): void {
    if (change.kind === 'import') config.certificates.set(change.cert.name, change.cert);
    else if (change.kind === 'delete') config.certificates.delete(change.name);
    else if (change.kind === 'administration') config.administration = change.body;
    else config.sslVpn = change.body;
  }

  /** The committed configuration with the session's pending changes applied (what its GETs show). */
  function viewOf(session: Session | undefined): DeviceConfig {
    const config: DeviceConfig = {
      certificates: new Map(committed.certificates),
      administration: structuredClone(committed.administration),
      sslVpn: structuredClone(committed.sslVpn),
    };
    for (const change of session?.pending ?? []) apply(config, change);
    return config;
  }

  const boundNames = (config: DeviceConfig): Map<string, string[]> => {
    const uses = new Map<string, string[]>();
    const add = (ref: FakeCertificateRef | undefined, what: string): void => {
      if (ref && 'name' in ref) uses.set(ref.name, [...(uses.get(ref.name) ?? []), what]);
    };
    add(refOf(certificateOf(config.administration, WEB_PATH)), 'Web Management');
    add(refOf(certificateOf(config.sslVpn, VPN_PATH)), 'SSL VPN');
    return uses;
  };

  // ------------------------------------------------------------------ listeners
  /** TEST SWITCH (not device behaviour): serve the bound leaf without its intermediates. */
  let leafOnly = false;
  /** The bound certificate followed by exactly the chain imported with it (the PKCS#12's other certificates). */
  function contextFor(ref: FakeCertificateRef | undefined): tls.SecureContextOptions {
    const cert = ref && 'name' in ref ? committed.certificates.get(ref.name) : undefined;
    if (!cert) return { cert: builtIn.certPem, key: builtIn.keyPem };
    return {
      cert: [cert.leaf.toString(), ...(leafOnly ? [] : cert.chain.map((c) => c.toString()))].join(''),
      key: cert.key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    };
  }

  let servedWeb = fingerprintOf(builtInX509);
  const management = https.createServer({ ...contextFor(undefined), keepAliveTimeout: 5_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJsonReply(res, 500, envelope(false, 'E_ERROR', `Internal error: ${String(error)}`));
      else res.destroy();
    });
  });
  management.on('tlsClientError', () => undefined);
  const { server: vpn, sockets: vpnSockets } = tlsServicePort(contextFor(undefined), { contentType: 'text/html' });

  const port = await listenOnLoopback(management);
  const vpnPort = await listenOnLoopback(vpn);
  adminSection['https_port'] = port;
  vpnServer['port'] = vpnPort;
  if (opts.webManagementCertificate) syncListeners();

  /** Brings the listeners in line with the committed bindings (unless serving stale). */
  function syncListeners(): void {
    if (stale) return;
    const web = refOf(certificateOf(committed.administration, WEB_PATH));
    const webContext = contextFor(web);
    management.setSecureContext(webContext);
    const now = fingerprintOf(new X509Certificate(String(webContext.cert)));
    if (now !== servedWeb) {
      servedWeb = now;
      // The HTTPS daemon restarts with the new certificate: idle keep-alive connections go away.
      setImmediate(() => management.closeIdleConnections());
    }
    vpn.setSecureContext(contextFor(refOf(certificateOf(committed.sslVpn, VPN_PATH))));
  }

  // ------------------------------------------------------------------ replies
  function envelope(
    success: boolean,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    return { status: { success, info: [{ level: success ? 'info' : 'error', code, message, ...extra }] } };
  }
  const okEnvelope = (): Record<string, unknown> => envelope(true, 'E_OK', 'Success.');

  // ------------------------------------------------------------------ handlers
  /** `show_status_certs_list_inner` (7.0.1 OpenAPI): certificate, type, validated, expires_on, expired_on. */
  function certificateListJson(c: StoredCert): Record<string, unknown> {
    const expired = new Date(c.leaf.validTo).getTime() < Date.now();
    return {
      certificate: c.name,
      type: 'Local Certificate',
      validated: 'Yes',
      expires_on: expired ? '' : c.leaf.validTo,
      expired_on: expired ? c.leaf.validTo : '',
    };
  }

  /** `show_status_cert_detail` (7.0.1 OpenAPI); value formats are ASSUMPTIONS (the schema types them as strings only). */
  function certificateDetailJson(c: StoredCert): Record<string, unknown> {
    return {
      certificate: c.name,
      // A certificate without a subject CN shows an empty name (ASSUMPTION A11, docs/vendors/sonicwall.md).
      subject_distinguished_name: (c.leaf.subject ?? '').replace(/\n/g, ', '),
      certificate_issuer: (c.leaf.issuer ?? '').replace(/\n/g, ', '),
      certificate_serial_number: (c.leaf.serialNumber.match(/../g) ?? [c.leaf.serialNumber]).join(':').toUpperCase(),
      valid_from: c.leaf.validFrom,
      expires_on: c.leaf.validTo,
      status: 'Verified',
    };
  }

  function importPkcs12(session: Session, name: string, bytes: Buffer, password: string, via: StoredCert['via']): void {
    const view = viewOf(session);
    if (!NAME.test(name)) throw new SonicError(400, 'E_INVALID', `Invalid certificate name '${name}'.`);
    if (view.certificates.has(name)) throw new SonicError(400, 'E_EXISTS', `Certificate '${name}' already exists.`);
    let opened;
    try {
      opened = openPkcs12(bytes, password);
    } catch (error) {
      if (error instanceof Pkcs12ReadError && error.problem === 'password')
        throw new SonicError(400, 'E_CERT_PASSWORD', 'Failed to import the certificate: incorrect password.');
      throw new SonicError(
        400,
        'E_CERT_FORMAT',
        `Failed to import the certificate: ${error instanceof Error ? error.message : String(error)}.`,
      );
    }
    if (opened.modernEncryption && opts.legacyPkcs12Only)
      throw new SonicError(400, 'E_CERT_FORMAT', 'Failed to import the certificate: unsupported PKCS#12 encryption.');
    session.pending.push({
      kind: 'import',
      cert: {
        name,
        leaf: opened.leaf,
        key: opened.key,
        chain: opened.chain,
        fingerprint: fingerprintOf(opened.leaf),
        via,
      },
    });
  }

  /** Downloads ftp://user:pass@host:port/path with basic-ftp, as the firewall does. */
  async function ftpDownload(url: URL, shown: string): Promise<Buffer> {
    const client = new FtpClient(opts.ftpTimeoutMs ?? 10_000);
    const chunks: Buffer[] = [];
    try {
      await client.access({
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port ? Number(url.port) : 21,
        user: decodeURIComponent(url.username) || 'anonymous',
        password: decodeURIComponent(url.password),
      });
      // RFC 1738: the URL path is relative to the login directory.
      const remote = decodeURIComponent(url.pathname).replace(/^\//, '');
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      });
      await client.downloadTo(sink, remote);
      ftpPulls.push({ url: shown, ok: true });
      return Buffer.concat(chunks);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      ftpPulls.push({ url: shown, ok: false, error: reason });
      throw new SonicError(400, 'E_FTP_DOWNLOAD', `Failed to download the file from ${shown}: ${reason}.`);
    } finally {
      client.close();
    }
  }

  function putSection(
    session: Session,
    kind: 'administration' | 'ssl-vpn',
    body: Record<string, unknown> | undefined,
  ): void {
    const top = kind === 'administration' ? 'administration' : 'ssl_vpn';
    if (!body || !isObject(body[top]))
      throw new SonicError(400, 'E_INVALID', `Request body must be an object with "${top}".`);
    const view = viewOf(session);
    const merged = merge(kind === 'administration' ? view.administration : view.sslVpn, body);
    const path = kind === 'administration' ? WEB_PATH : VPN_PATH;
    const raw = certificateOf(merged, path);
    const ref = refOf(raw);
    if (!ref)
      throw new SonicError(
        400,
        'E_INVALID',
        'Certificate must be either {"name": <certificate>} or {"use_self_signed": true}.',
      );
    if ('name' in ref && !view.certificates.has(ref.name))
      throw new SonicError(400, 'E_INVALID', `Certificate '${ref.name}' does not exist.`);
    session.pending.push(kind === 'administration' ? { kind, body: merged } : { kind, body: merged });
  }

  function pendingJson(session: Session): Record<string, unknown>[] {
    return session.pending.map((c) =>
      c.kind === 'import'
        ? { action: 'import', object: 'certificate', name: c.cert.name }
        : c.kind === 'delete'
          ? { action: 'delete', object: 'certificate', name: c.name }
          : { action: 'modify', object: c.kind === 'administration' ? 'administration' : 'ssl_vpn.server' },
    );
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks);
  }

  function jsonBody(raw: Buffer): Record<string, unknown> | undefined {
    if (raw.length === 0) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SonicError(400, 'E_INVALID', 'Malformed JSON body.');
    }
    if (!isObject(parsed)) throw new SonicError(400, 'E_INVALID', 'Request body must be a JSON object.');
    return parsed;
  }

  // ---------------------------------------------------------------- session security (Digest)
  const sessionSecurity = opts.sessionSecurity ?? true;
  const algorithms = opts.digestAlgorithms ?? ['SHA-256', 'MD5'];
  const maxNonceUse = opts.maxNonceUse ?? 10;
  /** "admin-users@a.b.c.d" as the API guide's Authentication-Info example shows it. */
  const realm = 'admin-users@127.0.0.1';
  const opaque = randomBytes(8).toString('hex');
  /** Nonces handed out: the last nonce count seen (replay detection) and how often each was used. */
  const nonces = new Map<string, { lastNc: number; uses: number; retired: boolean }>();
  const newNonce = (): string => {
    const nonce = randomBytes(16).toString('base64url');
    nonces.set(nonce, { lastNc: 0, uses: 0, retired: false });
    return nonce;
  };
  const hashOf = (algorithm: string, value: string): string =>
    createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
      .update(value)
      .digest('hex');
  /** `WWW-Authenticate`: one Digest challenge per enabled algorithm (RFC 7616 §3.7), one nonce. */
  const challengeHeader = (stale = false): Record<string, string> => {
    const nonce = newNonce();
    return {
      'www-authenticate': algorithms
        .map(
          (a) =>
            `Digest realm="${realm}", qop="auth", algorithm=${a}, nonce="${nonce}", opaque="${opaque}"${stale ? ', stale=true' : ''}`,
        )
        .join(', '),
    };
  };
  const notAuthenticated = (message = 'Not authenticated.', stale = false): SonicError =>
    new SonicError(401, 'E_UNAUTHORIZED', message, false, sessionSecurity ? challengeHeader(stale) : {});

  /**
   * Checks an RFC 7616 Digest header (qop=auth, as RFC 7616 §3.4.1 computes `response`); returns the
   * user. Replays (a nonce count not above the last one), unknown or retired nonces, a `uri` other
   * than the request's, and wrong responses are refused with a new challenge.
   */
  function digestUser(req: IncomingMessage, method: string): string {
    const header = req.headers.authorization ?? '';
    if (!/^Digest\s/i.test(header)) throw notAuthenticated();
    const params: Record<string, string> = {};
    for (const m of header.slice(7).matchAll(/([a-z]+)=(?:"([^"]*)"|([^\s,]*))/gi))
      params[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? '';
    const { username = '', nonce = '', nc = '', cnonce = '', uri = '', response = '' } = params;
    const algorithm = params['algorithm'] ?? 'MD5';
    const record = nonces.get(nonce);
    const count = parseInt(nc, 16);
    if (!record || record.retired) throw notAuthenticated('Stale nonce.', true);
    if (
      !(algorithms as string[]).includes(algorithm) ||
      params['qop'] !== 'auth' ||
      params['realm'] !== realm ||
      params['opaque'] !== opaque ||
      uri !== req.url ||
      !cnonce
    ) {
      throw notAuthenticated('Invalid digest.');
    }
    const password = opts.users[username];
    if (password === undefined) throw notAuthenticated('Incorrect name/password.');
    const ha1 = hashOf(algorithm, `${username}:${realm}:${password}`);
    const ha2 = hashOf(algorithm, `${method}:${uri}`);
    if (hashOf(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) !== response.toLowerCase())
      throw notAuthenticated('Incorrect name/password.');
    if (!Number.isInteger(count) || count <= record.lastNc) throw notAuthenticated('Replayed nonce count.');
    record.lastNc = count;
    record.uses += 1;
    return username;
  }

  /** `Authentication-Info` for a reply: `nextnonce` once the nonce reached its maximum use ("Nonce Resetting"). */
  function nonceRollover(req: IncomingMessage): Record<string, string> {
    const nonce = /nonce="([^"]*)"/.exec(req.headers.authorization ?? '')?.[1];
    const record = nonce ? nonces.get(nonce) : undefined;
    if (!record || maxNonceUse === 0 || record.uses < maxNonceUse) return {};
    record.retired = true;
    return { 'authentication-info': `nextnonce="${newNonce()}"` };
  }

  /** The most recent API session of `match`, ended or not (to say why a call is refused). */
  const latestApiSession = (match: (s: Session) => boolean): Session | undefined =>
    [...sessions.values()].filter((s) => s.source === 'api' && match(s)).pop();

  /**
   * The session a management call belongs to. No cookie (docs/vendors/sonicwall.md: no public client shows SonicOS
   * setting one). Session security on: the user of a valid Digest header, whose API session must be
   * open (one API session at a time, API guide "Client Authentication"). Off: the API session opened
   * from the client's address (ASSUMPTION).
   */
  function sessionOf(req: IncomingMessage, method: string, call: FakeSonicWallCall): Session {
    let session: Session | undefined;
    if (sessionSecurity) {
      const user = digestUser(req, method);
      call.auth = 'digest';
      call.user = user;
      session = latestApiSession((s) => s.user === user);
    } else {
      const address = req.socket.remoteAddress ?? '127.0.0.1';
      call.auth = 'address';
      session = latestApiSession((s) => s.address === address);
    }
    if (!session) throw notAuthenticated();
    if (session.ended === 'preempted')
      throw notAuthenticated(`Session was pre-empted by another administrator (${session.preemptedBy ?? 'unknown'}).`);
    if (session.ended === 'timeout') throw notAuthenticated('Session expired.');
    if (session.ended) throw notAuthenticated();
    call.user = session.user;
    session.lastSeen = Date.now();
    return session;
  }

  /** POST /api/sonicos/auth. */
  function login(
    req: IncomingMessage,
    body: Record<string, unknown> | undefined,
    call: FakeSonicWallCall,
  ): { session: Session; extra: Record<string, unknown> } {
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let user: string;
    if (basic !== undefined) {
      call.auth = 'basic';
      // A Digest-only appliance answers Basic with an empty 401 (sonicos-automation create_admin_session).
      if (opts.basicAuth === false) throw new SonicError(401, '', '', true);
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = colon >= 0 ? decoded.slice(0, colon) : decoded;
      call.user = user;
      if (colon < 0 || opts.users[user] === undefined || opts.users[user] !== decoded.slice(colon + 1))
        throw new SonicError(401, 'E_UNAUTHORIZED', 'Incorrect name/password.');
    } else if (
      body &&
      typeof body['user'] === 'string' &&
      typeof body['id'] === 'string' &&
      typeof body['digest'] === 'string'
    ) {
      call.auth = 'chap';
      user = body['user'];
      call.user = user;
      if (opts.chapAuth === false) throw new SonicError(401, 'E_UNAUTHORIZED', 'CHAP authentication is disabled.');
      const issued = challenges.get(body['id']);
      challenges.delete(body['id']);
      const secret = opts.users[user];
      if (!issued || issued.expires < Date.now() || secret === undefined)
        throw new SonicError(401, 'E_UNAUTHORIZED', 'Incorrect name/password.');
      const expected = createHash('md5')
        .update(Buffer.from(body['id'], 'hex'))
        .update(Buffer.from(secret, 'utf8'))
        .update(Buffer.from(issued.challenge, 'hex'))
        .digest('hex');
      if (expected !== body['digest'].toLowerCase())
        throw new SonicError(401, 'E_UNAUTHORIZED', 'Incorrect name/password.');
    } else {
      throw new SonicError(401, 'E_UNAUTHORIZED', 'Authentication required.');
    }
    const override = body?.['override'] === true;
    call.override = override;
    expireIdle();
    const others = active();
    const holder = others[0];
    if (holder && !override) {
      refused += 1;
      const where = `${holder.source === 'gui' ? 'GUI' : 'API'} from ${holder.address}`;
      throw new SonicError(
        401,
        'E_BUSY',
        `Another administrator is logged in: ${holder.user} (${where}). Log in with "override": true to pre-empt.`,
      );
    }
    for (const other of others) end(other, 'preempted', user);
    const session = openSession(user, 'api', req.socket.remoteAddress ?? '127.0.0.1', false);
    loginsByUser[user] = (loginsByUser[user] ?? 0) + 1;
    return {
      session,
      extra: opts.passwordUpdateRequired?.includes(user) ? { auth_code: 'API_AUTH_PASSWORD_UPDATE' } : {},
    };
  }

  type Reply = {
    status: number;
    payload: Record<string, unknown> | Record<string, unknown>[];
    headers?: Record<string, string>;
    mutated?: boolean;
  };

  async function route(
    method: string,
    rawPath: string,
    req: IncomingMessage,
    raw: Buffer,
    call: FakeSonicWallCall,
  ): Promise<Reply> {
    const rest = rawPath.replace(/^\/api\/sonicos/, '');
    // Scripted failures hit after authentication (for /auth: before the login is processed).
    const session = rest === '/auth' ? undefined : sessionOf(req, method, call);
    const rule = failRules.find(
      (f) =>
        f.remaining > 0 &&
        f.path.test(rawPath) &&
        (f.failure.method === undefined || f.failure.method.toUpperCase() === method),
    );
    if (rule) rule.remaining -= 1;
    const failNow = (): Reply => {
      if (rule?.failure.dropConnection) {
        req.socket.destroy();
        return { status: 0, payload: {} };
      }
      throw new SonicError(
        rule?.failure.status ?? 500,
        rule?.failure.code ?? 'E_ERROR',
        rule?.failure.message ?? 'Internal error.',
      );
    };
    if (rule && !rule.failure.afterProcessing) return failNow();
    const reply = session ? await serve(method, rest, session, req, raw) : auth(method, req, raw, call);
    if (rule) {
      if (reply.mutated) mutating += 1;
      return failNow();
    }
    return session && sessionSecurity ? { ...reply, headers: { ...reply.headers, ...nonceRollover(req) } } : reply;
  }

  /** /api/sonicos/auth: CHAP challenge (GET), login (POST), logout (DELETE). */
  function auth(method: string, req: IncomingMessage, raw: Buffer, call: FakeSonicWallCall): Reply {
    if (method === 'GET') {
      if (opts.chapAuth === false) throw new SonicError(401, 'E_UNAUTHORIZED', 'CHAP authentication is disabled.');
      const id = randomBytes(1).toString('hex');
      const challenge = randomBytes(16).toString('hex');
      challenges.set(id, { challenge, expires: Date.now() + 60_000 });
      return { status: 200, payload: { id, challenge, ...okEnvelope() } };
    }
    if (method === 'POST') {
      const { extra } = login(req, jsonBody(raw), call);
      // No Set-Cookie (docs/vendors/sonicwall.md). Session security on: the proprietary Authentication-Info of "Operation
      // After Non-Digest Authentication" (unless announceDigest is off).
      const announce = sessionSecurity && opts.announceDigest !== false;
      const info = `Digest algorithm=${algorithms[0] ?? 'SHA-256'}, realm="${realm}", qop="auth", nonce="${newNonce()}", opaque="${opaque}"`;
      return {
        status: 200,
        payload: envelope(true, 'E_OK', 'Success.', extra),
        headers: announce ? { 'authentication-info': info } : {},
      };
    }
    if (method === 'DELETE') {
      // Logout "with bearer token or user name/password" ("Authentication Methods"). ASSUMPTION:
      // with session security on, a valid Digest for a user ends that user's API session (also when
      // the nonce came from a fresh challenge, i.e. a new client cleaning up after a crashed one);
      // off, the API session of the client's address ends. Nothing to end is still a success (ASSUMPTION).
      let open: Session | undefined;
      if (sessionSecurity) {
        const user = digestUser(req, method);
        call.auth = 'digest';
        call.user = user;
        open = active().find((s) => s.source === 'api' && s.user === user);
      } else {
        const address = req.socket.remoteAddress ?? '127.0.0.1';
        call.auth = 'address';
        open = active().find((s) => s.source === 'api' && s.address === address);
      }
      if (open) end(open, 'logout');
      return { status: 200, payload: okEnvelope(), ...(sessionSecurity ? { headers: nonceRollover(req) } : {}) };
    }
    throw new SonicError(405, 'E_NOT_SUPPORTED', `Method ${method} is not supported here.`);
  }

  async function serve(
    method: string,
    rest: string,
    session: Session,
    req: IncomingMessage,
    raw: Buffer,
  ): Promise<Reply> {
    const ok = (payload: Record<string, unknown> = {}, mutated = false): Reply => ({
      status: 200,
      payload: { ...payload, ...okEnvelope() },
      mutated,
    });
    const notAllowed = (): SonicError =>
      new SonicError(405, 'E_NOT_SUPPORTED', `Method ${method} is not supported here.`);
    const seg = (s: string): string => decodeURIComponent(s);

    if (rest === '/version') {
      if (method !== 'GET') throw notAllowed();
      return ok({
        firmware_version: firmware,
        model,
        serial_number: serial,
        rom_version: 'SonicROM 7.0.0.9',
        system_uptime: '0 Days 1:02:03',
      });
    }

    const reporting = /^\/reporting\/certificates(?:\/imported|\/name\/([^/]+))?$/.exec(rest);
    if (reporting) {
      if (method !== 'GET') throw notAllowed();
      const view = viewOf(session);
      const wanted = reporting[1] !== undefined ? seg(reporting[1]) : undefined;
      if (wanted !== undefined) {
        const found = view.certificates.get(wanted);
        if (!found) throw new SonicError(404, 'E_NOT_FOUND', `Certificate '${wanted}' not found.`);
        // 7.0.1 OpenAPI `show_status_cert_detail`: one flat object (no envelope on 200).
        return { status: 200, payload: certificateDetailJson(found) };
      }
      // 7.0.1 OpenAPI `show_status_certs_list`: a top-level array of `show_status_certs_list_inner`
      // (generalsle1n/SonicWallGen7 api/openapi.yaml; docs/vendors/sonicwall.md), no serial, no envelope.
      return { status: 200, payload: [...view.certificates.values()].map(certificateListJson) };
    }

    const ftpImport =
      /^\/certificates\/import\/cert-key-pair-ftp\/name\/([^/]+)\/password\/([^/]+)\/url\/(.+?)\/?$/.exec(rest);
    if (ftpImport) {
      // Not in the 7.0.1 OpenAPI (docs/vendors/sonicwall.md): on SonicOS 7 the fake does not know it (ASSUMPTION: 404).
      if (gen7) throw new SonicError(404, 'E_NOT_FOUND', 'API endpoint not found.');
      if (method !== 'POST') throw notAllowed();
      const name = seg(ftpImport[1] ?? '');
      const password = seg(ftpImport[2] ?? '');
      let url: URL;
      try {
        url = new URL(seg(ftpImport[3] ?? ''));
      } catch {
        throw new SonicError(400, 'E_INVALID', 'Invalid URL.');
      }
      if (url.protocol !== 'ftp:') throw new SonicError(400, 'E_INVALID', `Unsupported URL scheme ${url.protocol}`);
      seenSecrets.add(password);
      if (url.password) seenSecrets.add(decodeURIComponent(url.password));
      const shown = `ftp://${url.username}${url.password ? ':[omitted]' : ''}@${url.host}${url.pathname}`;
      const bytes = await ftpDownload(url, shown);
      importPkcs12(session, name, bytes, password, 'ftp');
      return ok({}, true);
    }

    // The documented upload: PUT …/cert-key-pair/name/{NAME}/password/{PASSWD} (7.0.1 OpenAPI), the
    // PKCS#12 in a multipart body with a `certPasswd` part (SonicWall's API test code).
    // SonicOS 6.5 has no upload path (docs/vendors/sonicwall.md): 404 there. ASSUMPTIONS: a body that is not multipart
    // is refused (400), and a `certPasswd` that differs from the path's password too.
    const direct = /^\/import\/certificates\/cert-key-pair\/name\/([^/]+)\/password\/([^/]+)$/.exec(rest);
    if (direct) {
      if (!gen7) throw new SonicError(404, 'E_NOT_FOUND', 'API endpoint not found.');
      if (method !== 'PUT') throw notAllowed();
      const name = seg(direct[1] ?? '');
      const password = seg(direct[2] ?? '');
      seenSecrets.add(password);
      const type = req.headers['content-type'] ?? '';
      if (!type.startsWith('multipart/form-data'))
        throw new SonicError(400, 'E_INVALID', 'Expected multipart/form-data with the certificate file.');
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      let bytes = Buffer.alloc(0);
      for (const [key, value] of form.entries()) {
        if (key === 'certPasswd' && typeof value === 'string' && value !== password)
          throw new SonicError(400, 'E_INVALID', 'Certificate password mismatch.');
        if (typeof value !== 'string') bytes = Buffer.from(await value.arrayBuffer());
      }
      if (bytes.length === 0) throw new SonicError(400, 'E_INVALID', 'Missing certificate file.');
      importPkcs12(session, name, bytes, password, 'upload');
      return ok({}, true);
    }

    const byName = /^\/certificates\/name\/([^/]+)$/.exec(rest);
    if (byName) {
      if (method !== 'DELETE') throw notAllowed();
      const name = seg(byName[1] ?? '');
      const view = viewOf(session);
      if (!view.certificates.has(name)) throw new SonicError(404, 'E_NOT_FOUND', `Certificate '${name}' not found.`);
      const uses = boundNames(view).get(name);
      if (uses)
        throw new SonicError(
          400,
          'E_IN_USE',
          `Certificate '${name}' is in use by ${uses.join(' and ')} and cannot be deleted.`,
        );
      session.pending.push({ kind: 'delete', name });
      return ok({}, true);
    }

    if (rest === '/administration/global' || rest === '/ssl-vpn/server/base') {
      const kind = rest === '/administration/global' ? 'administration' : 'ssl-vpn';
      const view = viewOf(session);
      if (method === 'GET') return ok(structuredClone(kind === 'administration' ? view.administration : view.sslVpn));
      if (method !== 'PUT') throw notAllowed();
      putSection(session, kind, jsonBody(raw));
      return ok({}, true);
    }

    if (rest === '/config/pending') {
      if (method === 'GET') return ok({ pending: pendingJson(session) });
      if (method === 'DELETE') {
        session.pending = [];
        return ok();
      }
      if (method !== 'POST') throw notAllowed();
      if (swallowCommit) {
        swallowCommit = false;
        return ok();
      }
      const changes = session.pending;
      session.pending = [];
      for (const change of changes) apply(committed, change);
      if (changes.length > 0) syncListeners();
      return ok({}, changes.length > 0);
    }

    throw new SonicError(404, 'E_NOT_FOUND', 'API endpoint not found.');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const call: FakeSonicWallCall = {
      method,
      path: redactPath(rawPath),
      status: 0,
      code: '',
      auth: 'none',
      ...(req.headers.cookie ? { cookie: true } : {}),
    };
    calls.push(call);
    const raw = await readBody(req);
    const reply = (
      status: number,
      payload: Record<string, unknown> | Record<string, unknown>[],
      headers: Record<string, string> = {},
    ): void => {
      call.status = status;
      const info = Array.isArray(payload)
        ? undefined
        : (payload['status'] as { info?: { code?: string }[] } | undefined)?.info?.[0];
      call.code = Array.isArray(payload) ? 'E_OK' : (info?.code ?? '');
      sendJsonReply(res, status, payload, headers);
    };

    if (!rawPath.startsWith('/api/sonicos/')) return reply(404, envelope(false, 'E_NOT_FOUND', 'Not found.'));
    const hookIndex = hooks.findIndex((h) => h.path.test(rawPath));
    if (hookIndex >= 0) await hooks.splice(hookIndex, 1)[0]?.hook();
    if (opts.apiDisabled) return reply(403, envelope(false, 'E_DISABLED', 'Service disabled.'));
    expireIdle();
    try {
      const result = await route(method, rawPath, req, raw, call);
      if (result.status === 0) {
        call.status = 0;
        call.code = 'dropped';
        return;
      }
      if (result.mutated) mutating += 1;
      reply(result.status, result.payload, result.headers);
    } catch (error) {
      if (!(error instanceof SonicError)) throw error;
      if (error.emptyBody) {
        call.status = error.status;
        res.writeHead(error.status, { 'content-length': 0, ...error.headers });
        res.end();
        return;
      }
      reply(error.status, envelope(false, error.code, error.message), error.headers);
    }
  }

  const stateOf = (s: Session): FakeSonicWallSessionInfo['state'] => s.ended ?? 'active';

  return {
    host: '127.0.0.1',
    port,
    endpoints: { management: { host: '127.0.0.1', port }, sslVpn: { host: '127.0.0.1', port: vpnPort } },
    calls,
    ftpPulls,
    loginsByUser,
    managementFingerprint: () => builtIn.fingerprintSha256,
    view: () => ({
      certificateObjects: () => [...committed.certificates.keys()],
      mutatingCalls: () => mutating,
      get secrets(): string[] {
        return [...seenSecrets].filter((s) => s.length >= 4);
      },
      serveLeafOnly: (on: boolean) => {
        leafOnly = on;
        syncListeners();
      },
    }),
    activeSessions: () => {
      expireIdle();
      return active().length;
    },
    refusedLogins: () => refused,
    maxConcurrentSessions: () => maxConcurrent,
    sessions: () => {
      expireIdle();
      return [...sessions.values()].map((s) => ({
        user: s.user,
        source: s.source,
        state: stateOf(s),
        pending: s.pending.length,
      }));
    },
    droppedChanges: () => dropped,
    bindings: () => ({
      webManagement: refOf(certificateOf(committed.administration, WEB_PATH)) ?? { use_self_signed: true },
      sslVpn: refOf(certificateOf(committed.sslVpn, VPN_PATH)) ?? { use_self_signed: true },
    }),
    certificates: () =>
      [...committed.certificates.values()].map((c) => ({
        name: c.name,
        fingerprintSha256: c.fingerprint,
        serialHex: c.leaf.serialNumber.toLowerCase(),
        chainLength: c.chain.length,
        via: c.via,
      })),
    holdSession(input = {}) {
      const user = input.user ?? 'admin';
      expireIdle();
      const others = active();
      if (others.length > 0 && !input.override)
        throw new Error(`fake-sonicwall: ${others[0]?.user ?? '?'} is logged in; holdSession needs override`);
      for (const other of others) end(other, 'preempted', user);
      const session = openSession(user, 'gui', input.address ?? '192.0.2.10', true);
      if (input.ms !== undefined) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          end(session, 'logout');
        }, input.ms);
        timer.unref();
        timers.add(timer);
      }
      return { release: () => end(session, 'logout'), state: () => stateOf(session) };
    },
    beforeNext(path, hook) {
      hooks.push({ path: statelessPattern(path), hook });
    },
    failNext(path, failure) {
      failRules.push({
        path: statelessPattern(path),
        failure,
        remaining: failure.times ?? 1,
      });
    },
    swallowNextCommit() {
      swallowCommit = true;
    },
    serveStale(on) {
      stale = on;
      syncListeners();
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of vpnSockets) socket.destroy();
      const closing = [
        new Promise<void>((resolve) => management.close(() => resolve())),
        new Promise<void>((resolve) => vpn.close(() => resolve())),
      ];
      management.closeAllConnections();
      await Promise.all(closing);
    },
  };
}
