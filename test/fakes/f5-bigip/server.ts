/**
 * A fake F5 BIG-IP for deployer tests: iControl REST over HTTPS on 127.0.0.1 (a generated self-signed
 * management certificate, trusted by pinning its fingerprint) plus one TLS "virtual server" per
 * client-ssl profile that presents whatever certificate and chain the profile is bound to, so verify
 * is a real handshake. node:https / node:tls only.
 *
 * Sources: [f5-ans] F5Networks/f5-ansible (@da26e79: module_utils/icontrol.py, bigip_ssl_key_cert.py,
 * bigip_config.py, bigip_profile_client_ssl.py; bigip_configsync_action.py @cd5f741); [f5-tok]
 * community.f5.com "iControl REST Authentication Token Management" (article 287462); F5 iControl REST
 * user guide (transactions); colin-stubbs/dehydrated-bigip issue #11; f5-ansible issues #269, #1217,
 * #2505. Every behaviour names its source or says ASSUMPTION (marked GUESS next to the code);
 * docs/vendors/f5-bigip.md lists the assumptions (B1-B7, B-chain).
 * - `POST /mgmt/shared/authn/login` → token (timeout 1200 s) sent back as `X-F5-Auth-Token` ([f5-ans]
 *   icontrol.py, [f5-tok]); `PATCH /mgmt/shared/authz/tokens/<t>` `{timeout}` ≤ 36000 else 406, `DELETE`
 *   on the same URL, tokens only managed by their owner ([f5-tok]); at most 100 active tokens per user
 *   except `admin` (400 "user <id> has reached maximum active login tokens": [f5-tok], K44237337 via
 *   f5-ansible #269); `Authorization: Basic` also accepted ([f5-tok]).
 * - chunked upload `POST /mgmt/shared/file-transfer/uploads/<file>` with `Content-Range: start-end/total`
 *   (0-based, inclusive end) ([f5-ans] upload_file); a chunk starting at 0 restarts the file (f5-ansible
 *   restarts a broken upload from 0; the device side: GUESS); the reply shape with `localFilePath`
 *   (F5 FAST docs, go-bigip test fixtures).
 * - `POST /mgmt/tm/sys/crypto/{cert,key,pkcs12}` `{command:"install", …}` (dehydrated-bigip #11;
 *   pkcs12: terraform-provider-bigip); `sys/file/ssl-cert` and `ssl-key` collection GET, POST
 *   (sourcePath), item GET/PATCH/DELETE ([f5-ans] bigip_ssl_key_cert.py); an object a profile uses
 *   cannot be deleted (documented refusal; code and wording GUESS); "already exists" is 409 01020066
 *   (GUESS for this endpoint).
 * - transactions: `POST /mgmt/tm/transaction`, `/mgmt/tm/*` writes carrying `X-F5-REST-Coordination-Id`
 *   are queued, `PATCH /mgmt/tm/transaction/<id>` `{"state":"VALIDATING"}` applies them all or none
 *   ([f5-ans] TransactionContextManager; user guide). Uploads are not part of transactions (same).
 * - `GET/PATCH /mgmt/tm/ltm/profile/client-ssl/~P~<name>` ([f5-ans] bigip_profile_client_ssl.py): cert,
 *   key (and chain) must exist and key and cert must match, else 400 `01070317:3: profile /P/<name>'s
 *   key and certificate do not match` (f5-ansible #1217, #2505), so changing only one of them outside a
 *   transaction fails, as on the device.
 * - `POST /mgmt/tm/sys/config {"command":"save"}` records the saved configuration (F5 cloud template
 *   scripts; [f5-ans] bigip_config.py saves via util/bash instead).
 * - `GET /mgmt/tm/sys/version` (versionstats), `POST /mgmt/tm/cm` config-sync and
 *   `GET /mgmt/tm/cm/device-group/~P~g` ([f5-ans] bigip_configsync_action.py), `POST /mgmt/tm/util/unix-rm`
 *   ([f5-ans] bigip_ssl_key_cert.py removes uploaded files with it).
 * - users and roles (roles.ts): `GET /mgmt/tm/auth/user/<self>` with `partitionAccess`; a role that may not
 *   make a call gets restjavad's 401 "Authorization failed: user=… resource=… verb=…" (terraform-provider-bigip
 *   #160, f5-appsvcs-extension #420). The default user is an Administrator on all partitions.
 * - HA (sync-status.ts): `GET /mgmt/tm/cm/sync-status` shaped like a recorded 14.1.4.6 reply
 *   (e-XpertSolutions/f5-rest-client); a change leaves the group "Changes Pending", a config-sync goes
 *   through "Not All Devices Synced" to "In Sync", or stays "Changes Pending" / "Disconnected" on a switch.
 * - errors: `{"code":400,"message":"…","errorStack":[],"apiError":3}` for /mgmt/tm (dehydrated-bigip
 *   #11), restjavad's `{"code":401,"message":"…","referer":…,"restOperationId":…,"errorStack":[],
 *   "kind":":resterrorresponse"}` for /mgmt/shared ([f5-tok] examples).
 *
 * ASSUMPTIONS: every wording and code marked GUESS next to the code; the role rules (roles.ts, B4-B6)
 * and the sync-state rules (sync-status.ts, B7); ECDSA keys are accepted on every version.
 * The fake records every call without secrets (no passwords, no token values, no PEM bodies).
 */
import { constants, createHash, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import type * as http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import type { VerifyEndpoint } from '../../../activities/deployers/types';
import type { FakeDeviceView } from '../../support/deployer-contract';
import { countHandshakes, type HandshakeCount } from '../../support/tls-handshakes';
import {
  certJson,
  DeviceConfig,
  DOWNLOADS,
  F5Error,
  fullPathOf,
  keyJson,
  parseCertificateFile,
  parseKeyFile,
  profileJson,
  splitPath,
  VERSION_QUERY,
  type KeyChainEntry,
} from './device-config';
import { ADMIN_ACCESS, authorize, userJson, type PartitionAccess } from './roles';
import { selfSignedRsa } from './self-signed';
import { FakeSyncState, type SyncBehaviour } from './sync-status';
import { closeServers, listenOnLoopback, statelessPattern, tlsServicePort } from '../../support/fake-server-io';

export interface FakeBigipOptions {
  /** Default 'certfleet' (a non-admin user, so the token cap applies). */
  username?: string;
  /** Default: random. */
  password?: string;
  /** Partition of the profiles, default 'Common'. */
  partition?: string;
  /** client-ssl profiles, each with its own TLS listener; default ['clientssl-web']. */
  profiles?: string[];
  /** Device groups known to `config-sync`; default ['certfleet-sync']. */
  deviceGroups?: string[];
  /** TMOS version, default '17.1.1.3'. */
  version?: string;
  /** Active tokens per non-admin user, default 100. */
  tokenCap?: number;
  /** The user's roles (`partitionAccess`), default Administrator on all partitions. */
  partitionAccess?: PartitionAccess[];
  /** Sync-status reads that show "Not All Devices Synced" after a config-sync before "In Sync"; default 1. */
  syncPollsToInSync?: number;
  /**
   * Let the management HTTPS resume TLS sessions (tickets), as a real device's httpd may. Default
   * false, because the pinned-fingerprint connector of activities/deployers/device-http.ts fails on
   * resumed sessions: a resumed handshake carries no peer certificate, so the pin check sees "(none)".
   * The fix there is `buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 })`.
   */
  /** Default true, like a real device. */
  resumeTlsSessions?: boolean;
}

export interface FakeBigipCall {
  method: string;
  /** Request path; token values are replaced by `<token>`. */
  path: string;
  status: number;
  auth: 'token' | 'basic' | 'none';
  /** X-F5-REST-Coordination-Id, when sent. */
  transId?: string;
  /** Content-Range of an upload chunk. */
  contentRange?: string;
  /** JSON body with `password`/`passphrase` redacted; `{ bytes: n }` for raw bodies; undefined when empty. */
  body?: unknown;
}

export interface FakeBigipFailure {
  /** Default 500. */
  status?: number;
  /** Default: the tm error envelope with a "scripted failure" message. A string is sent as is. */
  body?: unknown;
  /** How many matching requests fail, default 1. */
  times?: number;
  /** Let this many matching requests through first, default 0. */
  after?: number;
  /** Reset the connection instead of answering (a broken transfer). */
  destroy?: boolean;
}

export interface FakeBinding {
  name: string;
  cert: string;
  key: string;
  chain?: string;
}

export interface FakeBigip {
  host: string;
  port: number;
  /** SHA-256 of the management certificate, lowercase hex without colons (pin it). */
  managementFingerprint: string;
  /** TLS handshakes on the management (iControl REST) listener: full or resumed. */
  managementHandshakes: HandshakeCount;
  username: string;
  password: string;
  /** Full paths of the profiles with a TLS listener, in option order. */
  profiles: string[];
  /** One TLS endpoint per profile, in the same order. */
  endpoints: VerifyEndpoint[];
  endpointFor(profile: string): VerifyEndpoint;
  calls: FakeBigipCall[];
  /** Accepted (status < 400) non-GET calls outside login/token management. */
  mutatingCalls(): number;
  /** Full paths of ssl-cert and ssl-key objects. */
  certificateObjects(): string[];
  /** Files under /var/config/rest/downloads. */
  uploadedFiles(): string[];
  /** Running cert-key-chain (first entry) per profile full path. */
  bindings(): Record<string, FakeBinding | undefined>;
  /** The same, as of the last `sys config save` (undefined before the first save). */
  savedBindings(): Record<string, FakeBinding | undefined> | undefined;
  savedConfigCount(): number;
  /** Device groups synced to, in order. */
  configSyncs(): string[];
  /** What a config-sync does from now on: completes (default), leaves the group "Changes Pending", or finds the peer "Disconnected". */
  setSyncBehaviour(behaviour: SyncBehaviour): void;
  /** The status `GET /mgmt/tm/cm/sync-status` would report now (without advancing a sync). */
  syncStatus(): string;
  activeTokens(): number;
  /** Adds active tokens for the user (other clients' sessions, or the 17.1.2.x token leak). */
  leakTokens(count: number): void;
  /** Deletes every token (an admin clearing them). */
  dropAllTokens(): void;
  failNext(path: RegExp, failure?: FakeBigipFailure): void;
  /** Ends every scripted failure (an outage is over). */
  clearFailures(): void;
  /** On: client-ssl profile changes (of `profile` only, when given) fail with 400 when applied. */
  refuseBind(on: boolean, profile?: string): void;
  /** On: the TLS listeners keep presenting what they presented (a device that applies late). */
  serveStale(on: boolean): void;
  view(): FakeDeviceView;
  close: () => Promise<void>;
}

interface TokenState {
  user: string;
  startedAt: number;
  timeoutSeconds: number;
}

interface QueuedCommand {
  method: string;
  path: string;
  body: unknown;
}

interface Transaction {
  id: string;
  user: string;
  state: 'STARTED' | 'COMPLETED' | 'FAILED';
  commands: QueuedCommand[];
  lastActivity: number;
  failureReason?: string;
}

interface FailRule extends Required<Omit<FakeBigipFailure, 'body'>> {
  path: RegExp;
  body: unknown;
}

interface Listener {
  profile: string;
  server: tls.Server;
  port: number;
  presented: string;
  sockets: Set<Socket>;
}

interface Reply {
  status: number;
  body?: unknown;
}

const TOKEN_TIMEOUT = 1200;
const TOKEN_MAX_TIMEOUT = 36000;
const TRANSACTION_TIMEOUT_SECONDS = 30;
const AUTH_PATHS = /^\/mgmt\/shared\/(authn\/login|authz\/tokens)(\/|$)/;

/** BIG-IP user ids are name-based UUIDs: md5(name) with the version-3 bits (K59142111 shows md5("admin")). */
function userId(username: string): string {
  const h = createHash('md5').update(username).digest('hex');
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-3${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Tokens look like 26 upper-case base32 characters. */
function newToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(26)].map((b) => alphabet[b % 32]).join('');
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, /password|passphrase/i.test(k) ? '<redacted>' : redact(v)]),
    );
  }
  return value;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export async function startFakeBigip(opts: FakeBigipOptions = {}): Promise<FakeBigip> {
  const username = opts.username ?? 'certfleet';
  const password = opts.password ?? `pw-${randomBytes(9).toString('base64url')}`;
  const partition = opts.partition ?? 'Common';
  const version = opts.version ?? '17.1.1.3';
  const tokenCap = opts.tokenCap ?? 100;
  const deviceGroups = new Set((opts.deviceGroups ?? ['certfleet-sync']).map((g) => fullPathOf(g)));
  const profilePaths = (opts.profiles ?? ['clientssl-web']).map((p) => fullPathOf(p, partition));

  const management = selfSignedRsa('localhost.localdomain');
  const factory = selfSignedRsa('localhost.localdomain');
  const created = new Date();

  let config = new DeviceConfig();
  config.certs.set('/Common/default.crt', {
    fullPath: '/Common/default.crt',
    pem: factory.certPem,
    createdAt: created,
    updatedAt: created,
    revision: 1,
  });
  config.keys.set('/Common/default.key', {
    fullPath: '/Common/default.key',
    pem: factory.keyPem,
    createdAt: created,
    updatedAt: created,
    revision: 1,
  });
  const factoryEntry: KeyChainEntry = { name: 'default', cert: '/Common/default.crt', key: '/Common/default.key' };
  // The parent profile every custom client-ssl profile inherits from (no listener of its own).
  config.profiles.set('/Common/clientssl', {
    fullPath: '/Common/clientssl',
    defaultsFrom: 'none',
    certKeyChain: [{ ...factoryEntry }],
    generation: 1,
  });
  for (const p of profilePaths)
    config.profiles.set(p, {
      fullPath: p,
      defaultsFrom: '/Common/clientssl',
      certKeyChain: [{ ...factoryEntry }],
      generation: 1,
    });
  let saved: DeviceConfig | undefined;
  let savedCount = 0;
  const syncs: string[] = [];
  const access = opts.partitionAccess ?? ADMIN_ACCESS;
  const syncState = new FakeSyncState(
    () => [...deviceGroups].map((g) => splitPath(g).name),
    opts.syncPollsToInSync ?? 1,
  );

  const tokens = new Map<string, TokenState>();
  const uploads = new Map<string, { total: number; data: Buffer; next: number; chunks: Record<string, number> }>();
  const transactions = new Map<string, Transaction>();
  let transactionSeq = 0;
  let restOperationId = 1000;
  const calls: FakeBigipCall[] = [];
  let mutating = 0;
  const failRules: FailRule[] = [];
  let refusal: { on: boolean; profile?: string } = { on: false };
  let stale = false;
  /** TEST SWITCH (not device behaviour): serve the bound leaf without its intermediates. */
  let leafOnly = false;

  const isActive = (t: TokenState): boolean => Date.now() < t.startedAt + t.timeoutSeconds * 1000;
  const activeTokensOf = (user: string): number =>
    [...tokens.values()].filter((t) => t.user === user && isActive(t)).length;

  // ------------------------------------------------------------------------------------------
  // TLS listeners (virtual servers using the profiles)

  const listeners: Listener[] = [];

  /** The profile's certificate followed by exactly the chain file bound with it (certKeyChain `chain`; ASSUMPTION B-chain in docs/vendors/f5-bigip.md). */
  function presented(cfg: DeviceConfig, profile: string): { key: string; cert: string } | undefined {
    const entry = cfg.profiles.get(profile)?.certKeyChain[0];
    if (!entry) return undefined;
    const cert = cfg.certs.get(entry.cert);
    const key = cfg.keys.get(entry.key);
    if (!cert || !key) return undefined;
    const chain = entry.chain && !leafOnly ? (cfg.certs.get(entry.chain)?.pem ?? '') : '';
    return { key: key.pem, cert: `${cert.pem.trim()}\n${chain.trim()}\n`.replace(/\n\n$/, '\n') };
  }

  function refreshListeners(): void {
    if (stale) return;
    for (const listener of listeners) {
      const material = presented(config, listener.profile);
      if (!material || material.cert === listener.presented) continue;
      listener.server.setSecureContext(material);
      listener.presented = material.cert;
    }
  }

  for (const profile of profilePaths) {
    const material = presented(config, profile);
    if (!material) throw new Error(`fake-bigip: profile ${profile} has no certificate`);
    const { server, sockets } = tlsServicePort(material, { body: 'ok' });
    const port = await listenOnLoopback(server);
    listeners.push({
      profile,
      server,
      port,
      presented: material.cert,
      sockets,
    });
  }

  // ------------------------------------------------------------------------------------------
  // Errors

  function envelope(error: F5Error): Record<string, unknown> {
    if (error.style === 'rest') {
      return {
        code: error.status,
        message: error.message,
        referer: '127.0.0.1',
        restOperationId: ++restOperationId,
        errorStack: [],
        kind: ':resterrorresponse',
      };
    }
    return { code: error.status, message: error.message, errorStack: [], apiError: 3 };
  }

  const notRegistered = (p: string): F5Error =>
    new F5Error(404, `Public URI path not registered: ${p.replace(/^\/mgmt/, '')}`, 'rest'); // GUESS: wording
  const badMethod = (method: string): F5Error => new F5Error(400, `Found unexpected method: ${method}`); // GUESS: wording

  // ------------------------------------------------------------------------------------------
  // Authentication

  function authenticate(req: http.IncomingMessage, call: FakeBigipCall): string {
    const token = req.headers['x-f5-auth-token'];
    if (typeof token === 'string' && token !== '') {
      call.auth = 'token';
      const state = tokens.get(token);
      if (!state || !isActive(state)) throw new F5Error(401, 'X-F5-Auth-Token does not exist.', 'rest');
      return state.user;
    }
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      call.auth = 'basic';
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (decoded.slice(0, colon) === username && decoded.slice(colon + 1) === password) return username;
      // GUESS: the device answers a wrong Basic password with a 401 (httpd may send HTML instead of JSON).
      throw new F5Error(401, 'Authentication failed.', 'rest');
    }
    throw new F5Error(401, 'Authorization failed: no user authentication header or token detected.', 'rest');
  }

  function tokenJson(value: string, t: TokenState): Record<string, unknown> {
    return {
      token: value,
      name: value,
      userName: t.user,
      authProviderName: 'tmos',
      user: { link: `https://localhost/mgmt/shared/authz/users/${t.user}` },
      timeout: t.timeoutSeconds,
      startTime: new Date(t.startedAt).toISOString(),
      address: '127.0.0.1',
      partition: '[All]',
      generation: 1,
      lastUpdateMicros: t.startedAt * 1000,
      expirationMicros: (t.startedAt + t.timeoutSeconds * 1000) * 1000,
      kind: 'shared:authz:tokens:authtokenitemstate',
      selfLink: `https://localhost/mgmt/shared/authz/tokens/${value}`,
    };
  }

  function login(body: unknown): Reply {
    if (!isRecord(body) || typeof body['username'] !== 'string' || typeof body['password'] !== 'string') {
      throw new F5Error(400, 'username and password are required', 'rest'); // GUESS: wording
    }
    const provider = body['loginProviderName'] ?? 'tmos';
    if (body['username'] !== username || body['password'] !== password || provider !== 'tmos') {
      throw new F5Error(401, 'Authentication failed.', 'rest');
    }
    if (username !== 'admin' && activeTokensOf(username) >= tokenCap) {
      throw new F5Error(400, `user ${userId(username)} has reached maximum active login tokens`, 'rest');
    }
    const value = newToken();
    const state: TokenState = { user: username, startedAt: Date.now(), timeoutSeconds: TOKEN_TIMEOUT };
    tokens.set(value, state);
    return {
      status: 200,
      body: {
        username,
        loginReference: {
          link: 'https://localhost/mgmt/cm/system/authn/providers/tmos/1f44a60e-11a7-3c51-a49f-82983026b41b/login',
        },
        loginProviderName: 'tmos',
        token: tokenJson(value, state),
        generation: 0,
        lastUpdateMicros: 0,
      },
    };
  }

  function tokenItem(method: string, value: string, user: string, body: unknown): Reply {
    const state = tokens.get(value);
    if (!state || !isActive(state)) throw new F5Error(404, 'Object not found: token', 'rest'); // GUESS: wording
    // Tokens can only be managed by their owner ([f5-tok]). GUESS: status and wording.
    if (state.user !== user)
      throw new F5Error(401, `Authorization failed: user ${userId(user)} may not manage this token`, 'rest');
    if (method === 'GET') return { status: 200, body: tokenJson(value, state) };
    if (method === 'DELETE') {
      tokens.delete(value);
      return { status: 200, body: tokenJson(value, state) };
    }
    if (method === 'PATCH') {
      const timeout = isRecord(body) ? body['timeout'] : undefined;
      if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1)
        throw new F5Error(400, 'timeout must be a positive integer', 'rest'); // GUESS
      if (timeout > TOKEN_MAX_TIMEOUT)
        throw new F5Error(406, `Auth-token absolute timeout (${TOKEN_MAX_TIMEOUT} seconds) exceeded`, 'rest');
      state.timeoutSeconds = timeout;
      return { status: 200, body: tokenJson(value, state) };
    }
    throw badMethod(method);
  }

  // ------------------------------------------------------------------------------------------
  // Uploads (not part of transactions, docs/vendors/f5-bigip.md)

  function upload(file: string, req: http.IncomingMessage, raw: Buffer): Reply {
    if (!/^application\/octet-stream/.test(req.headers['content-type'] ?? '')) {
      throw new F5Error(
        400,
        `Found invalid content-type. The content-type must be application/octet-stream. The received content-type is ${req.headers['content-type'] ?? 'none'}`,
        'rest',
      ); // GUESS
    }
    if (!file || file.includes('/') || file === '..') throw new F5Error(400, 'invalid file name', 'rest'); // GUESS
    const range = /^(\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] ?? '');
    if (!range)
      throw new F5Error(400, 'Content-Range header is missing or invalid (expected <start>-<end>/<total>)', 'rest'); // GUESS
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (end < start || end >= total || raw.length !== end - start + 1) {
      throw new F5Error(
        400,
        `Content-Range ${start}-${end}/${total} does not match a body of ${raw.length} bytes`,
        'rest',
      ); // GUESS
    }
    // A chunk at 0 starts the file over (f5-ansible restarts a broken upload from 0). GUESS: the device
    // is stricter than needed about order; out-of-order chunks are refused here to catch client bugs.
    let state = uploads.get(file);
    if (start === 0) {
      state = { total, data: Buffer.alloc(total), next: 0, chunks: {} };
      uploads.set(file, state);
    } else if (!state || state.total !== total || state.next !== start) {
      throw new F5Error(
        400,
        `chunk ${start}-${end}/${total} of ${file} does not continue the upload (expected offset ${state?.next ?? 0})`,
        'rest',
      ); // GUESS
    }
    raw.copy(state.data, start);
    state.next = end + 1;
    state.chunks[String(start)] = raw.length;
    if (state.next === total) {
      config.downloads.set(file, state.data);
      uploads.delete(file);
    }
    return {
      status: 200,
      body: {
        remainingByteCount: total - state.next,
        usedChunks: { ...state.chunks },
        totalByteCount: total,
        localFilePath: `${DOWNLOADS}/${file}`,
        temporaryFilePath: `${DOWNLOADS}/tmp/${file}`,
        generation: 0,
        lastUpdateMicros: Date.now() * 1000,
      },
    };
  }

  // ------------------------------------------------------------------------------------------
  // /mgmt/tm: executed on a DeviceConfig (the running one for reads, a copy for writes)

  function downloaded(cfg: DeviceConfig, localPath: string | undefined): { name: string; content: Buffer } {
    const file = (localPath ?? '').replace(/^file:\/\//, '');
    const name = file.startsWith(`${DOWNLOADS}/`) ? file.slice(DOWNLOADS.length + 1) : '';
    const content = cfg.downloads.get(name);
    // GUESS: wording.
    if (!content)
      throw new F5Error(400, `01070712:3: Could not open file ${file || '(none)'}: No such file or directory`);
    return { name, content };
  }

  function objectPath(body: Record<string, unknown>): string {
    const name = str(body['name']);
    if (!name) throw new F5Error(400, '"name" is required'); // GUESS
    return fullPathOf(name, str(body['partition']) ?? 'Common');
  }

  const alreadyExists = (kind: string, fp: string): F5Error =>
    new F5Error(
      409,
      `01020066:3: The requested ${kind} (${fp}) already exists in partition ${splitPath(fp).partition}.`,
    );
  const notFound = (kind: string, fp: string): F5Error =>
    new F5Error(404, `01020036:3: The requested ${kind} (${fp}) was not found.`); // GUESS: code for file objects

  function addCert(cfg: DeviceConfig, fp: string, content: Buffer, sourcePath?: string): void {
    if (cfg.certs.has(fp)) throw alreadyExists('Certificate File', fp);
    const pem = parseCertificateFile(content, fp);
    const now = new Date();
    cfg.certs.set(fp, {
      fullPath: fp,
      pem,
      createdAt: now,
      updatedAt: now,
      revision: 1,
      ...(sourcePath ? { sourcePath } : {}),
    });
  }

  function addKey(cfg: DeviceConfig, fp: string, content: Buffer, passphrase?: string): void {
    if (cfg.keys.has(fp)) throw alreadyExists('Certificate Key File', fp);
    const pem = parseKeyFile(content, fp, passphrase);
    const now = new Date();
    cfg.keys.set(fp, { fullPath: fp, pem, createdAt: now, updatedAt: now, revision: 1 });
  }

  function installPkcs12(cfg: DeviceConfig, body: Record<string, unknown>): void {
    const base = objectPath(body);
    const { content } = downloaded(cfg, str(body['fromLocalFile']) ?? str(body['from-local-file']));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-bigip-p12-'));
    let out = '';
    try {
      writeFileSync(path.join(dir, 'in.p12'), content);
      const env = { ...process.env, FAKE_BIGIP_P12: str(body['passphrase']) ?? '' };
      const run = (legacy: boolean): string =>
        execFileSync(
          'openssl',
          ['pkcs12', ...(legacy ? ['-legacy'] : []), '-in', 'in.p12', '-nodes', '-passin', 'env:FAKE_BIGIP_P12'],
          { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] },
        ).toString();
      try {
        out = run(false);
      } catch {
        out = run(true);
      }
    } catch {
      throw new F5Error(
        400,
        `01070712:3: Could not read the PKCS#12 file for ${base}: wrong passphrase or not a PKCS#12 file.`,
      ); // GUESS
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const keyPem = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(
      out,
    )?.[0];
    const certs = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (!keyPem || certs.length === 0)
      throw new F5Error(400, `01070712:3: The PKCS#12 file for ${base} holds no key and certificate.`); // GUESS
    const publicDer = (pem: string): Buffer =>
      new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    const keyDer = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    const leaf = certs.find((c) => publicDer(c).equals(keyDer)) ?? certs[0] ?? '';
    addCert(cfg, `${base}.crt`, Buffer.from(leaf));
    addKey(cfg, `${base}.key`, Buffer.from(keyPem));
  }

  function fileObjects(
    cfg: DeviceConfig,
    kind: 'ssl-cert' | 'ssl-key',
    method: string,
    item: string | undefined,
    body: unknown,
  ): Reply {
    const isCert = kind === 'ssl-cert';
    const label = isCert ? 'Certificate File' : 'Certificate Key File';
    if (item === undefined) {
      if (method === 'GET') {
        const items = isCert
          ? [...cfg.certs.values()].map((c) => certJson(c, version))
          : [...cfg.keys.values()].map((k) => keyJson(k, version));
        return {
          status: 200,
          body: {
            kind: `tm:sys:file:${kind}:${kind}collectionstate`,
            selfLink: `https://localhost/mgmt/tm/sys/file/${kind}${VERSION_QUERY(version)}`,
            items,
          },
        };
      }
      if (method === 'POST') {
        if (!isRecord(body)) throw new F5Error(400, 'Found invalid JSON body in the request.');
        const fp = objectPath(body);
        const sourcePath = str(body['sourcePath']);
        const { content } = downloaded(cfg, sourcePath);
        if (isCert) addCert(cfg, fp, content, sourcePath);
        else addKey(cfg, fp, content, str(body['passphrase']));
        return {
          status: 200,
          body: isCert ? certJson(cfg.certs.get(fp)!, version) : keyJson(cfg.keys.get(fp)!, version),
        };
      }
      throw badMethod(method);
    }
    const fp = fullPathOf(item);
    const store: Map<string, { pem: string; updatedAt: Date; revision: number }> = isCert ? cfg.certs : cfg.keys;
    const existing = store.get(fp);
    if (!existing) throw notFound(label, fp);
    if (method === 'GET')
      return {
        status: 200,
        body: isCert ? certJson(cfg.certs.get(fp)!, version) : keyJson(cfg.keys.get(fp)!, version),
      };
    if (method === 'DELETE') {
      const users = cfg.usersOf(fp);
      // GUESS: code and wording of "in use" (the refusal itself is documented behaviour).
      if (users.length > 0)
        throw new F5Error(400, `01071349:3: File object by name (${fp}) is in use by ${users.join(', ')}.`);
      store.delete(fp);
      return { status: 200 };
    }
    if (method === 'PATCH' || method === 'PUT') {
      if (!isRecord(body)) throw new F5Error(400, 'Found invalid JSON body in the request.');
      const sourcePath = str(body['sourcePath']);
      if (sourcePath) {
        const { content } = downloaded(cfg, sourcePath);
        existing.pem = isCert ? parseCertificateFile(content, fp) : parseKeyFile(content, fp, str(body['passphrase']));
        existing.updatedAt = new Date();
        existing.revision += 1;
      }
      return {
        status: 200,
        body: isCert ? certJson(cfg.certs.get(fp)!, version) : keyJson(cfg.keys.get(fp)!, version),
      };
    }
    throw badMethod(method);
  }

  function clientSsl(cfg: DeviceConfig, method: string, item: string | undefined, body: unknown): Reply {
    if (item === undefined) {
      if (method !== 'GET') throw badMethod(method);
      const items = [...cfg.profiles.values()].map((p) => profileJson(p, version));
      return {
        status: 200,
        body: {
          kind: 'tm:ltm:profile:client-ssl:client-sslcollectionstate',
          selfLink: `https://localhost/mgmt/tm/ltm/profile/client-ssl${VERSION_QUERY(version)}`,
          items,
        },
      };
    }
    const fp = fullPathOf(item);
    const profile = cfg.profiles.get(fp);
    if (!profile) throw new F5Error(404, `01020036:3: The requested Client SSL profile (${fp}) was not found.`); // GUESS: wording
    if (method === 'GET') return { status: 200, body: profileJson(profile, version) };
    if (method !== 'PATCH' && method !== 'PUT') throw badMethod(method);
    if (!isRecord(body)) throw new F5Error(400, 'Found invalid JSON body in the request.');
    if (refusal.on && (!refusal.profile || fullPathOf(refusal.profile, partition) === fp)) {
      throw new F5Error(400, `fake-bigip: scripted refusal (refuseBind) of changes to client-ssl profile ${fp}`);
    }
    const { partition: profilePartition } = splitPath(fp);
    const ref = (v: unknown): string | undefined => {
      const s = str(v);
      return s === undefined || s === '' || s === 'none' ? undefined : fullPathOf(s, profilePartition);
    };
    const legacy = ['cert', 'key', 'chain'].filter((k) => k in body);
    if (Array.isArray(body['certKeyChain'])) {
      // Quoted in terraform-provider-bigip issue #449.
      if (legacy.length > 0)
        throw new F5Error(
          400,
          `01b4002a:3: Client SSL profile (${fp}):cert-key-chain and profile cert/key/chain/passphrase options cannot be specified together.`,
        );
      const entries: KeyChainEntry[] = [];
      for (const raw of body['certKeyChain'] as unknown[]) {
        if (!isRecord(raw)) throw new F5Error(400, 'Found invalid JSON body in the request.');
        const name = str(raw['name']);
        // GUESS: an entry that names an existing one keeps the fields it does not repeat.
        const before = profile.certKeyChain.find((e) => e.name === name);
        const cert = ref(raw['cert']) ?? before?.cert;
        const key = ref(raw['key']) ?? before?.key;
        if (!name || !cert || !key)
          throw new F5Error(
            400,
            `01070734:3: Configuration error: cert-key-chain entries of ${fp} need a name, a cert and a key`,
          ); // GUESS
        const chain = 'chain' in raw ? ref(raw['chain']) : before?.chain;
        entries.push({ name, cert, key, ...(chain ? { chain } : {}) });
      }
      profile.certKeyChain = entries;
    } else if (legacy.length > 0) {
      const first = profile.certKeyChain[0] ?? { name: 'default', cert: '', key: '' };
      const next: KeyChainEntry = { ...first };
      if ('cert' in body) next.cert = ref(body['cert']) ?? '';
      if ('key' in body) next.key = ref(body['key']) ?? '';
      if ('chain' in body) {
        const chain = ref(body['chain']);
        if (chain) next.chain = chain;
        else delete next.chain;
      }
      profile.certKeyChain = [next, ...profile.certKeyChain.slice(1)];
    }
    profile.generation += 1;
    return { status: 200, body: profileJson(profile, version) };
  }

  /** Executes a /mgmt/tm configuration request against cfg (throws F5Error; unknown paths are 404). */
  function executeTm(cfg: DeviceConfig, method: string, p: string, body: unknown): Reply {
    const seg = p
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
    const route = seg.slice(2).join('/');
    const item = seg[seg.length - 1];
    if (route === 'sys' && method === 'GET') {
      return {
        status: 200,
        body: {
          kind: 'tm:sys:syscollectionstate',
          selfLink: `https://localhost/mgmt/tm/sys${VERSION_QUERY(version)}`,
          items: [],
        },
      };
    }
    if (route === 'sys/version') {
      if (method !== 'GET') throw badMethod(method);
      const [major = '17', minor = '1', patch = '1', point = '0'] = version.split('.');
      return {
        status: 200,
        body: {
          kind: 'tm:sys:version:versionstats',
          selfLink: `https://localhost/mgmt/tm/sys/version${VERSION_QUERY(version)}`,
          entries: {
            'https://localhost/mgmt/tm/sys/version/0': {
              nestedStats: {
                entries: {
                  Build: { description: '0.0.5' },
                  Date: { description: 'Thu Oct 12 12:00:00 PDT 2023' },
                  Edition: { description: point === '0' ? 'Final' : `Point Release ${point}` },
                  Product: { description: 'BIG-IP' },
                  Title: { description: 'Main Package' },
                  Version: { description: `${major}.${minor}.${patch}${point === '0' ? '' : `.${point}`}` },
                },
              },
            },
          },
        },
      };
    }
    if (/^sys\/crypto\/(cert|key|pkcs12)$/.test(route)) {
      if (method !== 'POST') throw badMethod(method);
      if (!isRecord(body)) throw new F5Error(400, 'Found invalid JSON body in the request.');
      if (body['command'] !== 'install')
        throw new F5Error(400, `"command" may not be specified with the value "${String(body['command'])}"`); // GUESS
      const kind = seg[4] ?? '';
      if (kind === 'pkcs12') installPkcs12(cfg, body);
      else {
        const fp = objectPath(body);
        const { content } = downloaded(cfg, str(body['from-local-file']) ?? str(body['fromLocalFile']));
        if (kind === 'cert') addCert(cfg, fp, content);
        else addKey(cfg, fp, content, str(body['passphrase']));
      }
      // GUESS: the reply echoes the command.
      return {
        status: 200,
        body: { kind: `tm:sys:crypto:${kind}:${kind}state`, ...(redact(body) as Record<string, unknown>) },
      };
    }
    const file = /^sys\/file\/(ssl-cert|ssl-key)(?:\/([^/]+))?$/.exec(route);
    if (file) return fileObjects(cfg, file[1] as 'ssl-cert' | 'ssl-key', method, file[2], body);
    const profile = /^ltm\/profile\/client-ssl(?:\/([^/]+))?$/.exec(route);
    if (profile) return clientSsl(cfg, method, profile[1], body);
    if (route === 'util/unix-rm') {
      if (method !== 'POST') throw badMethod(method);
      const target = isRecord(body) ? (str(body['utilCmdArgs']) ?? '') : '';
      if (!isRecord(body) || body['command'] !== 'run') throw new F5Error(400, '"command" must be "run"'); // GUESS
      if (!target.startsWith(`${DOWNLOADS}/`))
        throw new F5Error(400, `rm: refusing to remove ${target} (the fake only manages ${DOWNLOADS})`); // fake-only limit
      const removed = cfg.downloads.delete(target.slice(DOWNLOADS.length + 1));
      return {
        status: 200,
        body: {
          kind: 'tm:util:unix-rm:runstate',
          command: 'run',
          utilCmdArgs: target,
          ...(removed ? {} : { commandResult: `rm: cannot remove '${target}': No such file or directory\n` }),
        },
      };
    }
    if (route === 'cm/sync-status') {
      if (method !== 'GET') throw badMethod(method);
      return { status: 200, body: syncState.read(version) };
    }
    if (/^auth\/user\/[^/]+$/.test(route)) {
      if (method !== 'GET') throw badMethod(method); // the fake manages no users
      if (item !== username) throw new F5Error(404, `01020036:3: The requested user (${item ?? ''}) was not found.`); // GUESS: wording
      return { status: 200, body: userJson(username, access, version) };
    }
    if (/^cm\/device-group\/[^/]+$/.test(route)) {
      if (method !== 'GET') throw badMethod(method);
      const fp = fullPathOf(item ?? '');
      if (!deviceGroups.has(fp))
        throw new F5Error(404, `01020036:3: The requested device group (${fp}) was not found.`);
      const { partition: gp, name } = splitPath(fp);
      return {
        status: 200,
        body: {
          kind: 'tm:cm:device-group:device-groupstate',
          name,
          partition: gp,
          fullPath: fp,
          type: 'sync-failover',
          autoSync: 'disabled',
        },
      };
    }
    throw notRegistered(p);
  }

  /** Side-effect commands that are not configuration (never queued in a transaction). */
  function executeCommand(p: string, method: string, body: unknown): Reply | undefined {
    if (p === '/mgmt/tm/sys/config') {
      if (method !== 'POST') throw badMethod(method);
      if (!isRecord(body) || body['command'] !== 'save')
        throw new F5Error(400, `the fake supports only {"command":"save"} on ${p}`);
      saved = config.clone();
      savedCount += 1;
      return { status: 200, body: { kind: 'tm:sys:config:savestate', command: 'save' } };
    }
    if (p === '/mgmt/tm/cm') {
      if (method !== 'POST') throw badMethod(method);
      // From f5-ansible bigip_configsync_action.py: {"command":"run","utilCmdArgs":"config-sync to-group <g>"}.
      const args = isRecord(body) && body['command'] === 'run' ? (str(body['utilCmdArgs']) ?? '') : '';
      const m = /^config-sync\s+(to-group|from-group)\s+(\S+)(?:\s+force-full-load-push)?\s*$/.exec(args);
      if (!m) throw new F5Error(400, `the fake supports only config-sync to-group|from-group <group>, not "${args}"`);
      const group = fullPathOf(m[2] ?? '');
      // GUESS: wording.
      if (!deviceGroups.has(group))
        throw new F5Error(400, `01070734:3: Configuration error: device group ${group} was not found`);
      syncs.push(splitPath(group).name);
      syncState.syncStarted();
      return { status: 200, body: { kind: 'tm:cm:runstate', command: 'run', utilCmdArgs: args } };
    }
    return undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Transactions (docs/vendors/f5-bigip.md; the create reply follows the iControl REST user guide)

  function transactionJson(tx: Transaction): Record<string, unknown> {
    return {
      transId: Number(tx.id),
      state: tx.state,
      timeoutSeconds: TRANSACTION_TIMEOUT_SECONDS,
      asyncExecution: false,
      validateOnly: false,
      executionTimeout: 300,
      executionTime: 0,
      failedAt: 0,
      ...(tx.failureReason ? { failureReason: tx.failureReason } : {}),
      kind: 'tm:transactionstate',
      selfLink: `https://localhost/mgmt/tm/transaction/${tx.id}${VERSION_QUERY(version)}`,
    };
  }

  function liveTransaction(id: string, user: string): Transaction {
    const tx = transactions.get(id);
    // A transaction idle for timeoutSeconds is silently removed (F5 lab guide).
    if (tx && tx.state === 'STARTED' && Date.now() - tx.lastActivity > TRANSACTION_TIMEOUT_SECONDS * 1000)
      transactions.delete(id);
    const live = transactions.get(id);
    if (!live || live.user !== user) throw new F5Error(404, `Transaction ${id} not found`); // GUESS: wording
    return live;
  }

  function transaction(method: string, seg: string[], user: string, body: unknown): Reply {
    const id = seg[3];
    if (id === undefined) {
      if (method !== 'POST') throw badMethod(method);
      const tx: Transaction = {
        id: String(Date.now() * 1000 + ++transactionSeq),
        user,
        state: 'STARTED',
        commands: [],
        lastActivity: Date.now(),
      };
      transactions.set(tx.id, tx);
      return { status: 200, body: transactionJson(tx) };
    }
    const tx = liveTransaction(id, user);
    if (seg[4] === 'commands' && method === 'GET') {
      return {
        status: 200,
        body: {
          kind: 'tm:transaction:commandscollectionstate',
          items: tx.commands.map((c, i) => commandJson(tx, c, i + 1)),
        },
      };
    }
    if (seg.length !== 4) throw notRegistered(`/${seg.join('/')}`);
    if (method === 'GET') return { status: 200, body: transactionJson(tx) };
    if (method === 'DELETE') {
      transactions.delete(id);
      return { status: 200 };
    }
    if (method !== 'PATCH') throw badMethod(method);
    if (!isRecord(body) || body['state'] !== 'VALIDATING')
      throw new F5Error(400, 'Only a state of VALIDATING can be requested'); // GUESS
    if (tx.state !== 'STARTED') throw new F5Error(400, `Transaction ${id} is ${tx.state}`); // GUESS
    const next = config.clone();
    try {
      for (const command of tx.commands) executeTm(next, command.method, command.path, command.body);
      next.validate();
    } catch (error) {
      if (!(error instanceof F5Error)) throw error;
      tx.state = 'FAILED';
      tx.failureReason = error.message;
      // GUESS: the commit answers with the failing command's error.
      throw new F5Error(error.status >= 400 && error.status < 500 ? 400 : error.status, error.message);
    }
    tx.state = 'COMPLETED';
    if (body['validateOnly'] !== true) {
      config = next;
      refreshListeners();
      if (tx.commands.length > 0) syncState.changed();
    }
    return { status: 200, body: transactionJson(tx) };
  }

  function commandJson(tx: Transaction, c: QueuedCommand, n: number): Record<string, unknown> {
    // GUESS: the shape of a queued command (the user guide shows only the transaction state).
    return {
      method: c.method,
      uri: `https://localhost${c.path}`,
      body: redact(c.body),
      evalOrder: n,
      commandId: n,
      kind: 'tm:transaction:commandsstate',
      selfLink: `https://localhost/mgmt/tm/transaction/${tx.id}/commands/${n}${VERSION_QUERY(version)}`,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Dispatch

  function route(req: http.IncomingMessage, method: string, p: string, raw: Buffer, call: FakeBigipCall): Reply {
    const seg = p.split('/').filter(Boolean);
    const json = (): unknown => {
      if (raw.length === 0) return undefined;
      if (!/^application\/json/.test(req.headers['content-type'] ?? '')) {
        throw new F5Error(
          400,
          `Found invalid content-type. The content-type must be application/json. The received content-type is ${req.headers['content-type'] ?? 'none'}`,
          'rest',
        );
      }
      try {
        return JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        throw new F5Error(400, 'Found invalid JSON body in the request.', 'rest'); // GUESS: wording
      }
    };

    if (p === '/mgmt/shared/authn/login') {
      if (method !== 'POST') throw badMethod(method);
      return login(json());
    }
    if (seg[0] !== 'mgmt') throw notRegistered(p);
    const user = authenticate(req, call);

    if (seg[1] === 'shared') {
      if (seg[2] === 'authz' && seg[3] === 'tokens' && seg.length === 5)
        return tokenItem(method, decodeURIComponent(seg[4] ?? ''), user, json());
      if (seg[2] === 'file-transfer' && seg[3] === 'uploads' && seg.length === 5) {
        if (method !== 'POST') throw badMethod(method);
        authorize(user, access, method, p, undefined);
        return upload(decodeURIComponent(seg[4] ?? ''), req, raw);
      }
      throw notRegistered(p);
    }
    if (seg[1] !== 'tm') throw notRegistered(p);
    if (seg[2] === 'transaction') {
      authorize(user, access, method, p, undefined);
      return transaction(method, seg, user, json());
    }

    const body = json();
    authorize(user, access, method, p, body);
    const coordination = req.headers['x-f5-rest-coordination-id'];
    if (typeof coordination === 'string' && coordination !== '' && method !== 'GET') {
      const tx = liveTransaction(coordination, user);
      if (tx.state !== 'STARTED') throw new F5Error(400, `Transaction ${coordination} is ${tx.state}`); // GUESS
      // GUESS: save, config-sync and util commands are refused inside a transaction.
      if (/^\/mgmt\/tm\/(sys\/config|cm|util\/)/.test(p))
        throw new F5Error(400, `${p} cannot be part of a transaction`);
      tx.commands.push({ method, path: p, body });
      tx.lastActivity = Date.now();
      return { status: 200, body: commandJson(tx, tx.commands[tx.commands.length - 1]!, tx.commands.length) };
    }

    const command = executeCommand(p, method, body);
    if (command) return command;
    if (method === 'GET') return executeTm(config, method, p, body);
    const next = config.clone();
    const reply = executeTm(next, method, p, body);
    next.validate();
    config = next;
    refreshListeners();
    if (!p.startsWith('/mgmt/tm/util/')) syncState.changed();
    return reply;
  }

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const p = new URL(req.url ?? '/', 'https://fake.invalid').pathname;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    const raw = Buffer.concat(chunks);

    const call: FakeBigipCall = {
      method,
      path: p.replace(/^(\/mgmt\/shared\/authz\/tokens\/)[^/]+/, '$1<token>'),
      status: 0,
      auth: 'none',
    };
    const coordination = req.headers['x-f5-rest-coordination-id'];
    if (typeof coordination === 'string') call.transId = coordination;
    if (typeof req.headers['content-range'] === 'string') call.contentRange = req.headers['content-range'];
    if (raw.length > 0) {
      if (/^application\/json/.test(req.headers['content-type'] ?? '')) {
        try {
          call.body = redact(JSON.parse(raw.toString('utf8')));
        } catch {
          call.body = { bytes: raw.length };
        }
      } else call.body = { bytes: raw.length };
    }
    calls.push(call);

    const rule = failRules.find((r) => r.times > 0 && r.path.test(p));
    if (rule) {
      if (rule.after > 0) rule.after -= 1;
      else {
        rule.times -= 1;
        if (rule.destroy) {
          req.socket.destroy();
          return;
        }
        call.status = rule.status;
        send(
          res,
          rule.status,
          rule.body ?? envelope(new F5Error(rule.status, `fake-bigip: scripted failure of ${method} ${call.path}`)),
        );
        return;
      }
    }

    let status: number;
    let body: unknown;
    try {
      const reply = route(req, method, p, raw, call);
      status = reply.status;
      body = reply.body;
    } catch (error) {
      const f5 = error instanceof F5Error ? error : new F5Error(500, `fake-bigip internal error: ${String(error)}`);
      status = f5.status;
      body = envelope(f5);
    }
    call.status = status;
    if (method !== 'GET' && status < 400 && !AUTH_PATHS.test(p)) mutating += 1;
    send(res, status, body);
  }

  // Real devices resume TLS sessions; the fake does too unless told otherwise.
  const noResumption = opts.resumeTlsSessions === false ? { secureOptions: constants.SSL_OP_NO_TICKET } : {};
  const server = https.createServer(
    { key: management.keyPem, cert: management.certPem, ...noResumption },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, envelope(new F5Error(500, String(error))));
        else res.destroy();
      });
    },
  );
  const managementHandshakes = countHandshakes(server);
  const port = await listenOnLoopback(server);

  const bindingsOf = (cfg: DeviceConfig): Record<string, FakeBinding | undefined> =>
    Object.fromEntries(
      profilePaths.map((p) => {
        const entry = cfg.profiles.get(p)?.certKeyChain[0];
        return [p, entry ? { ...entry } : undefined];
      }),
    );
  const endpoints: VerifyEndpoint[] = listeners.map((l) => ({ host: '127.0.0.1', port: l.port }));
  const certificateObjects = (): string[] => [...config.certs.keys(), ...config.keys.keys()];
  const mutatingCalls = (): number => mutating;

  return {
    host: '127.0.0.1',
    port,
    managementFingerprint: management.fingerprintSha256,
    managementHandshakes,
    username,
    password,
    profiles: [...profilePaths],
    endpoints,
    endpointFor(profile) {
      const i = profilePaths.indexOf(fullPathOf(profile, partition));
      const endpoint = endpoints[i];
      if (!endpoint) throw new Error(`fake-bigip: no listener for profile ${profile}`);
      return endpoint;
    },
    calls,
    mutatingCalls,
    certificateObjects,
    uploadedFiles: () => [...config.downloads.keys()],
    bindings: () => bindingsOf(config),
    savedBindings: () => (saved ? bindingsOf(saved) : undefined),
    savedConfigCount: () => savedCount,
    configSyncs: () => [...syncs],
    setSyncBehaviour: (behaviour) => syncState.setBehaviour(behaviour),
    syncStatus: () => syncState.current(),
    activeTokens: () => [...tokens.values()].filter(isActive).length,
    leakTokens(count) {
      for (let i = 0; i < count; i++)
        tokens.set(newToken(), { user: username, startedAt: Date.now(), timeoutSeconds: TOKEN_TIMEOUT });
    },
    dropAllTokens: () => tokens.clear(),
    failNext(pathPattern, failure = {}) {
      failRules.push({
        path: statelessPattern(pathPattern),
        status: failure.status ?? 500,
        body: failure.body,
        times: failure.times ?? 1,
        after: failure.after ?? 0,
        destroy: failure.destroy ?? false,
      });
    },
    clearFailures() {
      failRules.length = 0;
    },
    refuseBind(on, profile) {
      refusal = on ? { on, ...(profile ? { profile } : {}) } : { on: false };
    },
    serveStale(on) {
      stale = on;
      refreshListeners();
    },
    view: () => ({
      certificateObjects,
      mutatingCalls,
      secrets: [password],
      serveLeafOnly: (on) => {
        leafOnly = on;
        refreshListeners();
      },
    }),
    close: () => closeServers(server, listeners),
  };
}
