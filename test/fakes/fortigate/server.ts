/**
 * A fake FortiGate: the FortiOS REST API subset CertFleet uses, served over real HTTPS on 127.0.0.1.
 * Sources: [fgt-doc] docs.fortinet.com "Uploading a certificate using an API" (7.0.1, 379103);
 * [acme.sh-fgt] acmesh-official/acme.sh deploy/fortigate.sh (@cbfef73); [fgt-swap]
 * CyB0rgg/fortigate-cert-swap main.go (@c8f33a6); [fgt-caddy] jonarihen/caddy-forticertsync
 * fortigate_client.go (@190cda1); [tf-fortios] fortinetdev/terraform-provider-fortios issues;
 * Fortinet community Technical Tip 357228. Every behaviour names its source or says ASSUMPTION;
 * docs/vendors/fortigate.md lists the assumptions (F1-F4).
 * - `Authorization: Bearer <token>` on every call (missing/wrong: 401) ([acme.sh-fgt]); the
 *   `access_token` query parameter only when `acceptQueryToken` is on (Technical Tip 357228: off by
 *   default since FortiOS 7.4.5);
 * - the `vdom` query parameter (default `root`) selects the VDOM ([fgt-caddy] buildURL, [fgt-swap]);
 * - `POST /api/v2/monitor/vpn-certificate/local/import`: type `regular` with base64 `file_content` /
 *   `key_file_content`, type `pkcs12` ([fgt-doc]; base64 of PEM [acme.sh-fgt], base64 DER [fgt-caddy]);
 *   JSON or multipart form fields ([fgt-doc] Postman example); -23 on content that exists already
 *   under any name ([fgt-swap], [fgt-caddy]); -145 on input that is not base64 ([fgt-caddy]); the
 *   HTTP 500 error envelope ([tf-fortios] #215);
 * - `POST /api/v2/monitor/vpn-certificate/ca/import` with -328 when the CA exists already
 *   ([acme.sh-fgt] upload_ca_cert);
 * - CMDB GET/PUT/DELETE `vpn.certificate/local[/<name>]` ([acme.sh-fgt] delete, [fgt-caddy]
 *   ListCertificates / DeleteCertificate); GET/DELETE `vpn.certificate/ca[/<name>]` (ASSUMPTION: no
 *   source names the path); GET/PUT `system/global` `admin-server-cert` ([acme.sh-fgt]
 *   set_active_web_cert), `vpn.ssl/settings` `servercert` per VDOM and `system/ftm-push` `server-cert`
 *   ([fgt-swap] GUI, SSL-VPN and FTM bindings; [fgt-caddy] certReferenceEndpoints); a DELETE of a bound
 *   certificate is refused (the project's vendor research: a public rotation script unbinds first);
 * - success envelopes carry `revision`, `revision_changed`, `old_revision`, `serial`, `version`,
 *   `build` (thejimmylin/fortirestapiusage README, FortiOS 6.4.2);
 * - a binding PUT naming a certificate the VDOM does not have answers 500 / -651 with `cli_error`
 *   "node_check_object fail! … value parse error before '…' … Return code -651" (the recorded answer for a
 *   reference to a missing datasource entry: terraform-provider-fortios #193);
 * - CMDB GET/PUT `vpn.ipsec/phase1-interface/<name>` with `authmethod` and `certificate` as a list of
 *   `{name}` (up to 4) (terraform-provider-fortios resource_vpnipsec_phase1interface.go and docs; FortiOS
 *   CLI reference `config vpn ipsec phase1-interface`);
 * - CMDB GET/PUT `firewall/vip/<name>` with `type`, `server-type`, `extip`, `extport` and `ssl-certificate`,
 *   a list of `{name}` from FortiOS 7.4.2 and a plain name before (terraform-provider-fortios
 *   resource_firewall_vip.go expandFirewallVipSslCertificate); each VIP that terminates TLS
 *   (server-load-balance with server type https/ssl/imaps/pop3s/smtps, or access-proxy) has a listener on
 *   `extip`:`extport` serving its certificate with the CA-store chain;
 * - CMDB GET/PUT `user/setting` `auth-cert` per VDOM (FortiOS CLI reference "user setting" 6.0.0; Fortinet
 *   ansible fortios_user_setting; default Fortinet_Factory in terraform's example), served on the auth
 *   portal listener, whose port is system global `auth-https-port` (terraform-provider-fortios
 *   fortios_system_global: default 1003 from 6.4.0);
 * - SSL-VPN absent (404, no listener) on a `lowMemoryModel` from FortiOS 7.6.0 (FortiOS 7.6.1 release
 *   notes 877104); kept on other models from 7.6.3 as Agentless VPN (vendor-apis §10.5).
 *
 * TLS: the management listener presents the certificate bound as `admin-server-cert`; new connections
 * see a change at once and idle keep-alive connections are closed, as the admin listener restarts
 * (acme.sh fortigate.sh header: `--insecure` needed while the GUI certificate is not yet valid; the
 * restart itself: ASSUMPTION). A second listener plays the SSL-VPN port and presents `servercert`.
 * Both send the intermediates found in the CA store after the leaf ([acme.sh-fgt] "FortiGate doesn't
 * automatically extract CA from fullchain"; [fgt-swap] DEPLOYMENT_GUIDE).
 *
 * ASSUMPTIONS (kept in one place so tests do not mistake them for FortiOS facts):
 * - the 401 body is a small HTML page, not a JSON envelope; 403 carries the error envelope;
 * - imported CA certificates are named `CA_Cert_<n>` by the device (a `certname` is ignored); the CMDB
 *   CA object holds its PEM in the field `ca`, a local certificate in `certificate`;
 * - GET or PUT of an absent CMDB object (a phase-1 or VIP name) and unknown paths/VDOMs answer 404 with
 *   an error envelope without an `error` code; the exact `cli_error` wording of -651 for a certificate
 *   field; a reference in the wrong shape (a string where a list is kept, or the reverse) answers -651;
 *   more than 4 phase-1 certificates answers -1;
 * - a phase-1 with `authmethod psk` still accepts a `certificate` (the device's behaviour is not
 *   documented; CertFleet refuses it itself); a VIP that does not terminate TLS accepts `ssl-certificate`
 *   (same); a VIP without certificates named gets Fortinet_Factory; a VIP with several serves the first;
 * - a DELETE of a bound (or built-in) certificate answers 500 / -23 with `cli_error`;
 * - a key that does not match the certificate, an unreadable key or an RSA key below 2048 bits
 *   answers -327 (the code itself: [tf-fortios] #215); an unknown `type`, an unreadable certificate or
 *   PKCS#12 (or a wrong password) -145; the same certname with other content -5 (the code on an
 *   existing CMDB object: [fgt-swap] log);
 * - in multi-VDOM mode (more than one VDOM) `admin-server-cert` must name a certificate imported with
 *   `scope: global`; certificates imported with `scope: vdom` are visible only in their VDOM (the
 *   direction: vladimirs-git/fortigate-api #41, acme.sh PR #6236; the exact rule: ASSUMPTION);
 * - singleton tables (`system/global`, `vpn.ssl/settings`, `system/ftm-push`) return `results` as an
 *   object; lists and GET by name return an array;
 * - certificate names longer than 35 characters answer -1 (the 35: scripts truncate to it).
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as tls from 'node:tls';
import forge from 'node-forge';
import { Response } from 'undici';
import type { VerifyEndpoint } from '../../../activities/deployers/types';
import type { FakeDeviceView } from '../../support/deployer-contract';
import { readPkcs12Bags } from '../../support/pkcs12-forge';
import { countHandshakes, type HandshakeCount } from '../../support/tls-handshakes';
import type { Socket } from 'node:net';
import { listenOnLoopback, sendJsonReply, statelessPattern, tlsServicePort } from '../../support/fake-server-io';

/** A stored cmdb setting that should name something: its text, or undefined. */
const textOfSetting = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export interface FakeFortiGateOptions {
  /** The only valid REST API token. */
  token: string;
  /** VDOMs of the device; default ['root'] (single-VDOM mode). More than one = multi-VDOM mode. */
  vdoms?: string[];
  /** The VDOM whose SSL-VPN settings and user settings (auth-cert) the SSL-VPN and auth portal listeners serve; default the first VDOM. */
  sslVpnVdom?: string;
  /** `config system global / set rest-api-key-url-query enable`: accept `?access_token=`. Default off. */
  acceptQueryToken?: boolean;
  /**
   * `vpn.ssl/settings` answers 404 and there is no SSL-VPN listener. Default: on for a `lowMemoryModel`
   * from FortiOS 7.6.0 (FortiOS 7.6.1 release notes "SSL VPN removed from 2GB RAM models for tunnel and
   * web mode", docs.fortinet.com 877104; vendor-apis §10.5), off otherwise: 7.6.3 removed tunnel mode on
   * all models but kept web mode as "Agentless VPN" (terraform-provider-fortios fortios_vpnssl_settings
   * `port`: "Agentless VPN access port"), so the settings table stays.
   */
  sslVpnRemoved?: boolean;
  /** A 2 GB RAM model (FortiGate 40F/60F class): SSL-VPN is gone from FortiOS 7.6.0. */
  lowMemoryModel?: boolean;
  /** IPsec phase-1 interfaces (`vpn.ipsec/phase1-interface`). */
  phase1?: FakePhase1[];
  /** Virtual IPs (`firewall/vip`); those that terminate TLS get a listener serving their ssl-certificate. */
  vips?: FakeVip[];
  /** 'pem-or-der' (default, 7.4 style: base64 of a PEM file or of DER); 'der-only' (7.6.6 style: base64 of PEM → -145). */
  fileContentEncoding?: 'pem-or-der' | 'der-only';
  /** Report `servercert` as `{ q_origin_key: name }` instead of a plain string (some firmware). */
  servercertAsObject?: boolean;
  /** Requests whose path matches answer 403 (the token's admin profile lacks the permission). */
  forbidden?: RegExp;
  /** Every non-GET request answers 403 (a read-only admin profile). */
  readOnly?: boolean;
  /**
   * Issue TLS session tickets (resumable sessions) on both listeners; default on, as most TLS servers
   * do. A resumed session shows the client no peer certificate, so a pinned-fingerprint client must
   * not resume (device-http uses maxCachedSessions: 0).
   */
  tlsSessionTickets?: boolean;
  /** CMDB answers for certificates leave out the PEM (`certificate` / `ca`), as reported for 7.6.6. */
  cmdbOmitsPem?: boolean;
  /** Envelope `version`, default v7.4.7. */
  version?: string;
  /** Envelope `build`, default 2731. */
  build?: number;
  /** Envelope `serial`, default FGT60FTK23000001. */
  serial?: string;
}

export interface FakePhase1 {
  name: string;
  /** Default the first VDOM. */
  vdom?: string;
  /** Default signature. */
  authmethod?: 'psk' | 'signature';
  /** Local certificate names; default ['Fortinet_Factory'] for signature, [] for psk. */
  certificates?: string[];
}

export interface FakeVip {
  name: string;
  /** Default the first VDOM. */
  vdom?: string;
  /** Default server-load-balance. */
  type?: 'static-nat' | 'load-balance' | 'server-load-balance' | 'dns-translation' | 'fqdn' | 'access-proxy';
  /** Default https. */
  serverType?: 'http' | 'https' | 'imaps' | 'pop3s' | 'smtps' | 'ssl' | 'tcp' | 'udp' | 'ip';
  /** Local certificate names; default ['Fortinet_Factory'] (ASSUMPTION). */
  certificates?: string[];
}

export interface FakeFortiGateCall {
  method: string;
  /** Path without the query, e.g. /api/v2/cmdb/system/global */
  path: string;
  /** Query parameters; `access_token` is never recorded. */
  query: Record<string, string>;
  /** Body with key material and passwords replaced by '[omitted]' (null when there was none). */
  body: Record<string, unknown> | null;
  /** How the request authenticated: 'header', 'query' or 'none' (also for a wrong token). */
  auth: 'header' | 'query' | 'none';
  status: number;
  /** FortiOS error code of an error envelope. */
  error?: number;
}

export interface FakeFortiGateObject {
  name: string;
  fingerprintSha256: string;
  source: 'factory' | 'user';
  range: 'global' | 'vdom';
  /** The VDOM of a `range: vdom` object. */
  vdom?: string;
  /** PEM of the certificate (leaf for local certificates). */
  pem: string;
}

export interface FakeFortiGateFailure {
  status: number;
  /** FortiOS error code: the answer is the HTTP 500 error envelope (terraform-provider-fortios #215). Without it, a bare HTML error page. */
  error?: number;
  /** Only requests with this method (e.g. 'PUT'); default any. */
  method?: string;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface FakeFortiGate {
  /** TLS endpoints: the management API (admin GUI), the SSL-VPN port unless removed, the auth portal, and each TLS VIP by name. */
  endpoints: {
    admin: VerifyEndpoint;
    sslVpn?: VerifyEndpoint;
    authPortal: VerifyEndpoint;
    vips: Record<string, VerifyEndpoint>;
  };
  host: string;
  port: number;
  /** Every request, in order (never the token, keys or passwords). */
  calls: FakeFortiGateCall[];
  /** TLS handshakes on the management API (admin) listener: full or resumed. */
  managementHandshakes: HandshakeCount;
  /** SHA-256 fingerprint (lowercase hex) of the built-in Fortinet_Factory certificate. */
  managementFingerprint(): string;
  /** The contract's view: user certificate objects (local and CA), mutating calls, secrets. */
  view(): FakeDeviceView;
  /** Local certificates (built-in ones included). */
  localCertificates(): FakeFortiGateObject[];
  /** CA certificates (built-in ones included). */
  caCertificates(): FakeFortiGateObject[];
  /** Current bindings: admin-server-cert, servercert and auth-cert per VDOM (no servercert when SSL-VPN is removed), phase-1 and VIP certificates by name. */
  bindings(): {
    adminServerCert: string;
    sslVpnServerCert: Record<string, string>;
    ftmPushServerCert: string;
    authCert: Record<string, string>;
    phase1: Record<string, string[]>;
    vips: Record<string, string[]>;
  };
  /** Puts a local certificate on the device as an administrator would (no API call recorded). */
  seedLocalCertificate(input: {
    name: string;
    certPem: string;
    keyPem: string;
    scope?: 'global' | 'vdom';
    vdom?: string;
  }): void;
  /** Puts a CA certificate on the device (no API call recorded); returns its name. */
  seedCaCertificate(pem: string): string;
  /** The next `times` requests whose path (and method) match fail after authentication, before any processing. */
  failNext(path: RegExp, failure: FakeFortiGateFailure): void;
  /** Forgets every pending failNext (the outage is over). */
  clearFailures(): void;
  /** Runs `hook` just before the next request whose path matches is processed (to script races). */
  beforeNext(path: RegExp, hook: () => void): void;
  /** On: bindings are accepted but the listeners keep serving what they served. Off: they catch up. */
  serveStale(on: boolean): void;
  close: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Material

interface LocalCert {
  name: string;
  certPem: string;
  x509: X509Certificate;
  key: KeyObject;
  fingerprint: string;
  source: 'factory' | 'user';
  range: 'global' | 'vdom';
  vdom?: string;
  comments: string;
  lastUpdated: number;
}

interface CaCert {
  name: string;
  pem: string;
  x509: X509Certificate;
  fingerprint: string;
  source: 'factory' | 'user';
  range: 'global' | 'vdom';
  vdom?: string;
  lastUpdated: number;
}

const fingerprintOf = (x509: X509Certificate): string => x509.fingerprint256.replace(/:/g, '').toLowerCase();

/** A self-signed RSA 2048 certificate in the style of FortiGate's built-in ones. */
function builtInCertificate(commonName: string, ca: boolean): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ format: 'pem', type: 'spki' }).toString());
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const attrs = [
    { name: 'countryName', value: 'US' },
    { shortName: 'ST', value: 'California' },
    { name: 'localityName', value: 'Sunnyvale' },
    { name: 'organizationName', value: 'Fortinet' },
    { shortName: 'OU', value: ca ? 'Certificate Authority' : 'FortiGate' },
    { name: 'commonName', value: commonName },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions(
    ca
      ? [
          { name: 'basicConstraints', critical: true, cA: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true },
        ]
      : [{ name: 'basicConstraints', cA: false }],
  );
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

class FortiError extends Error {
  constructor(
    readonly status: number,
    readonly code?: number,
    readonly cliError?: string,
  ) {
    super(`HTTP ${status}${code !== undefined ? ` error ${code}` : ''}`);
  }
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strictly base64 (line breaks tolerated), or undefined. */
function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const compact = value.replace(/[\r\n]/g, '');
  if (compact === '' || compact.length % 4 !== 0 || !B64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

const isPemText = (bytes: Buffer): boolean =>
  bytes.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN');

function readCertificate(bytes: Buffer, allowPem: boolean): X509Certificate {
  try {
    if (isPemText(bytes)) {
      if (!allowPem) throw new FortiError(500, -145);
      const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(bytes.toString('utf8'));
      if (!first) throw new FortiError(500, -145);
      return new X509Certificate(first[0]);
    }
    return new X509Certificate(bytes);
  } catch (error) {
    if (error instanceof FortiError) throw error;
    throw new FortiError(500, -145);
  }
}

function readKey(bytes: Buffer, allowPem: boolean): KeyObject {
  if (isPemText(bytes)) {
    if (!allowPem) throw new FortiError(500, -145);
    try {
      return createPrivateKey(bytes.toString('utf8'));
    } catch {
      throw new FortiError(500, -327);
    }
  }
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: bytes, format: 'der', type });
    } catch {
      // next encoding
    }
  }
  throw new FortiError(500, -327);
}

function checkKeyPair(x509: X509Certificate, key: KeyObject): void {
  const fromKey = createPublicKey(key).export({ format: 'der', type: 'spki' });
  if (!fromKey.equals(x509.publicKey.export({ format: 'der', type: 'spki' }))) throw new FortiError(500, -327);
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new FortiError(500, -327);
}

function readPkcs12(bytes: Buffer, password: string): { x509: X509Certificate; key: KeyObject } {
  try {
    const { key, certs } = readPkcs12Bags(bytes, password);
    // The leaf is the certificate matching the key, whatever order the bags came in.
    const leaf = key ? (certs.findLast((c) => c.checkPrivateKey(key)) ?? certs[0]) : undefined;
    if (!key || !leaf) throw new FortiError(500, -145);
    return { x509: leaf, key };
  } catch (error) {
    if (error instanceof FortiError) throw error;
    throw new FortiError(500, -145);
  }
}

const SECRET_FIELDS = new Set(['file_content', 'key_file_content', 'password', 'private-key', 'certificate', 'ca']);

function redact(body: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!body) return null;
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, SECRET_FIELDS.has(k) ? '[omitted]' : v]));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A certificate reference as sent in a PUT: a name, or `{ q_origin_key }` / `{ name }`. */
function referenceName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    const key = value['q_origin_key'] ?? value['name'];
    if (typeof key === 'string') return key;
  }
  return undefined;
}

/** `v7.6.3` is at least [7, 6, 0]. */
function versionAtLeast(version: string, wanted: [number, number, number]): boolean {
  const have = (/(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  for (let i = 0; i < 3; i++) if ((have[i] ?? 0) !== wanted[i]) return (have[i] ?? 0) > (wanted[i] ?? 0);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Server

export async function startFakeFortiGate(opts: FakeFortiGateOptions): Promise<FakeFortiGate> {
  const vdoms = opts.vdoms && opts.vdoms.length > 0 ? [...opts.vdoms] : ['root'];
  const multiVdom = vdoms.length > 1;
  const sslVpnVdom = opts.sslVpnVdom ?? vdoms[0] ?? 'root';
  const version = opts.version ?? 'v7.4.7';
  const build = opts.build ?? 2731;
  const serial = opts.serial ?? 'FGT60FTK23000001';
  const allowPem = (opts.fileContentEncoding ?? 'pem-or-der') === 'pem-or-der';

  const factory = builtInCertificate(serial, false);
  const factoryCa = builtInCertificate('Fortinet_CA_SSL', true);
  const now = (): number => Math.floor(Date.now() / 1000);

  const locals: LocalCert[] = [];
  const cas: CaCert[] = [];
  const addLocal = (input: {
    name: string;
    x509: X509Certificate;
    key: KeyObject;
    source: 'factory' | 'user';
    range: 'global' | 'vdom';
    vdom?: string;
  }): LocalCert => {
    const cert: LocalCert = {
      ...input,
      certPem: input.x509.toString(),
      fingerprint: fingerprintOf(input.x509),
      comments: '',
      lastUpdated: now(),
    };
    locals.push(cert);
    return cert;
  };
  let caCounter = 0;
  const addCa = (input: {
    name?: string;
    x509: X509Certificate;
    source: 'factory' | 'user';
    range: 'global' | 'vdom';
    vdom?: string;
  }): CaCert => {
    const ca: CaCert = {
      ...input,
      name: input.name ?? `CA_Cert_${++caCounter}`,
      pem: input.x509.toString(),
      fingerprint: fingerprintOf(input.x509),
      lastUpdated: now(),
    };
    cas.push(ca);
    return ca;
  };
  addLocal({
    name: 'Fortinet_Factory',
    x509: new X509Certificate(factory.certPem),
    key: createPrivateKey(factory.keyPem),
    source: 'factory',
    range: 'global',
  });
  addCa({ name: 'Fortinet_CA_SSL', x509: new X509Certificate(factoryCa.certPem), source: 'factory', range: 'global' });

  const globalSettings: Record<string, unknown> = {
    hostname: 'FGT60F',
    timezone: 'Europe/London',
    'admin-server-cert': 'Fortinet_Factory',
    'admin-sport': 0,
  };
  const ftmPush: Record<string, unknown> = {
    status: 'disable',
    'server-port': 4433,
    'server-cert': 'Fortinet_Factory',
  };
  const sslVpnRemoved = opts.sslVpnRemoved ?? (opts.lowMemoryModel === true && versionAtLeast(version, [7, 6, 0]));
  const sslVpn = new Map<string, Record<string, unknown>>();
  if (!sslVpnRemoved)
    for (const vdom of vdoms)
      sslVpn.set(vdom, { status: 'enable', servercert: 'Fortinet_Factory', port: 10443, 'source-interface': [] });
  // terraform-provider-fortios fortios_user_setting example (auth_cert "Fortinet_Factory", auth_type, auth_portal_timeout …).
  const userSettings = new Map<string, Record<string, unknown>>();
  for (const vdom of vdoms) {
    userSettings.set(vdom, {
      'auth-type': 'http https ftp telnet',
      'auth-cert': 'Fortinet_Factory',
      'auth-ca-cert': '',
      'auth-secure-http': 'disable',
      'auth-portal-timeout': 3,
      'auth-ports': [],
    });
  }
  /** FortiOS ≥ 7.4.2 keeps a VIP's ssl-certificate as a list of references (terraform-provider-fortios expandFirewallVipSslCertificate). */
  const vipCertAsList = versionAtLeast(version, [7, 4, 2]);
  const firstVdom = vdoms[0] ?? 'root';
  const phase1s: { vdom: string; name: string; fields: Record<string, unknown>; certificates: string[] }[] = (
    opts.phase1 ?? []
  ).map((p) => {
    const authmethod = p.authmethod ?? 'signature';
    return {
      vdom: p.vdom ?? firstVdom,
      name: p.name,
      certificates: p.certificates ?? (authmethod === 'signature' ? ['Fortinet_Factory'] : []),
      // Field names: terraform-provider-fortios fortios_vpnipsec_phase1interface (type, interface, ike-version, authmethod, remote-gw, peertype).
      fields: {
        type: 'static',
        interface: 'wan1',
        'ike-version': '2',
        authmethod,
        'remote-gw': '198.51.100.1',
        peertype: 'any',
        'send-cert-chain': 'enable',
      },
    };
  });
  interface VipState {
    vdom: string;
    name: string;
    fields: Record<string, unknown>;
    certificates: string[];
    listener?: tls.Server;
    port?: number;
  }
  const terminatesTls = (type: string, serverType: string): boolean =>
    (type === 'server-load-balance' && ['https', 'ssl', 'imaps', 'pop3s', 'smtps'].includes(serverType)) ||
    type === 'access-proxy';
  const vips: VipState[] = (opts.vips ?? []).map((v) => ({
    vdom: v.vdom ?? firstVdom,
    name: v.name,
    certificates: v.certificates ?? ['Fortinet_Factory'],
    // Field names: terraform-provider-fortios fortios_firewall_vip (type, server-type, extip, extport, extintf, mappedip, mappedport, ssl-mode).
    fields: {
      type: v.type ?? 'server-load-balance',
      'server-type': v.serverType ?? 'https',
      extip: '127.0.0.1',
      extport: '0',
      extintf: 'any',
      mappedip: [{ range: '10.0.0.10' }],
      mappedport: '443',
      'ssl-mode': 'half',
    },
  }));

  let revision = 1;
  const revisionHash = (n: number): string => createHash('md5').update(`rev${n}`).digest('hex');

  const calls: FakeFortiGateCall[] = [];
  let mutating = 0;
  const failRules: { path: RegExp; failure: FakeFortiGateFailure; remaining: number }[] = [];
  const hooks: { path: RegExp; hook: () => void }[] = [];
  let stale = false;
  /** TEST SWITCH (not device behaviour): serve the bound leaf without its intermediates. */
  let leafOnly = false;

  const visible = <T extends { range: 'global' | 'vdom'; vdom?: string }>(item: T, vdom: string): boolean =>
    item.range === 'global' || item.vdom === vdom;
  const findLocal = (name: string, vdom: string): LocalCert | undefined =>
    locals.find((c) => c.name === name && visible(c, vdom));

  /** Intermediates from the CA store that chain the leaf (self-signed roots are not sent). */
  function chainFor(leaf: X509Certificate): string {
    const out: string[] = [];
    let current = leaf;
    for (let depth = 0; depth < 5; depth++) {
      const issuer = cas.find((ca) => current.checkIssued(ca.x509) && current.verify(ca.x509.publicKey));
      if (!issuer || (issuer.x509.checkIssued(issuer.x509) && issuer.x509.verify(issuer.x509.publicKey))) break;
      out.push(issuer.pem);
      current = issuer.x509;
    }
    return out.join('');
  }

  function contextFor(name: string): tls.SecureContextOptions {
    const cert = locals.find((c) => c.name === name) ?? locals[0];
    if (!cert) throw new Error('fake-fortigate: no certificate to serve');
    return {
      cert: cert.certPem + (leafOnly ? '' : chainFor(cert.x509)),
      key: cert.key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      ...(opts.tlsSessionTickets === false ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
    };
  }

  // ------------------------------------------------------------------ listeners
  let servedAdmin = 'Fortinet_Factory';
  let servedSslVpn = 'Fortinet_Factory';
  const admin = https.createServer({ ...contextFor(servedAdmin), keepAliveTimeout: 5_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJsonReply(res, 500, { status: 'error', http_status: 500, detail: String(error) });
      else res.destroy();
    });
  });
  admin.on('tlsClientError', () => undefined);
  const managementHandshakes = countHandshakes(admin);
  const serviceSockets = new Set<Socket>();
  /** A TLS service port (SSL-VPN portal, auth portal, VIP): answers one empty HTTP response and closes. */
  const serviceListener = (serving: string): tls.Server =>
    tlsServicePort(contextFor(serving), { contentType: 'text/html', sockets: serviceSockets }).server;
  const vpn = sslVpnRemoved ? undefined : serviceListener(servedSslVpn);
  const authPortal = serviceListener('Fortinet_Factory');
  for (const vip of vips)
    if (terminatesTls(String(vip.fields['type']), String(vip.fields['server-type'])))
      vip.listener = serviceListener(vip.certificates[0] ?? 'Fortinet_Factory');

  const adminPort = await listenOnLoopback(admin);
  const vpnPort = vpn ? await listenOnLoopback(vpn) : undefined;
  const authPortalPort = await listenOnLoopback(authPortal);
  globalSettings['admin-sport'] = adminPort;
  // terraform-provider-fortios fortios_system_global: auth-https-port (default 1003 since 6.4.0) lives in system global.
  globalSettings['auth-https-port'] = authPortalPort;
  globalSettings['auth-http-port'] = 1000;
  if (vpnPort !== undefined) for (const settings of sslVpn.values()) settings['port'] = vpnPort;
  for (const vip of vips) {
    if (!vip.listener) continue;
    vip.port = await listenOnLoopback(vip.listener);
    vip.fields['extport'] = String(vip.port);
  }

  /** Brings the listeners in line with the bindings (unless serving stale). */
  function syncListeners(): void {
    if (stale) return;
    const wantAdmin = String(globalSettings['admin-server-cert']);
    admin.setSecureContext(contextFor(wantAdmin));
    if (wantAdmin !== servedAdmin) {
      servedAdmin = wantAdmin;
      // The admin HTTPS daemon restarts: idle keep-alive connections go away.
      setImmediate(() => admin.closeIdleConnections());
    }
    const settings = sslVpn.get(sslVpnVdom);
    if (vpn && settings) {
      servedSslVpn = String(settings['servercert']);
      vpn.setSecureContext(contextFor(servedSslVpn));
    }
    authPortal.setSecureContext(
      contextFor(textOfSetting(userSettings.get(sslVpnVdom)?.['auth-cert']) ?? 'Fortinet_Factory'),
    );
    // A VIP with several certificates serves the first here (ASSUMPTION: the device picks by the client's signature algorithms).
    for (const vip of vips) vip.listener?.setSecureContext(contextFor(vip.certificates[0] ?? 'Fortinet_Factory'));
  }

  // ------------------------------------------------------------------ envelopes
  const base = (method: string, vdom: string, path: string, name: string): Record<string, unknown> => ({
    http_method: method,
    vdom,
    path,
    name,
  });
  const tail = (): Record<string, unknown> => ({ serial, version, build });

  function sendHtml(res: ServerResponse, status: number, title: string): void {
    const text = `<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1></body></html>\n`;
    res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  interface Route {
    family: 'cmdb' | 'monitor' | 'other';
    path: string;
    name: string;
    /** CMDB object key, or monitor action. */
    rest: string;
  }

  function parseRoute(pathname: string): Route {
    const parts = pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
    if (parts[0] !== 'api' || parts[1] !== 'v2' || (parts[2] !== 'cmdb' && parts[2] !== 'monitor'))
      return { family: 'other', path: '', name: '', rest: '' };
    return { family: parts[2], path: parts[3] ?? '', name: parts[4] ?? '', rest: parts.slice(5).join('/') };
  }

  function errorEnvelope(
    method: string,
    vdom: string,
    route: Route,
    status: number,
    code?: number,
    cliError?: string,
  ): Record<string, unknown> {
    return {
      http_method: method,
      ...(code !== undefined ? { error: code } : {}),
      status: 'error',
      http_status: status,
      vdom,
      path: route.path,
      name: route.name,
      ...(route.family === 'monitor' && route.rest ? { action: route.rest } : {}),
      ...(route.family === 'cmdb' && route.rest ? { mkey: route.rest } : {}),
      ...(cliError ? { cli_error: cliError } : {}),
      ...tail(),
    };
  }

  function cmdbWrite(method: string, vdom: string, route: Route, mkey?: string): Record<string, unknown> {
    const old = revision;
    revision += 1;
    return {
      ...base(method, vdom, route.path, route.name),
      revision: revisionHash(revision),
      revision_changed: true,
      old_revision: revisionHash(old),
      ...(mkey !== undefined ? { mkey } : {}),
      status: 'success',
      http_status: 200,
      ...tail(),
    };
  }

  function cmdbRead(vdom: string, route: Route, results: unknown, mkey?: string): Record<string, unknown> {
    const count = Array.isArray(results) ? results.length : 1;
    return {
      http_method: 'GET',
      size: count,
      matched_count: count,
      next_idx: count - 1,
      revision: revisionHash(revision),
      results,
      vdom,
      path: route.path,
      name: route.name,
      ...(mkey !== undefined ? { mkey } : {}),
      status: 'success',
      http_status: 200,
      ...tail(),
    };
  }

  function monitorSuccess(vdom: string, route: Route, results: Record<string, unknown>): Record<string, unknown> {
    return {
      http_method: 'POST',
      results,
      vdom,
      path: route.path,
      name: route.name,
      action: route.rest,
      status: 'success',
      http_status: 200,
      ...tail(),
    };
  }

  // ------------------------------------------------------------------ objects as the API shows them
  const localJson = (c: LocalCert): Record<string, unknown> => ({
    name: c.name,
    q_origin_key: c.name,
    password: 'ENC XXXX',
    comments: c.comments,
    'private-key': 'ENC XXXX',
    ...(opts.cmdbOmitsPem ? {} : { certificate: c.certPem }),
    state: '',
    range: c.range,
    source: c.source,
    'source-ip': '0.0.0.0',
    'ike-localid-type': 'asn1dn',
    'auto-regenerate-days': 0,
    'auto-regenerate-days-warning': 0,
    'last-updated': c.lastUpdated,
  });
  const caJson = (c: CaCert): Record<string, unknown> => ({
    name: c.name,
    q_origin_key: c.name,
    ...(opts.cmdbOmitsPem ? {} : { ca: c.pem }),
    range: c.range,
    source: c.source,
    'ssl-inspection-trusted': 'enable',
    'scep-url': '',
    'source-ip': '0.0.0.0',
    'ca-identifier': '',
    'auto-update-days': 0,
    'last-updated': c.lastUpdated,
  });
  const reference = (name: string): unknown => (opts.servercertAsObject ? { q_origin_key: name } : name);
  const referenceList = (names: string[]): Record<string, unknown>[] =>
    names.map((n) => ({ name: n, q_origin_key: n }));
  const phase1Json = (p: (typeof phase1s)[number]): Record<string, unknown> => ({
    name: p.name,
    q_origin_key: p.name,
    ...p.fields,
    certificate: referenceList(p.certificates),
  });
  const vipJson = (v: VipState): Record<string, unknown> => ({
    name: v.name,
    q_origin_key: v.name,
    ...v.fields,
    'ssl-certificate': vipCertAsList ? referenceList(v.certificates) : (v.certificates[0] ?? ''),
  });

  const bindingsOf = (name: string): string[] => {
    const used: string[] = [];
    if (globalSettings['admin-server-cert'] === name) used.push('system.global:admin-server-cert');
    if (ftmPush['server-cert'] === name) used.push('system.ftm-push:server-cert');
    for (const [vdom, settings] of sslVpn)
      if (settings['servercert'] === name) used.push(`vpn.ssl.settings(${vdom}):servercert`);
    for (const [vdom, settings] of userSettings)
      if (settings['auth-cert'] === name) used.push(`user.setting(${vdom}):auth-cert`);
    for (const p of phase1s)
      if (p.certificates.includes(name)) used.push(`vpn.ipsec.phase1-interface(${p.name}):certificate`);
    for (const v of vips) if (v.certificates.includes(name)) used.push(`firewall.vip(${v.name}):ssl-certificate`);
    return used;
  };

  // ------------------------------------------------------------------ handlers
  function importLocal(vdom: string, body: Record<string, unknown>): Record<string, unknown> {
    const type = body['type'];
    const scope = body['scope'] === 'global' ? 'global' : 'vdom';
    let x509: X509Certificate;
    let key: KeyObject;
    if (type === 'regular') {
      const certBytes = decodeBase64(body['file_content']);
      const keyBytes = decodeBase64(body['key_file_content']);
      if (!certBytes || !keyBytes) throw new FortiError(500, -145);
      x509 = readCertificate(certBytes, allowPem);
      key = readKey(keyBytes, allowPem);
    } else if (type === 'pkcs12') {
      const bytes = decodeBase64(body['file_content']);
      if (!bytes) throw new FortiError(500, -145);
      ({ x509, key } = readPkcs12(bytes, typeof body['password'] === 'string' ? body['password'] : ''));
    } else {
      throw new FortiError(500, -145);
    }
    checkKeyPair(x509, key);
    const fingerprint = fingerprintOf(x509);
    const requested =
      typeof body['certname'] === 'string' && body['certname'] !== '' ? body['certname'] : `cert_${locals.length}`;
    if (locals.some((c) => c.fingerprint === fingerprint)) throw new FortiError(500, -23);
    if (locals.some((c) => c.name === requested)) throw new FortiError(500, -5);
    if (requested.length > 35) throw new FortiError(500, -1);
    addLocal({ name: requested, x509, key, source: 'user', range: scope, ...(scope === 'vdom' ? { vdom } : {}) });
    syncListeners();
    return { status: 'success' };
  }

  function importCa(vdom: string, body: Record<string, unknown>): Record<string, unknown> {
    if (body['import_method'] !== undefined && body['import_method'] !== 'file') throw new FortiError(500, -145);
    const bytes = decodeBase64(body['file_content']);
    if (!bytes) throw new FortiError(500, -145);
    const x509 = readCertificate(bytes, allowPem);
    if (cas.some((c) => c.fingerprint === fingerprintOf(x509))) throw new FortiError(500, -328);
    const scope = body['scope'] === 'global' ? 'global' : 'vdom';
    addCa({ x509, source: 'user', range: scope, ...(scope === 'vdom' ? { vdom } : {}) });
    syncListeners();
    return { status: 'success' };
  }

  /**
   * Validates a certificate reference of a binding PUT; returns the name. An unknown name answers 500 /
   * -651 with `cli_error`, as a reference to a missing datasource entry does (terraform-provider-fortios
   * #193: "node_check_object fail! for name port2032 / value parse error before 'port2032' / Command
   * fail. Return code -651"; the field word in the first line: ASSUMPTION).
   */
  function boundName(value: unknown, vdom: string, needsGlobal: boolean, field = 'name'): string {
    const name = referenceName(value);
    const cert = name === undefined ? undefined : findLocal(name, vdom);
    const refuse = (): FortiError =>
      new FortiError(
        500,
        -651,
        `node_check_object fail! for ${field} ${name ?? ''}\nvalue parse error before '${name ?? ''}'\nCommand fail. Return code -651`,
      );
    if (!name || !cert) throw refuse();
    // A VDOM-scoped certificate is not in the datasource of a global setting (the direction: vladimirs-git/fortigate-api #41; the answer: ASSUMPTION).
    if (needsGlobal && multiVdom && cert.range !== 'global') throw refuse();
    return name;
  }

  /** A list of references `[{name}]` (phase-1 `certificate`, 7.4.2+ VIP `ssl-certificate`); anything else is refused like an unknown name (ASSUMPTION). */
  function boundList(value: unknown, vdom: string, field: string, max: number): string[] {
    if (!Array.isArray(value))
      throw new FortiError(
        500,
        -651,
        `node_check_object fail! for ${field}\nvalue parse error before '${typeof value === 'string' ? value : ''}'\nCommand fail. Return code -651`,
      );
    const names = value.map((v) =>
      isObject(v) ? boundName(v, vdom, false, field) : boundName(undefined, vdom, false, field),
    );
    // "The names of up to 4 signed personal certificates" (terraform-provider-fortios fortios_vpnipsec_phase1interface); the error code: ASSUMPTION.
    if (names.length > max)
      throw new FortiError(500, -1, `too many entries for ${field}\nCommand fail. Return code -1`);
    return names;
  }

  function route(
    method: string,
    r: Route,
    vdom: string,
    body: Record<string, unknown> | null,
  ): { status: number; payload: Record<string, unknown>; mutated: boolean } {
    const ok = (
      payload: Record<string, unknown>,
      mutated = method !== 'GET',
    ): { status: number; payload: Record<string, unknown>; mutated: boolean } => ({ status: 200, payload, mutated });
    const notFound = (): FortiError => new FortiError(404);
    const notAllowed = (): FortiError => new FortiError(405);
    const needBody = (): Record<string, unknown> => {
      if (!body) throw new FortiError(400);
      return body;
    };
    /**
     * A singleton CMDB table (404 where this vdom has none): GET reads it (as `shown` shows it), PUT
     * merges the body in, `certField` going through `bind` (a certificate reference: all or nothing),
     * then the listeners follow the new bindings unless `relisten` is false.
     */
    const settingsTable = (
      settings: Record<string, unknown> | undefined,
      certField: string,
      bind: (value: unknown) => unknown,
      options: { shown?: (settings: Record<string, unknown>) => Record<string, unknown>; relisten?: boolean } = {},
    ): { status: number; payload: Record<string, unknown>; mutated: boolean } => {
      if (!settings) throw notFound();
      if (method === 'GET') return ok(cmdbRead(vdom, r, options.shown ? options.shown(settings) : { ...settings }));
      if (method !== 'PUT') throw notAllowed();
      const next = { ...settings };
      for (const [k, v] of Object.entries(needBody())) next[k] = k === certField ? bind(v) : v;
      Object.assign(settings, next);
      if (options.relisten !== false) syncListeners();
      return ok(cmdbWrite(method, vdom, r));
    };

    /**
     * A CMDB table of named entries (those visible in this vdom): GET without a name lists them, GET
     * with one reads it, PUT and DELETE on a name go to `change` (PUT given the body); anything else
     * is refused.
     */
    const namedTable = <T extends { name: string }>(
      entries: T[],
      toJson: (entry: T) => Record<string, unknown>,
      change: { PUT?: (entry: T, body: Record<string, unknown>) => void; DELETE?: (entry: T) => void },
    ): { status: number; payload: Record<string, unknown>; mutated: boolean } => {
      if (!r.rest) {
        if (method !== 'GET') throw notAllowed();
        return ok(cmdbRead(vdom, r, entries.map(toJson)));
      }
      const entry = entries.find((x) => x.name === r.rest);
      if (!entry) throw notFound();
      if (method === 'GET') return ok(cmdbRead(vdom, r, [toJson(entry)], entry.name));
      if (method === 'PUT' && change.PUT) change.PUT(entry, needBody());
      else if (method === 'DELETE' && change.DELETE) change.DELETE(entry);
      else throw notAllowed();
      return ok(cmdbWrite(method, vdom, r, entry.name));
    };

    if (
      r.family === 'monitor' &&
      r.path === 'vpn-certificate' &&
      r.rest === 'import' &&
      (r.name === 'local' || r.name === 'ca')
    ) {
      if (method !== 'POST') throw notAllowed();
      return ok(
        monitorSuccess(vdom, r, r.name === 'local' ? importLocal(vdom, needBody()) : importCa(vdom, needBody())),
      );
    }
    if (r.family !== 'cmdb') throw notFound();

    if (r.path === 'vpn.certificate' && r.name === 'local') {
      return namedTable(
        locals.filter((c) => visible(c, vdom)),
        localJson,
        {
          PUT: (cert, b) => {
            // In-place replacement does not work (tf-fortios #404): only comments change, the content stays.
            if (typeof b['comments'] === 'string') cert.comments = b['comments'];
            cert.lastUpdated = now();
          },
          DELETE: (cert) => {
            const used = bindingsOf(cert.name);
            if (cert.source === 'factory' || used.length > 0) {
              throw new FortiError(
                500,
                -23,
                `The entry is used by other ${used.length || 1} entries\nCommand fail. Return code -23`,
              );
            }
            locals.splice(locals.indexOf(cert), 1);
          },
        },
      );
    }

    if (r.path === 'vpn.certificate' && r.name === 'ca') {
      return namedTable(
        cas.filter((c) => visible(c, vdom)),
        caJson,
        {
          DELETE: (ca) => {
            if (ca.source === 'factory')
              throw new FortiError(500, -23, 'The entry is used by other 1 entries\nCommand fail. Return code -23');
            cas.splice(cas.indexOf(ca), 1);
            syncListeners();
          },
        },
      );
    }

    if (r.path === 'system' && r.name === 'global' && !r.rest) {
      return settingsTable(globalSettings, 'admin-server-cert', (v) => boundName(v, vdom, true));
    }

    if (r.path === 'system' && r.name === 'ftm-push' && !r.rest) {
      return settingsTable(ftmPush, 'server-cert', (v) => boundName(v, vdom, true), { relisten: false });
    }

    if (r.path === 'vpn.ssl' && r.name === 'settings' && !r.rest) {
      return settingsTable(sslVpn.get(vdom), 'servercert', (v) => boundName(v, vdom, false), {
        shown: (settings) => ({ ...settings, servercert: reference(String(settings['servercert'])) }),
      });
    }

    if (r.path === 'user' && r.name === 'setting' && !r.rest) {
      // auth-cert: a string, datasource vpn.certificate.local.name (FortiOS CLI reference "user setting", 6.0.0).
      return settingsTable(userSettings.get(vdom), 'auth-cert', (v) => boundName(v, vdom, false, 'auth-cert'));
    }

    if (r.path === 'vpn.ipsec' && r.name === 'phase1-interface') {
      return namedTable(
        phase1s.filter((p) => p.vdom === vdom),
        phase1Json,
        {
          PUT: (p, b) => {
            const certificates =
              'certificate' in b ? boundList(b['certificate'], vdom, 'certificate', 4) : p.certificates;
            for (const [k, v] of Object.entries(b)) if (k !== 'certificate' && k !== 'name') p.fields[k] = v;
            p.certificates = certificates;
          },
        },
      );
    }

    if (r.path === 'firewall' && r.name === 'vip') {
      return namedTable(
        vips.filter((v) => v.vdom === vdom),
        vipJson,
        {
          PUT: (v, b) => {
            let certificates = v.certificates;
            if ('ssl-certificate' in b) {
              // The shape follows the firmware (terraform-provider-fortios expandFirewallVipSslCertificate: a list from 7.4.2);
              // the other shape is refused (ASSUMPTION).
              const value = b['ssl-certificate'];
              if (vipCertAsList) certificates = boundList(value, vdom, 'ssl-certificate', 8);
              else if (typeof value === 'string') certificates = [boundName(value, vdom, false, 'ssl-certificate')];
              else
                throw new FortiError(
                  500,
                  -651,
                  `node_check_object fail! for ssl-certificate\nvalue parse error before ''\nCommand fail. Return code -651`,
                );
            }
            for (const [k, val] of Object.entries(b)) if (k !== 'ssl-certificate' && k !== 'name') v.fields[k] = val;
            v.certificates = certificates;
            syncListeners();
          },
        },
      );
    }

    throw notFound();
  }

  async function readBody(req: IncomingMessage): Promise<{ body: Record<string, unknown> | null; malformed: boolean }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    const raw = Buffer.concat(chunks);
    if (raw.length === 0) return { body: null, malformed: false };
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      try {
        const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
        const body: Record<string, unknown> = {};
        for (const [k, v] of form.entries())
          body[k] = typeof v === 'string' ? v : Buffer.from(await v.arrayBuffer()).toString('utf8');
        return { body, malformed: false };
      } catch {
        return { body: null, malformed: true };
      }
    }
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      return isObject(parsed) ? { body: parsed, malformed: false } : { body: null, malformed: true };
    } catch {
      return { body: null, malformed: true };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://fortigate.invalid');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) if (k !== 'access_token') query[k] = v;
    const { body, malformed } = await readBody(req);

    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const queryToken = url.searchParams.get('access_token');
    const auth: FakeFortiGateCall['auth'] =
      bearer === opts.token
        ? 'header'
        : opts.acceptQueryToken && queryToken === opts.token && bearer === undefined
          ? 'query'
          : 'none';
    const call: FakeFortiGateCall = { method, path: url.pathname, query, body: redact(body), auth, status: 0 };
    calls.push(call);

    const r = parseRoute(url.pathname);
    const vdom = url.searchParams.get('vdom') ?? 'root';
    const reply = (status: number, payload: Record<string, unknown>): void => {
      call.status = status;
      if (typeof payload['error'] === 'number') call.error = payload['error'];
      sendJsonReply(res, status, payload);
    };

    if (auth === 'none') {
      call.status = 401;
      return sendHtml(res, 401, 'Unauthorized');
    }
    if ((opts.forbidden && opts.forbidden.test(url.pathname)) || (opts.readOnly && method !== 'GET')) {
      return reply(403, errorEnvelope(method, vdom, r, 403));
    }
    const rule = failRules.find(
      (f) =>
        f.remaining > 0 &&
        f.path.test(url.pathname) &&
        (f.failure.method === undefined || f.failure.method.toUpperCase() === method),
    );
    if (rule) {
      rule.remaining -= 1;
      if (rule.failure.error !== undefined)
        return reply(rule.failure.status, errorEnvelope(method, vdom, r, rule.failure.status, rule.failure.error));
      call.status = rule.failure.status;
      return sendHtml(res, rule.failure.status, 'Internal Server Error');
    }
    const hookIndex = hooks.findIndex((h) => h.path.test(url.pathname));
    if (hookIndex >= 0) hooks.splice(hookIndex, 1)[0]?.hook();

    if (!vdoms.includes(vdom)) return reply(404, errorEnvelope(method, vdom, r, 404));
    if (malformed) return reply(400, errorEnvelope(method, vdom, r, 400));
    try {
      const result = route(method, r, vdom, body);
      if (result.mutated) mutating += 1;
      reply(result.status, result.payload);
    } catch (error) {
      if (!(error instanceof FortiError)) throw error;
      reply(error.status, errorEnvelope(method, vdom, r, error.status, error.code, error.cliError));
    }
  }

  const object = (c: LocalCert | CaCert): FakeFortiGateObject => ({
    name: c.name,
    fingerprintSha256: c.fingerprint,
    source: c.source,
    range: c.range,
    ...(c.vdom !== undefined ? { vdom: c.vdom } : {}),
    pem: 'certPem' in c ? c.certPem : c.pem,
  });

  return {
    endpoints: {
      admin: { host: '127.0.0.1', port: adminPort },
      ...(vpnPort !== undefined ? { sslVpn: { host: '127.0.0.1', port: vpnPort } } : {}),
      authPortal: { host: '127.0.0.1', port: authPortalPort },
      vips: Object.fromEntries(
        vips.filter((v) => v.port !== undefined).map((v) => [v.name, { host: '127.0.0.1', port: v.port ?? 0 }]),
      ),
    },
    host: '127.0.0.1',
    port: adminPort,
    calls,
    managementHandshakes,
    managementFingerprint: () => fingerprintOf(new X509Certificate(factory.certPem)),
    view: () => ({
      certificateObjects: () =>
        [...locals, ...cas].filter((c) => c.source !== 'factory' && !c.name.startsWith('Fortinet_')).map((c) => c.name),
      mutatingCalls: () => mutating,
      secrets: [opts.token],
      serveLeafOnly: (on) => {
        leafOnly = on;
        syncListeners();
      },
    }),
    localCertificates: () => locals.map(object),
    caCertificates: () => cas.map(object),
    bindings: () => ({
      adminServerCert: String(globalSettings['admin-server-cert']),
      sslVpnServerCert: Object.fromEntries([...sslVpn].map(([vdom, s]) => [vdom, String(s['servercert'])])),
      ftmPushServerCert: String(ftmPush['server-cert']),
      authCert: Object.fromEntries([...userSettings].map(([vdom, s]) => [vdom, String(s['auth-cert'])])),
      phase1: Object.fromEntries(phase1s.map((p) => [p.name, [...p.certificates]])),
      vips: Object.fromEntries(vips.map((v) => [v.name, [...v.certificates]])),
    }),
    seedLocalCertificate(input) {
      const x509 = new X509Certificate(input.certPem);
      const scope = input.scope ?? 'global';
      addLocal({
        name: input.name,
        x509,
        key: createPrivateKey(input.keyPem),
        source: 'user',
        range: scope,
        ...(scope === 'vdom' ? { vdom: input.vdom ?? 'root' } : {}),
      });
      syncListeners();
    },
    seedCaCertificate(pem) {
      const ca = addCa({ x509: new X509Certificate(pem), source: 'user', range: 'global' });
      syncListeners();
      return ca.name;
    },
    failNext(path, failure) {
      failRules.push({
        path: statelessPattern(path),
        failure,
        remaining: failure.times ?? 1,
      });
    },
    clearFailures() {
      failRules.length = 0;
    },
    beforeNext(path, hook) {
      hooks.push({ path: statelessPattern(path), hook });
    },
    serveStale(on) {
      stale = on;
      syncListeners();
    },
    async close() {
      for (const socket of serviceSockets) socket.destroy();
      const closing = [
        admin,
        ...(vpn ? [vpn] : []),
        authPortal,
        ...vips.flatMap((v) => (v.listener ? [v.listener] : [])),
      ].map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      admin.closeAllConnections();
      await Promise.all(closing);
    },
  };
}
