/**
 * A fake of Azure DNS (Microsoft.Network/dnsZones, api-version 2018-05-01) behind Azure Resource
 * Manager, plus the Microsoft identity platform token endpoint (./identity.ts), served over HTTPS on
 * 127.0.0.1 (the SDKs refuse bearer tokens and authorities over plain http). Driven by the official
 * @azure/arm-dns and @azure/identity with `endpoint`/`$host` and `authorityHost` pointed at it.
 * Sources: Azure REST API reference for DNS (https://learn.microsoft.com/en-us/rest/api/dns/):
 * - Zones - Get, Zones - List By Resource Group, Record Sets - Get / Create Or Update / Delete, with
 *   If-Match (etag) and If-None-Match: * on Create Or Update and If-Match on Delete; 412 when the
 *   condition fails; Create Or Update answers 201 when created and 200 when updated; Delete 200/204;
 * - JSON shapes: `properties.TTL`, `properties.TXTRecords[].value[]`, `etag`, `properties.fqdn`;
 * - a record set that is not there: 404 {"code":"NotFound","message":"The resource record '…' does not
 *   exist in resource group '…' of subscription '…'."} (response quoted in Azure/azure-cli#27374);
 * - a zone that is not there: 404 ResourceNotFound "The Resource 'Microsoft.Network/dnszones/…' under
 *   resource group '…' was not found." (ARM, "Resolve resource not found errors"); a record set PUT
 *   under a missing zone: 404 ParentResourceNotFound (hashicorp/terraform-provider-azurerm#21399);
 *   an unknown resource group: 404 ResourceGroupNotFound;
 * - no or a bad bearer token: 401 AuthenticationFailed / InvalidAuthenticationToken with
 *   WWW-Authenticate; a principal without the needed role: 403 AuthorizationFailed naming the action
 *   (e.g. Microsoft.Network/dnszones/TXT/write) and scope ("Troubleshoot Azure RBAC"); the built-in
 *   role "DNS Zone Contributor" grants every Microsoft.Network/dnsZones action, "Reader" only the read actions;
 * - throttling: 429 with Retry-After (ARM "Understand how Azure Resource Manager throttles requests").
 * ASSUMPTION: etags are fresh GUIDs per write; the 412 and 429 message texts; the record set
 * response's `provisioningState` is always Succeeded (changes reach Azure's name servers within
 * 60 s: nothing to wait for through the API).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateListenerTls } from '../../support/pebble';
import { challtestsrvMirror } from '../dns-mirror';
import { FakeIdentity, type FakePrincipal } from './identity';

export type FakeAzureRole = 'DNS Zone Contributor' | 'Reader' | 'none';

export interface FakeAzureDnsOptions {
  subscriptionId: string;
  resourceGroups: { name: string; zones: string[] }[];
  principals: (FakePrincipal & { role: FakeAzureRole })[];
  challtestsrvManagementUrl?: string;
  tokenLifetimeSeconds?: number;
}

interface TxtSet {
  etag: string;
  ttl: number;
  records: string[][];
}

export interface FakeAzureCall {
  method: string;
  path: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  status: number;
}

export interface FakeAzureDns {
  /** https://127.0.0.1:PORT: both the authority host and the Resource Manager URL. */
  url: string;
  caPem: string;
  calls: FakeAzureCall[];
  identity: FakeIdentity;
  /** TXT values of an FQDN (each record's strings joined). */
  txt(fqdn: string): string[];
  putTxt(resourceGroup: string, zone: string, relativeName: string, values: string[]): void;
  /** The next `times` ARM requests whose path matches fail with `status` (429 carries Retry-After: 1). */
  failNext(path: RegExp, status: number, times?: number): void;
  /** Runs once after the next record-set write is received, before its condition is checked (a concurrent writer). */
  beforeNextWrite(hook: () => void): void;
  /** Makes every token issued so far invalid (as if revoked or expired). */
  expireTokens(): void;
  close(): Promise<void>;
}

class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly enveloped = true,
  ) {
    super(message);
  }
}

export async function startFakeAzureDns(opts: FakeAzureDnsOptions): Promise<FakeAzureDns> {
  const tls = await generateListenerTls('fake azure');
  let base = '';
  const identity = new FakeIdentity(() => base, opts.principals, opts.tokenLifetimeSeconds);
  const sets = new Map<string, TxtSet>(); // `${rg}|${zone}|${relative}`
  const calls: FakeAzureCall[] = [];
  const failures: { path: RegExp; status: number; times: number }[] = [];
  let beforeWrite: (() => void) | undefined;
  const mirror = challtestsrvMirror(opts.challtestsrvManagementUrl);
  const groups = new Map(opts.resourceGroups.map((g) => [g.name.toLowerCase(), g]));

  const fqdnOf = (zone: string, rel: string): string => (rel === '@' ? zone : `${rel}.${zone}`);
  const pushDns = async (rg: string, zone: string, rel: string): Promise<void> => {
    const set = sets.get(`${rg}|${zone}|${rel}`);
    await mirror(fqdnOf(zone, rel), set ? set.records.map((r) => r.join('')) : []);
  };

  const zoneJson = (rg: string, zone: string): unknown => ({
    id: `/subscriptions/${opts.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/dnszones/${zone}`,
    name: zone,
    type: 'Microsoft.Network/dnszones',
    etag: '00000002-0000-0000-0000-000000000000',
    location: 'global',
    tags: {},
    properties: {
      maxNumberOfRecordSets: 10000,
      numberOfRecordSets: 2 + [...sets.keys()].filter((k) => k.startsWith(`${rg}|${zone}|`)).length,
      nameServers: [
        'ns1-01.azure-dns.com.',
        'ns2-01.azure-dns.net.',
        'ns3-01.azure-dns.org.',
        'ns4-01.azure-dns.info.',
      ],
      zoneType: 'Public',
    },
  });
  const setJson = (rg: string, zone: string, rel: string, s: TxtSet): unknown => ({
    id: `/subscriptions/${opts.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/dnszones/${zone}/TXT/${rel}`,
    name: rel,
    type: 'Microsoft.Network/dnszones/TXT',
    etag: s.etag,
    properties: {
      metadata: {},
      fqdn: `${fqdnOf(zone, rel)}.`,
      TTL: s.ttl,
      TXTRecords: s.records.map((value) => ({ value })),
      provisioningState: 'Succeeded',
    },
  });

  function authorize(header: string | undefined, method: string, action: string, scope: string): void {
    if (!header?.startsWith('Bearer '))
      throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    const token = identity.tokens.get(header.slice(7));
    if (!token || token.expiresAt <= Date.now() || token.audience !== base)
      throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    const principal = opts.principals.find((p) => p.clientId === token.clientId);
    const role = principal?.role ?? 'none';
    const allowed = role === 'DNS Zone Contributor' || (role === 'Reader' && method === 'GET');
    if (!allowed)
      throw new ArmError(
        403,
        'AuthorizationFailed',
        `The client '${token.clientId}' with object id '${token.clientId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
  }

  async function arm(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: string,
    call: FakeAzureCall,
    query: URLSearchParams,
  ): Promise<{ status: number; json?: unknown }> {
    const m =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/dnsZones(?:\/([^/]+)(?:\/(TXT)\/([^/]+))?)?$/i.exec(
        path,
      );
    if (!m) throw new ArmError(404, 'InvalidResourceType', `The resource type could not be found for ${path}.`);
    const [, sub = '', rgRaw = '', zoneRaw, type, relRaw] = m;
    const rg = decodeURIComponent(rgRaw);
    const zone = zoneRaw ? decodeURIComponent(zoneRaw).toLowerCase() : undefined;
    const rel = relRaw ? decodeURIComponent(relRaw).toLowerCase() : undefined;
    const write = method !== 'GET';
    const action = type
      ? `Microsoft.Network/dnszones/TXT/${write ? (method === 'DELETE' ? 'delete' : 'write') : 'read'}`
      : 'Microsoft.Network/dnszones/read';
    authorize(headers['authorization'], method, action, path);
    const failure = failures.find((f) => f.times > 0 && f.path.test(path));
    if (failure) {
      failure.times -= 1;
      throw new ArmError(
        failure.status,
        failure.status === 429 ? 'TooManyRequests' : 'InternalServerError',
        failure.status === 429 ? 'The request is being throttled.' : 'An internal error occurred.',
      );
    }
    const group = sub === opts.subscriptionId ? groups.get(rg.toLowerCase()) : undefined;
    if (!group) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
    if (!zone) {
      const top = Number(query.get('$top') ?? '100');
      return {
        status: 200,
        json: { value: group.zones.slice(0, Math.max(1, top)).map((z) => zoneJson(group.name, z)) },
      };
    }
    if (!group.zones.includes(zone)) {
      if (type)
        throw new ArmError(
          404,
          'ParentResourceNotFound',
          `Can not perform requested operation on nested resource. Parent resource '${zone}' not found.`,
        );
      throw new ArmError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.Network/dnszones/${zone}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
    }
    if (!type || !rel) return { status: 200, json: zoneJson(group.name, zone) };
    const key = `${group.name}|${zone}|${rel}`;
    if (method === 'GET') {
      const s = sets.get(key);
      if (!s)
        throw new ArmError(
          404,
          'NotFound',
          `The resource record '${rel}' does not exist in resource group '${rg}' of subscription '${sub}'.`,
          false,
        );
      return { status: 200, json: setJson(group.name, zone, rel, s) };
    }
    const hook = beforeWrite;
    beforeWrite = undefined;
    hook?.();
    const current = sets.get(key);
    const ifMatch = headers['if-match'];
    const ifNoneMatch = headers['if-none-match'];
    if ((ifMatch && ifMatch !== current?.etag) || (ifNoneMatch === '*' && current))
      throw new ArmError(
        412,
        'PreconditionFailed',
        `The condition '${ifMatch ?? ifNoneMatch}' in the ${ifMatch ? 'If-Match' : 'If-None-Match'} header was not satisfied. The current was '${current?.etag ?? 'n/a'}'.`,
        false,
      );
    if (method === 'DELETE') {
      if (!current) return { status: 204 };
      sets.delete(key);
      await pushDns(group.name, zone, rel);
      return { status: 200 };
    }
    if (method === 'PUT') {
      let parsed: { properties?: { TTL?: unknown; TXTRecords?: { value?: unknown }[] } };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.');
      }
      const ttl = parsed.properties?.TTL;
      const records = parsed.properties?.TXTRecords;
      if (
        typeof ttl !== 'number' ||
        !Array.isArray(records) ||
        records.some((r) => !Array.isArray(r.value) || r.value.some((v) => typeof v !== 'string' || v.length > 1024))
      )
        throw new ArmError(
          400,
          'BadRequest',
          'The TXT record set is invalid: give TTL and TXTRecords[].value[] strings.',
        );
      const next: TxtSet = { etag: randomUUID(), ttl, records: records.map((r) => r.value as string[]) };
      sets.set(key, next);
      call.status = current ? 200 : 201;
      await pushDns(group.name, zone, rel);
      return { status: current ? 200 : 201, json: setJson(group.name, zone, rel, next) };
    }
    throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
  }

  const server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', base);
      const method = req.method ?? 'GET';
      const call: FakeAzureCall = {
        method,
        path: url.pathname,
        ...(req.headers['if-match'] ? { ifMatch: String(req.headers['if-match']) } : {}),
        ...(req.headers['if-none-match'] ? { ifNoneMatch: String(req.headers['if-none-match']) } : {}),
        status: 200,
      };
      calls.push(call);
      const send = (status: number, json?: unknown, extra: Record<string, string> = {}): void => {
        call.status = status;
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-ms-request-id': randomUUID(),
          ...extra,
        });
        res.end(json === undefined ? '' : JSON.stringify(json));
      };
      const idReply = identity.handle(method, url.pathname, new URLSearchParams(body));
      if (idReply) return send(idReply.status, idReply.body);
      if (url.searchParams.get('api-version') !== '2018-05-01')
        return send(400, {
          error: {
            code: 'MissingApiVersionParameter',
            message: 'The api-version query parameter (?api-version=) is required for all requests.',
          },
        });
      void arm(method, url.pathname, req.headers, body, call, url.searchParams).then(
        (r) => send(r.status, r.json),
        (error: unknown) => {
          if (!(error instanceof ArmError))
            return send(500, { error: { code: 'InternalServerError', message: String(error) } });
          const payload = { code: error.code, message: error.message };
          const extra: Record<string, string> =
            error.status === 429
              ? { 'retry-after': '1' }
              : error.status === 401
                ? {
                    'www-authenticate': `Bearer authorization_uri="${base}/common", error="invalid_token", error_description="The access token is invalid."`,
                  }
                : {};
          send(error.status, error.enveloped ? { error: payload } : payload, extra);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    caPem: tls.caCertPem,
    calls,
    identity,
    txt: (fqdn) => {
      const name = fqdn.replace(/\.$/, '').toLowerCase();
      return [...sets.entries()]
        .filter(([k]) => {
          const [, zone = '', rel = ''] = k.split('|');
          return fqdnOf(zone, rel) === name;
        })
        .flatMap(([, s]) => s.records.map((r) => r.join('')));
    },
    putTxt(rg, zone, rel, values) {
      sets.set(`${rg}|${zone}|${rel}`, { etag: randomUUID(), ttl: 300, records: values.map((v) => [v]) });
    },
    failNext(path, status, times = 1) {
      failures.push({ path, status, times });
    },
    beforeNextWrite(hook) {
      beforeWrite = hook;
    },
    expireTokens() {
      identity.tokens.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
