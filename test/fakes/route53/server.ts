/**
 * A fake of the Amazon Route 53 API (2013-04-01) subset CertFleet uses, driven by the official
 * @aws-sdk/client-route-53 with `endpoint` pointed at it. Plain HTTP on 127.0.0.1, node:http only.
 * Sources: the Route 53 API Reference (https://docs.aws.amazon.com/Route53/latest/APIReference/):
 * - every request signed with SigV4 for service `route53` (./sigv4.ts): unknown key → 403
 *   InvalidClientTokenId, wrong secret → 403 SignatureDoesNotMatch (AWS "Common Errors");
 * - an IAM policy per key: an action it lacks → 403 AccessDenied "User: <arn> is not authorized to
 *   perform: route53:<Action> on resource: <arn>" (IAM "Troubleshoot access denied error messages");
 * - ListHostedZonesByName (sorted by reversed labels, starting at dnsname; public and private zones of
 *   one name both listed), GetHostedZone (404 NoSuchHostedZone "No hosted zone found with ID: …");
 * - ListResourceRecordSets (starts at name/type in Route 53's order, maxitems, NextRecordName);
 * - ChangeResourceRecordSets (./model.ts: transactional); InvalidChangeBatch is a standard
 *   `<ErrorResponse>` (HTTP 400, Type Sender) whose Message lists every problem in brackets, "[a, b]":
 *   Route 53 dropped the older `<InvalidChangeBatch><Messages>` body in 2024 (aws/aws-sdk-kotlin#1433
 *   and PR #1435, which quote today's response; the JS SDK v3 parses only the standard form);
 *   a change starts PENDING and GetChange reports INSYNC once it propagated;
 * - Throttling "Rate exceeded" and PriorRequestNotComplete, both HTTP 400 (AWS knowledge center
 *   "How do I avoid throttling errors in Route 53?"), injected with failNext.
 * ASSUMPTION: a change turns INSYNC after `syncAfterPolls` GetChange calls (real: usually within 60 s).
 * ASSUMPTION: no RequestTimeTooSkewed check (clock skew) and no pagination of hosted zones beyond maxitems.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseStringPromise } from 'xml2js';
import { challtestsrvMirror } from '../dns-mirror';
import {
  applyBatch,
  canonicalName,
  compareSets,
  seedZone,
  sortKey,
  type ChangeInput,
  type RecordSet,
  type Zone,
} from './model';
import { verifySigV4 } from './sigv4';

export interface FakeRoute53Key {
  accessKeyId: string;
  secretAccessKey: string;
  /** Route 53 actions its IAM policy allows (e.g. 'ChangeResourceRecordSets'); default all. */
  allow?: string[];
}

export interface FakeRoute53Options {
  keys: FakeRoute53Key[];
  zones: { name: string; id?: string; privateZone?: boolean }[];
  /** GetChange answers PENDING this many times before INSYNC; default 1. */
  syncAfterPolls?: number;
  challtestsrvManagementUrl?: string;
}

export interface FakeRoute53Call {
  method: string;
  path: string;
  query: Record<string, string>;
  action: string;
  /** The access key id that signed it, when the signature was valid. */
  accessKeyId?: string;
  status: number;
}

export interface FakeRoute53 {
  endpoint: string;
  calls: FakeRoute53Call[];
  /** TXT values of a name (without quotes handling: as stored, e.g. `"abc"`), across zones. */
  txt(name: string): string[];
  /** Sets a record set directly (as another tool or a person would). */
  putSet(zoneName: string, set: { name: string; type: string; ttl: number; values: string[] }): void;
  /** The next `times` requests for `action` fail with the given error code (Throttling, PriorRequestNotComplete, ServiceUnavailable). */
  failNext(action: string, code: 'Throttling' | 'PriorRequestNotComplete' | 'ServiceUnavailable', times?: number): void;
  /** Runs once after the next ChangeResourceRecordSets has read its body, before it is applied (a concurrent writer). */
  beforeNextChange(hook: () => void): void;
  close(): Promise<void>;
}

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const ACCOUNT = '123456789012';
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const nameOut = (name: string): string => esc(name.replace(/\*/g, '\\052'));
const requestId = (): string =>
  randomBytes(16)
    .toString('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');

class R53Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

class InvalidChangeBatch extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join('; '));
  }
}

/**
 * A paged list response (API reference, ListHostedZonesByName and ListResourceRecordSets): the first
 * `max` items, what the request echoes (`echo`), IsTruncated, the next page's markers only when
 * truncated, and MaxItems.
 */
function pagedList<T>(
  element: string,
  list: { name: string; items: readonly T[]; xml: (item: T) => string },
  max: number,
  echo: string,
  nextMarkers: (next: T) => string,
): string {
  const next = list.items[max];
  const page = list.items.slice(0, max).map(list.xml).join('');
  return (
    `<${element} xmlns="${NS}"><${list.name}>${page}</${list.name}>${echo}` +
    `<IsTruncated>${next !== undefined}</IsTruncated>${next === undefined ? '' : nextMarkers(next)}` +
    `<MaxItems>${max}</MaxItems></${element}>`
  );
}

const zoneXml = (z: Zone): string =>
  `<HostedZone><Id>/hostedzone/${z.id}</Id><Name>${nameOut(z.name)}</Name><CallerReference>certfleet-fake-${z.id}</CallerReference>` +
  `<Config><PrivateZone>${z.privateZone}</PrivateZone></Config><ResourceRecordSetCount>${z.sets.size}</ResourceRecordSetCount></HostedZone>`;

const setXml = (s: RecordSet): string =>
  `<ResourceRecordSet><Name>${nameOut(s.name)}</Name><Type>${s.type}</Type><TTL>${s.ttl}</TTL><ResourceRecords>` +
  s.values.map((v) => `<ResourceRecord><Value>${esc(v)}</Value></ResourceRecord>`).join('') +
  `</ResourceRecords></ResourceRecordSet>`;

const changeInfoXml = (c: { id: string; status: string; at: string }): string =>
  `<ChangeInfo><Id>/change/${c.id}</Id><Status>${c.status}</Status><SubmittedAt>${c.at}</SubmittedAt></ChangeInfo>`;

interface ChangeState {
  id: string;
  polls: number;
  at: string;
  names: { zone: Zone; name: string }[];
  synced: boolean;
}

function routeOf(method: string, path: string): { action: string; zoneId?: string; changeId?: string } {
  const m = /^\/2013-04-01\/(hostedzonesbyname|hostedzone\/([^/]+)(\/rrset\/?)?|change\/([^/]+))$/.exec(path);
  if (!m) return { action: 'Unknown' };
  if (m[1] === 'hostedzonesbyname' && method === 'GET') return { action: 'ListHostedZonesByName' };
  if (m[4] && method === 'GET') return { action: 'GetChange', changeId: m[4] };
  if (m[2] && m[3] && method === 'GET') return { action: 'ListResourceRecordSets', zoneId: m[2] };
  if (m[2] && m[3] && method === 'POST') return { action: 'ChangeResourceRecordSets', zoneId: m[2] };
  if (m[2] && method === 'GET') return { action: 'GetHostedZone', zoneId: m[2] };
  return { action: 'Unknown' };
}

export async function startFakeRoute53(opts: FakeRoute53Options): Promise<FakeRoute53> {
  const zones = opts.zones.map((z, i) =>
    seedZone(
      z.id ?? `Z${String(i + 1).padStart(3, '0')}FAKE${randomBytes(4).toString('hex').toUpperCase()}`,
      z.name,
      z.privateZone === true,
    ),
  );
  const changes = new Map<string, ChangeState>();
  const calls: FakeRoute53Call[] = [];
  const failures: { action: string; code: string; times: number }[] = [];
  let beforeChange: (() => void) | undefined;
  const mirror = challtestsrvMirror(opts.challtestsrvManagementUrl);
  const syncAfter = opts.syncAfterPolls ?? 1;

  const zoneById = (id: string): Zone => {
    const zone = zones.find((z) => z.id === id);
    if (!zone) throw new R53Error(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
    return zone;
  };

  const authorize = (accessKeyId: string, action: string, resource: string): void => {
    const key = opts.keys.find((k) => k.accessKeyId === accessKeyId);
    if (key?.allow && !key.allow.includes(action))
      throw new R53Error(
        403,
        'AccessDenied',
        `User: arn:aws:iam::${ACCOUNT}:user/certfleet is not authorized to perform: route53:${action} on resource: ${resource}`,
      );
  };

  async function parseChanges(body: Buffer): Promise<ChangeInput[]> {
    type XSet = {
      Name?: string[];
      Type?: string[];
      TTL?: string[];
      ResourceRecords?: { ResourceRecord?: { Value?: string[] }[] }[];
    };
    type XChange = { Action?: string[]; ResourceRecordSet?: XSet[] };
    let doc: { ChangeResourceRecordSetsRequest?: { ChangeBatch?: { Changes?: { Change?: XChange[] }[] }[] } };
    try {
      doc = (await parseStringPromise(body.toString('utf8'))) as typeof doc;
    } catch {
      throw new R53Error(
        400,
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema.',
      );
    }
    const list = doc.ChangeResourceRecordSetsRequest?.ChangeBatch?.[0]?.Changes?.[0]?.Change ?? [];
    if (list.length === 0)
      throw new R53Error(400, 'InvalidInput', 'Invalid request: Expected exactly one of [Changes], but got none');
    return list.map((c) => {
      const s = c.ResourceRecordSet?.[0] ?? {};
      return {
        action: c.Action?.[0] ?? '',
        set: {
          name: canonicalName(s.Name?.[0] ?? ''),
          type: s.Type?.[0] ?? '',
          ttl: Number(s.TTL?.[0] ?? 'NaN'),
          values: (s.ResourceRecords?.[0]?.ResourceRecord ?? []).map((r) => r.Value?.[0] ?? ''),
        },
      };
    });
  }

  async function handle(action: string, route: ReturnType<typeof routeOf>, url: URL, body: Buffer): Promise<string> {
    const q = url.searchParams;
    if (action === 'ListHostedZonesByName') {
      const max = Number(q.get('maxitems') ?? '100');
      const from = q.get('dnsname') ? sortKey(canonicalName(q.get('dnsname') ?? '')) : '';
      const sorted = [...zones].sort((a, b) =>
        sortKey(a.name) < sortKey(b.name) ? -1 : sortKey(a.name) > sortKey(b.name) ? 1 : 0,
      );
      const listed = sorted.filter((z) => sortKey(z.name) >= from);
      return pagedList(
        'ListHostedZonesByNameResponse',
        { name: 'HostedZones', items: listed, xml: zoneXml },
        max,
        q.get('dnsname') ? `<DNSName>${nameOut(canonicalName(q.get('dnsname') ?? ''))}</DNSName>` : '',
        (next) => `<NextDNSName>${nameOut(next.name)}</NextDNSName><NextHostedZoneId>${next.id}</NextHostedZoneId>`,
      );
    }
    if (action === 'GetHostedZone') {
      const zone = zoneById(route.zoneId ?? '');
      return (
        `<GetHostedZoneResponse xmlns="${NS}">${zoneXml(zone)}<DelegationSet><NameServers>` +
        `<NameServer>ns-1.awsdns-00.com</NameServer><NameServer>ns-2.awsdns-00.net</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>`
      );
    }
    if (action === 'ListResourceRecordSets') {
      const zone = zoneById(route.zoneId ?? '');
      const max = Number(q.get('maxitems') ?? '300');
      const start = { name: q.get('name') ? canonicalName(q.get('name') ?? '') : '', type: q.get('type') ?? '' };
      const sets = [...zone.sets.values()].sort(compareSets).filter((s) => !start.name || compareSets(s, start) >= 0);
      return pagedList(
        'ListResourceRecordSetsResponse',
        { name: 'ResourceRecordSets', items: sets, xml: setXml },
        max,
        '',
        (next) => `<NextRecordName>${nameOut(next.name)}</NextRecordName><NextRecordType>${next.type}</NextRecordType>`,
      );
    }
    if (action === 'ChangeResourceRecordSets') {
      const zone = zoneById(route.zoneId ?? '');
      const batch = await parseChanges(body);
      const hook = beforeChange;
      beforeChange = undefined;
      hook?.();
      const problems = applyBatch(zone, batch);
      if (problems.length) throw new InvalidChangeBatch(problems);
      const change: ChangeState = {
        id: `C${randomBytes(8).toString('hex').toUpperCase()}`,
        polls: 0,
        at: new Date().toISOString(),
        names: [...new Set(batch.map((c) => c.set.name))].map((name) => ({ zone, name })),
        synced: false,
      };
      changes.set(change.id, change);
      return `<ChangeResourceRecordSetsResponse xmlns="${NS}">${changeInfoXml({ ...change, status: 'PENDING' })}</ChangeResourceRecordSetsResponse>`;
    }
    if (action === 'GetChange') {
      const change = changes.get(route.changeId ?? '');
      if (!change) throw new R53Error(404, 'NoSuchChange', `A change with the specified change ID does not exist.`);
      change.polls += 1;
      if (!change.synced && change.polls > syncAfter) {
        change.synced = true;
        for (const { zone, name } of change.names) {
          const txt = [...zone.sets.values()].find((s) => s.name === name && s.type === 'TXT');
          await mirror(
            name,
            (txt?.values ?? []).map((v) => v.replace(/^"(.*)"$/, '$1')),
          );
        }
      }
      return `<GetChangeResponse xmlns="${NS}">${changeInfoXml({ ...change, status: change.synced ? 'INSYNC' : 'PENDING' })}</GetChangeResponse>`;
    }
    throw new R53Error(404, 'UnknownOperationException', 'Unknown operation');
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const route = routeOf(method, url.pathname);
      const call: FakeRoute53Call = {
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        action: route.action,
        status: 200,
      };
      calls.push(call);
      const reply = (status: number, xml: string): void => {
        call.status = status;
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId() });
        res.end(`<?xml version="1.0"?>\n${xml}`);
      };
      void (async () => {
        try {
          const sig = verifySigV4({
            method,
            url: req.url ?? '/',
            headers: req.headers,
            body,
            service: 'route53',
            secretFor: (id) => opts.keys.find((k) => k.accessKeyId === id)?.secretAccessKey,
          });
          if (!sig.ok) throw new R53Error(403, sig.code, sig.message);
          call.accessKeyId = sig.accessKeyId;
          const resource = route.zoneId
            ? `arn:aws:route53:::hostedzone/${route.zoneId}`
            : route.changeId
              ? `arn:aws:route53:::change/${route.changeId}`
              : '*';
          authorize(sig.accessKeyId, route.action, resource);
          const failure = failures.find((f) => f.action === route.action && f.times > 0);
          if (failure) {
            failure.times -= 1;
            if (failure.code === 'Throttling') throw new R53Error(400, 'Throttling', 'Rate exceeded');
            if (failure.code === 'PriorRequestNotComplete')
              throw new R53Error(
                400,
                'PriorRequestNotComplete',
                'The request was rejected because Route 53 was still processing a prior request.',
              );
            throw new R53Error(503, 'ServiceUnavailable', 'Service Unavailable', 'Receiver');
          }
          reply(200, await handle(route.action, route, url, body));
        } catch (error) {
          if (error instanceof InvalidChangeBatch) {
            reply(
              400,
              `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>InvalidChangeBatch</Code><Message>${esc(`[${error.messages.join(', ')}]`)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
            );
          } else if (error instanceof R53Error) {
            reply(
              error.status,
              `<ErrorResponse xmlns="${NS}"><Error><Type>${error.type}</Type><Code>${error.code}</Code><Message>${esc(error.message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
            );
          } else {
            reply(
              500,
              `<ErrorResponse xmlns="${NS}"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>${esc(String(error))}</Message></Error></ErrorResponse>`,
            );
          }
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    txt: (name) =>
      zones.flatMap((z) =>
        [...z.sets.values()].filter((s) => s.name === canonicalName(name) && s.type === 'TXT').flatMap((s) => s.values),
      ),
    putSet(zoneName, set) {
      const zone = zones.find((z) => z.name === canonicalName(zoneName) && !z.privateZone);
      if (!zone) throw new Error(`fake-route53: no zone ${zoneName}`);
      const name = canonicalName(set.name);
      zone.sets.set(`${name}|${set.type}`, { ...set, name });
    },
    failNext(action, code, times = 1) {
      failures.push({ action, code, times });
    },
    beforeNextChange(hook) {
      beforeChange = hook;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
