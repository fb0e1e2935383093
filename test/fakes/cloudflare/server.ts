/**
 * A fake of the Cloudflare API v4 DNS subset, for tests that drive the official `cloudflare` SDK
 * (v7) with `baseURL` pointed at it. Plain HTTP on 127.0.0.1, node:http only.
 *
 * Faithful to the real API where it matters to CertFleet (see /work/shared/vendor-apis.md §7):
 * - paths under /client/v4, the JSON envelope `{success, errors, messages, result, result_info}`;
 * - `Authorization: Bearer <token>` checked on every call (wrong/missing token: 403 code 10000;
 *   a malformed Authorization header: 400 code 6003 with error_chain 6103);
 * - zones list (name filter, pagination), zone get;
 * - DNS records list (type/name/content filters incl. the SDK's dotted `name.exact` style),
 *   create, get, delete; duplicate identical record: 400 code 81058; unknown zone: 404 code 7003;
 *   unknown record: 404 code 81044;
 * - TXT records created/deleted are mirrored to pebble-challtestsrv's management API, so a real
 *   resolver (and Pebble) sees what our code wrote through the API.
 *
 * Deliberate simplifications (documented so tests do not rely on them as "Cloudflare behaviour"):
 * - a record name outside the zone is rejected (400, code 1004). Real Cloudflare instead treats a
 *   name that does not end in the zone as relative and appends the zone name; never rely on either.
 * - `account.id`, `status=active`, `order`, `direction` on /zones are accepted; `account.id` does not
 *   filter (all zones belong to one fake account).
 * - a disabled/expired token (tokenStatus) is reported by /user/tokens/verify and refused (403,
 *   code 10000) everywhere else.
 * - injected 5xx failures carry a synthetic error code equal to the HTTP status.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { listenOnLoopback, sendJsonReply, statelessPattern } from '../../support/fake-server-io';

export interface FakeCloudflareOptions {
  /** The only valid API token (Authorization: Bearer <token>). */
  token: string;
  /** Zone ids default to 32 hex characters derived deterministically from the name. */
  zones: { name: string; id?: string }[];
  /** e.g. http://127.0.0.1:8055 ; when set and pushToDns is true, TXT records are mirrored to pebble-challtestsrv. */
  challtestsrvManagementUrl?: string;
  /** Default true. */
  pushToDns?: boolean;
  /** What /user/tokens/verify reports, default 'active'. */
  tokenStatus?: 'active' | 'disabled' | 'expired';
}

export interface FakeCloudflareCall {
  method: string;
  /** Request path relative to /client/v4 (e.g. `/zones/<id>/dns_records`); the full path if outside it. */
  path: string;
  /** Decoded query parameters (last value wins for repeated keys), e.g. `{ 'name.exact': '…' }`. */
  query: Record<string, string>;
  /** Parsed JSON body, the raw text if it was not JSON, or null when there was none. */
  body: unknown;
  /** Whether the request carried the valid token (the token itself is never stored). */
  authorized: boolean;
}

export interface FakeCloudflareRecord {
  id: string;
  zoneId: string;
  type: string;
  name: string;
  /** Content exactly as sent by the client (a TXT value may still carry its surrounding quotes). */
  content: string;
  ttl: number;
}

export interface FakeCloudflare {
  /** e.g. http://127.0.0.1:PORT/client/v4 (plain HTTP). */
  baseUrl: string;
  /** Every request, in order (never the token itself). */
  calls: FakeCloudflareCall[];
  /** Every record created or deleted, in order (name, content, id, time): what the DNS mirror was told. */
  mutations: { op: 'create' | 'delete'; name: string; content: string; id: string; at: string }[];
  /** Current DNS records. */
  records(): FakeCloudflareRecord[];
  /** Off: records created (or deleted) from now on are not mirrored to DNS (a record that never propagates). */
  setPushToDns(on: boolean): void;
  /**
   * The next `times` (default 1) requests whose path matches `path` fail with `status` before any
   * other processing. The regex is tested against both the path relative to /client/v4 and the full
   * request path. A 429 carries `Retry-After: 1`.
   */
  failNext(path: RegExp, status: number, times?: number): void;
  close: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Envelope and errors

interface CfErrorItem {
  code: number;
  message: string;
  error_chain?: { code: number; message: string }[];
}

interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

class CfHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: CfErrorItem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('; '));
  }
}

const API_PREFIX = '/client/v4';
const FAKE_ACCOUNT_ID = hex32('certfleet-fake-cloudflare-account');

function hex32(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 32);
}

function notRoutable(fullPath: string): CfHttpError {
  return new CfHttpError(404, [
    { code: 7003, message: `Could not route to ${fullPath}, perhaps your object identifier is invalid?` },
    { code: 7000, message: 'No route for that URI' },
  ]);
}

function validationError(detail: string): CfHttpError {
  return new CfHttpError(400, [
    { code: 1004, message: 'DNS Validation Error', error_chain: [{ code: 1004, message: detail }] },
  ]);
}

const STATUS_TEXT: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

// ---------------------------------------------------------------------------------------------
// Model

interface ZoneState {
  id: string;
  name: string;
  createdOn: string;
}

/** A stored record: `name` lower-case with no trailing dot, `content` as sent. */
interface RecordState extends FakeCloudflareRecord {
  proxied: boolean;
  comment: string | null;
  createdOn: string;
  modifiedOn: string;
  /** Whether this record was pushed to challtestsrv (only pushed values are re-added after a clear). */
  pushed: boolean;
}

interface FailRule {
  path: RegExp;
  status: number;
  remaining: number;
}

function normaliseName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

/** A TXT content value as it is served over DNS: one pair of surrounding double quotes removed. */
function unquoteTxt(content: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/s.exec(content);
  if (!m || m[1] === undefined) return content;
  return m[1].replace(/\\(.)/gs, '$1');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const KNOWN_TYPES = new Set([
  'A',
  'AAAA',
  'CAA',
  'CERT',
  'CNAME',
  'DNSKEY',
  'DS',
  'HTTPS',
  'LOC',
  'MX',
  'NAPTR',
  'NS',
  'OPENPGPKEY',
  'PTR',
  'SMIMEA',
  'SRV',
  'SSHFP',
  'SVCB',
  'TLSA',
  'TXT',
  'URI',
]);

function zoneJson(z: ZoneState): Record<string, unknown> {
  return {
    id: z.id,
    name: z.name,
    status: 'active',
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    created_on: z.createdOn,
    modified_on: z.createdOn,
    activated_on: z.createdOn,
    meta: { step: 2, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
    owner: { id: null, type: 'user', email: null },
    account: { id: FAKE_ACCOUNT_ID, name: 'CertFleet fake account' },
    tenant: { id: null, name: null },
    tenant_unit: { id: null },
    permissions: ['#dns_records:edit', '#dns_records:read', '#zone:read'],
    plan: {
      id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
      name: 'Free Website',
      price: 0,
      currency: 'USD',
      frequency: '',
      is_subscribed: false,
      can_subscribe: false,
      legacy_id: 'free',
      legacy_discount: false,
      externally_managed: false,
    },
  };
}

function recordJson(r: RecordState): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    content: r.content,
    proxiable: false,
    proxied: r.proxied,
    ttl: r.ttl,
    settings: {},
    meta: {},
    comment: r.comment,
    tags: [],
    created_on: r.createdOn,
    modified_on: r.modifiedOn,
  };
}

function paginate<T>(
  items: T[],
  query: URLSearchParams,
  defaultPerPage: number,
  maxPerPage: number,
): { page: T[]; info: ResultInfo } {
  const intParam = (key: string, dflt: number): number => {
    const raw = query.get(key);
    if (raw === null || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      throw new CfHttpError(400, [{ code: 1001, message: `Invalid value for ${key}: ${raw}` }]);
    }
    return n;
  };
  const page = intParam('page', 1);
  const perPage = Math.min(intParam('per_page', defaultPerPage), maxPerPage);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    page: slice,
    info: {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.max(1, Math.ceil(items.length / perPage)),
    },
  };
}

/** Cloudflare's zone name filter: `name=<v>` or `name=<op>:<v>`. */
function zoneNameMatches(zoneName: string, filter: string): boolean {
  const m =
    /^(equal|not_equal|starts_with|ends_with|contains|starts_with_case_sensitive|ends_with_case_sensitive|contains_case_sensitive):(.*)$/s.exec(
      filter,
    );
  const op = m?.[1] ?? 'equal';
  const raw = m?.[2] ?? filter;
  const ci = !op.endsWith('_case_sensitive');
  const v = ci ? normaliseName(raw) : raw.replace(/\.$/, '');
  const n = ci ? zoneName.toLowerCase() : zoneName;
  switch (op) {
    case 'equal':
      return n === v;
    case 'not_equal':
      return n !== v;
    case 'starts_with':
    case 'starts_with_case_sensitive':
      return n.startsWith(v);
    case 'ends_with':
    case 'ends_with_case_sensitive':
      return n.endsWith(v);
    default:
      return n.includes(v);
  }
}

type StringTest = (value: string) => boolean;

/** Filters for `<field>`, `<field>.exact|contains|startswith|endswith` (case-insensitive). */
function stringFilters(query: URLSearchParams, field: string, normalise: (s: string) => string): StringTest[] {
  const tests: StringTest[] = [];
  const add = (key: string, make: (needle: string) => StringTest): void => {
    const v = query.get(key);
    if (v !== null) tests.push(make(normalise(v)));
  };
  add(field, (n) => (s) => s === n);
  add(`${field}.exact`, (n) => (s) => s === n);
  add(`${field}.contains`, (n) => (s) => s.includes(n));
  add(`${field}.startswith`, (n) => (s) => s.startsWith(n));
  add(`${field}.endswith`, (n) => (s) => s.endsWith(n));
  return tests;
}

// ---------------------------------------------------------------------------------------------
// Server

export async function startFakeCloudflare(opts: FakeCloudflareOptions): Promise<FakeCloudflare> {
  const zones: ZoneState[] = opts.zones.map((z) => {
    const name = normaliseName(z.name);
    return { id: z.id ?? hex32(`zone:${name}`), name, createdOn: new Date().toISOString() };
  });
  const tokenId = hex32(`token-id:${createHash('sha256').update(opts.token).digest('hex')}`);
  const tokenStatus = opts.tokenStatus ?? 'active';
  const mgmtUrl = opts.challtestsrvManagementUrl?.replace(/\/+$/, '');
  let pushToDns = opts.pushToDns ?? true;

  const records: RecordState[] = [];
  const calls: FakeCloudflareCall[] = [];
  const mutations: FakeCloudflare['mutations'] = [];
  const failRules: FailRule[] = [];
  /** Serialises record mutations together with their DNS mirroring, so DNS matches the store. */
  let mutationChain: Promise<unknown> = Promise.resolve();
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = mutationChain.then(fn, fn);
    mutationChain = run.catch(() => undefined);
    return run;
  };

  async function mgmt(endpoint: 'set-txt' | 'clear-txt', payload: Record<string, string>): Promise<void> {
    if (!mgmtUrl) return;
    let res: Response;
    try {
      res = await fetch(`${mgmtUrl}/${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(5000),
      });
    } catch (err) {
      throw new CfHttpError(500, [
        { code: 500, message: `fake-cloudflare: pebble-challtestsrv ${endpoint} failed: ${String(err)}` },
      ]);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new CfHttpError(500, [
        {
          code: 500,
          message: `fake-cloudflare: pebble-challtestsrv ${endpoint} answered ${res.status} ${text.trim()}`,
        },
      ]);
    }
  }

  /** challtestsrv matches lower-cased query names against hosts as stored, so always push lower-case FQDNs. */
  const fqdn = (name: string): string => `${name.toLowerCase()}.`;

  function findZone(id: string, fullPath: string): ZoneState {
    const zone = zones.find((z) => z.id === id);
    if (!zone) throw notRoutable(fullPath);
    return zone;
  }

  function findRecord(zone: ZoneState, id: string): RecordState {
    const rec = records.find((r) => r.zoneId === zone.id && r.id === id);
    if (!rec) throw new CfHttpError(404, [{ code: 81044, message: 'Record does not exist.' }]);
    return rec;
  }

  function listRecords(zone: ZoneState, query: URLSearchParams): { page: RecordState[]; info: ResultInfo } {
    const lower = (s: string): string => s.toLowerCase();
    const nameTests = stringFilters(query, 'name', normaliseName);
    const contentTests = stringFilters(query, 'content', lower);
    const type = query.get('type');
    const matchAny = query.get('match') === 'any';
    const matched = records.filter((r) => {
      if (r.zoneId !== zone.id) return false;
      const contents = [lower(r.content)];
      if (r.type === 'TXT') contents.push(lower(unquoteTxt(r.content)));
      const results: boolean[] = [
        ...(type !== null ? [r.type === type.toUpperCase()] : []),
        ...nameTests.map((t) => t(r.name)),
        ...contentTests.map((t) => contents.some((c) => t(c) || t(`"${c}"`))),
      ];
      if (results.length === 0) return true;
      return matchAny ? results.some(Boolean) : results.every(Boolean);
    });
    return paginate(matched, query, 100, 5_000_000);
  }

  async function createRecord(zone: ZoneState, body: unknown): Promise<RecordState> {
    if (!isRecord(body)) {
      throw new CfHttpError(400, [{ code: 9207, message: 'Request body is invalid.' }]);
    }
    const { type, name, content, ttl, proxied, comment } = body;
    if (typeof type !== 'string' || !KNOWN_TYPES.has(type.toUpperCase())) {
      throw validationError(`Invalid or missing record type: ${JSON.stringify(type)}`);
    }
    if (typeof name !== 'string' || name.trim() === '') throw validationError('Record name is required.');
    if (typeof content !== 'string' || content === '') throw validationError('Record content is required.');
    if (
      ttl !== undefined &&
      (typeof ttl !== 'number' || !Number.isInteger(ttl) || (ttl !== 1 && (ttl < 30 || ttl > 86400)))
    ) {
      throw validationError('TTL must be between 30 and 86400 seconds, or 1 for Automatic.');
    }
    if (proxied !== undefined && typeof proxied !== 'boolean') throw validationError('proxied must be a boolean.');
    if (comment !== undefined && comment !== null && typeof comment !== 'string')
      throw validationError('comment must be a string.');
    const upperType = type.toUpperCase();
    const fqName = name.trim() === '@' ? zone.name : normaliseName(name);
    if (fqName !== zone.name && !fqName.endsWith(`.${zone.name}`)) {
      throw validationError(`Record name ${fqName} does not belong to zone ${zone.name}.`);
    }
    const same = records.filter((r) => r.zoneId === zone.id && r.name === fqName);
    const comparable = (r: { type: string; content: string }): string =>
      r.type === 'TXT' ? unquoteTxt(r.content) : r.content.toLowerCase();
    if (same.some((r) => r.type === upperType && comparable(r) === comparable({ type: upperType, content }))) {
      throw new CfHttpError(400, [{ code: 81058, message: 'An identical record already exists.' }]);
    }
    if (
      (upperType === 'CNAME' && same.some((r) => ['A', 'AAAA', 'CNAME'].includes(r.type))) ||
      (['A', 'AAAA'].includes(upperType) && same.some((r) => r.type === 'CNAME'))
    ) {
      throw new CfHttpError(400, [
        { code: 81053, message: 'An A, AAAA, or CNAME record with that host already exists.' },
      ]);
    }

    const now = new Date().toISOString();
    const rec: RecordState = {
      id: randomBytes(16).toString('hex'),
      zoneId: zone.id,
      type: upperType,
      name: fqName,
      content,
      ttl: typeof ttl === 'number' ? ttl : 1,
      proxied: proxied === true,
      comment: typeof comment === 'string' ? comment : null,
      createdOn: now,
      modifiedOn: now,
      pushed: false,
    };
    if (rec.type === 'TXT' && pushToDns && mgmtUrl) {
      await mgmt('set-txt', { host: fqdn(rec.name), value: unquoteTxt(rec.content) });
      rec.pushed = true;
    }
    records.push(rec);
    mutations.push({ op: 'create', name: rec.name, content: rec.content, id: rec.id, at: new Date().toISOString() });
    return rec;
  }

  async function deleteRecord(rec: RecordState): Promise<void> {
    const idx = records.indexOf(rec);
    if (idx >= 0) records.splice(idx, 1);
    mutations.push({ op: 'delete', name: rec.name, content: rec.content, id: rec.id, at: new Date().toISOString() });
    if (rec.type !== 'TXT' || !pushToDns || !mgmtUrl) return;
    // challtestsrv appends TXT values per host and can only clear them all: clear, then re-add the rest.
    await mgmt('clear-txt', { host: fqdn(rec.name) });
    for (const other of records) {
      if (other.type === 'TXT' && other.name === rec.name && other.pushed) {
        await mgmt('set-txt', { host: fqdn(other.name), value: unquoteTxt(other.content) });
      }
    }
  }

  interface Reply {
    status: number;
    result: unknown;
    resultInfo?: ResultInfo;
    messages?: { code: number; message: string; type: string | null }[];
  }

  async function route(
    method: string,
    rel: string,
    fullPath: string,
    query: URLSearchParams,
    body: unknown,
  ): Promise<Reply> {
    const seg = rel
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
    const methodNotAllowed = (): CfHttpError =>
      new CfHttpError(405, [{ code: 7001, message: `Method ${method} not available for that URI.` }]);

    if (seg[0] === 'user' && seg[1] === 'tokens' && seg[2] === 'verify' && seg.length === 3) {
      if (method !== 'GET') throw methodNotAllowed();
      const message =
        tokenStatus === 'active' ? 'This API Token is valid and active' : `This API Token is ${tokenStatus}`;
      return {
        status: 200,
        result: { id: tokenId, status: tokenStatus },
        messages: [{ code: 10000, message, type: null }],
      };
    }
    if (tokenStatus !== 'active') {
      throw new CfHttpError(403, [{ code: 10000, message: 'Authentication error' }]);
    }

    if (seg[0] === 'zones') {
      if (seg.length === 1) {
        if (method !== 'GET') throw methodNotAllowed();
        const nameFilter = query.get('name');
        const status = query.get('status');
        const matched = zones
          .filter((z) => nameFilter === null || zoneNameMatches(z.name, nameFilter))
          .filter(() => status === null || status === 'active')
          .sort((a, b) => a.name.localeCompare(b.name));
        const { page, info } = paginate(matched, query, 20, 50);
        return { status: 200, result: page.map(zoneJson), resultInfo: info };
      }
      const zone = findZone(seg[1] ?? '', fullPath);
      if (seg.length === 2) {
        if (method !== 'GET') throw methodNotAllowed();
        return { status: 200, result: zoneJson(zone) };
      }
      if (seg[2] === 'dns_records' && seg.length === 3) {
        if (method === 'GET') {
          const { page, info } = listRecords(zone, query);
          return { status: 200, result: page.map(recordJson), resultInfo: info };
        }
        if (method === 'POST') {
          const rec = await serialised(() => createRecord(zone, body));
          return { status: 200, result: recordJson(rec) };
        }
        throw methodNotAllowed();
      }
      if (seg[2] === 'dns_records' && seg.length === 4) {
        const recordId = seg[3] ?? '';
        if (method === 'GET') return { status: 200, result: recordJson(findRecord(zone, recordId)) };
        if (method === 'DELETE') {
          await serialised(() => deleteRecord(findRecord(zone, recordId)));
          return { status: 200, result: { id: recordId } };
        }
        throw methodNotAllowed();
      }
    }
    throw new CfHttpError(404, [
      { code: 7003, message: `Could not route to ${fullPath}, perhaps your object identifier is invalid?` },
      { code: 7000, message: 'No route for that URI' },
    ]);
  }

  function sendError(res: http.ServerResponse, err: CfHttpError): void {
    sendJsonReply(res, err.status, { success: false, errors: err.errors, messages: [], result: null }, err.headers);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const fullPath = url.pathname;
    const rel =
      fullPath === API_PREFIX || fullPath.startsWith(`${API_PREFIX}/`)
        ? fullPath.slice(API_PREFIX.length) || '/'
        : fullPath;
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown = null;
    let bodyIsJson = true;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody) as unknown;
      } catch {
        body = rawBody;
        bodyIsJson = false;
      }
    }

    const authHeader = req.headers.authorization;
    const bearer = authHeader === undefined ? undefined : /^Bearer (\S+)$/.exec(authHeader)?.[1];
    const authorized = bearer !== undefined && bearer === opts.token;
    calls.push({ method, path: rel, query, body, authorized });

    try {
      const rule = failRules.find((r) => r.remaining > 0 && (r.path.test(rel) || r.path.test(fullPath)));
      if (rule) {
        rule.remaining -= 1;
        if (rule.status === 429) {
          throw new CfHttpError(
            429,
            [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
            { 'retry-after': '1' },
          );
        }
        throw new CfHttpError(rule.status, [
          { code: rule.status, message: STATUS_TEXT[rule.status] ?? `HTTP ${rule.status}` },
        ]);
      }
      if (authHeader !== undefined && bearer === undefined) {
        throw new CfHttpError(400, [
          {
            code: 6003,
            message: 'Invalid request headers',
            error_chain: [{ code: 6103, message: 'Invalid format for Authorization header' }],
          },
        ]);
      }
      if (!authorized) {
        throw new CfHttpError(403, [{ code: 10000, message: 'Authentication error' }]);
      }
      if (!bodyIsJson && (method === 'POST' || method === 'PUT' || method === 'PATCH')) {
        throw new CfHttpError(400, [{ code: 9207, message: 'Request body is invalid.' }]);
      }
      const reply = await route(method, rel, fullPath, url.searchParams, body);
      sendJsonReply(res, reply.status, {
        success: true,
        errors: [],
        messages: reply.messages ?? [],
        result: reply.result,
        ...(reply.resultInfo ? { result_info: reply.resultInfo } : {}),
      });
    } catch (err) {
      if (err instanceof CfHttpError) {
        sendError(res, err);
      } else {
        sendError(
          res,
          new CfHttpError(500, [{ code: 500, message: `fake-cloudflare internal error: ${String(err)}` }]),
        );
      }
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new CfHttpError(500, [{ code: 500, message: String(err) }]));
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server);

  return {
    baseUrl: `http://127.0.0.1:${port}${API_PREFIX}`,
    calls,
    mutations,
    records: () =>
      records.map((r) => ({ id: r.id, zoneId: r.zoneId, type: r.type, name: r.name, content: r.content, ttl: r.ttl })),
    setPushToDns(on: boolean): void {
      pushToDns = on;
    },
    failNext(path: RegExp, status: number, times = 1): void {
      // A global/sticky regex would make .test() stateful; use a plain copy.
      failRules.push({ path: statelessPattern(path), status, remaining: times });
    },
    close(): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
