/**
 * A fake PAN-OS firewall (or Panorama) XML API. Sources: [panos-doc] docs.paloaltonetworks.com PAN-OS
 * XML API pages ("Get Your API Key", "Import Files", "Commit", "Asynchronous and Synchronous
 * Requests"); [acme.sh] acmesh-official/acme.sh deploy/panos.sh (@64fd9c8) and issues #4309, #4716;
 * [panos-le] psiri/letsencrypt_paloalto (@39b3a14), dmgeurts/getcert_paloalto (@b709f93);
 * [puppet-panos] puppetlabs/puppetlabs-panos spec fixtures (recorded replies). Every behaviour names
 * its source or says ASSUMPTION; docs/vendors/panos.md lists the assumptions (P1-P6).
 *
 * - HTTPS on 127.0.0.1 (free port) with a generated self-signed management certificate; `/api/` takes
 *   GET query parameters or a POST body (application/x-www-form-urlencoded or multipart/form-data)
 *   ([panos-doc] "Structure of a request"; that every parameter may be in the body: ASSUMPTION P1).
 * - `type=keygen` (user + password): `<result><key>…</key></result>` ([panos-doc]); bad credentials:
 *   HTTP 403 with the odd spaced, single-quoted body `<response status = 'error' code = '403'>…Invalid
 *   Credential` (recorded in public PAN-OS client test suites). A new key for a user invalidates that
 *   user's previous key ([panos-doc] 10.0 "Get Your API Key": a new key ends the user's sessions).
 *   Every other call needs `key=` or `X-PAN-KEY` ([panos-doc]); a missing or invalidated key gets the
 *   same 403 (ASSUMPTION).
 * - `type=version`: sw-version, multi-vsys, model, serial ([acme.sh] keytest uses it).
 * - `type=import`, categories certificate / private-key / keypair, formats pem / pkcs12 ([acme.sh]
 *   deployer cert|key, [panos-le], [panos-doc] "Import Files"); the private key needs a `passphrase`
 *   that decrypts it, an unencrypted key accepts any passphrase ([acme.sh] sends `123456`; that an
 *   encrypted PKCS#8 key is accepted: ASSUMPTION P2); certificate-name validation (leading `*` or `_`,
 *   longer than 63, or 31 in Panorama mode: acme.sh #4309, PR #6630) → code 17 with the CDATA line of
 *   acme.sh #4309. Imports change only the CANDIDATE configuration ([panos-le] "Successfully imported
 *   … into candidate configuration").
 * - `type=config`: `get` (candidate), `show` (running) (PowerPAN Invoke-PanXApi help), `set` (merge)
 *   and `delete` on the ssl-tls-service-profile xpaths (shared, vsys, deviceconfig/system) and on
 *   `/config/shared/certificate/entry[@name='…']`; set/delete reply code 20 "command succeeded"
 *   ([panos-le] README log); get replies code 19 (found) or code 7 with an empty result (not there)
 *   (ASSUMPTION P3 for the code 7 shape).
 * - `type=commit`: full (`<commit></commit>`) or partial by admin
 *   (`<commit><partial><admin><member>U</member></admin></partial></commit>`) ([panos-doc] "Commit");
 *   only the changes made by the named admins are committed (acme.sh PR #6915 rationale). Reply: job
 *   id (code 19) or "There are no changes to commit." without a job ([puppet-panos]).
 * - `type=op` `<show><jobs><id>N</id></jobs></show>` ([puppet-panos] recorded sequences): each poll
 *   advances the active commit job; the job goes ACT (progress 0…100, result PEND) → FIN with OK or
 *   FAIL and `details/line` entries. Queued jobs show PEND (ASSUMPTION). Only a FIN/OK job changes the
 *   RUNNING configuration; a failed one leaves its changes pending (ASSUMPTION).
 *   Commit validation rejects a profile whose certificate does not exist ("is not a valid reference",
 *   wording: ASSUMPTION). It does NOT check that a certificate's key matches it (acme.sh issue #4716).
 * - One TLS listener per configured SSL/TLS service profile, presenting the certificate the profile
 *   references in the RUNNING config (initially a self-signed default object). When a committed pair
 *   does not match, the listener keeps the last valid pair and `mismatchCommitted()` turns true
 *   (acme.sh #4716 describes the lockout; what the listener then serves: ASSUMPTION).
 *
 * ASSUMPTIONS beyond those marked above: texts and codes of errors other than keygen's 403 and the
 * code 17 name error (missing passphrase, wrong passphrase, key for a missing certificate, unknown job,
 * bad xpath, malformed element), the code 7 "No such node" error of `show`, the "cannot be deleted
 * because of references from:" refusal of `delete` (code 12 here), that deleting a missing node
 * succeeds, that a certificate import keeps an existing private key and stores the first
 * certificate of the file as the object, and the job XML fields besides id, status, result, progress, details and
 * warnings. Not modelled: Panorama xpaths and templates, config and commit locks, HA.
 * Served chain (docs/vendors/panos.md; acme.sh's `panos` hook and Palo Alto's KB "How to Install a
 * Chained Certificate Signed by a Public CA" upload leaf + intermediates in one file): a listener presents
 * the bound leaf followed by exactly the other certificates of the file imported for it. TRANSITION
 * (ASSUMPTION, no source): when that file held the leaf alone, as today's deployer imports it, the chain
 * is still built from separate certificate objects; the PAN-OS upload rework removes this fallback.
 */
import { constants as cryptoConstants, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import * as tls from 'node:tls';
import { Request } from 'undici';
import type { VerifyEndpoint } from '../../../activities/deployers/types';
import type { FakeDeviceView } from '../../support/deployer-contract';
import { decryptKey, fingerprintOf, keyMatchesCert, pemCertificates, pemPrivateKey, readPkcs12, selfSigned } from './crypto';
import { child, clone, ensure, escapeXml, find, leaf, merge, node, parseFragment, parseXml, parseXpath, remove, serialize, textOf, type Step, type XNode } from './xml';

export interface FakePanosProfile {
  name: string;
  /** e.g. 'vsys1'; omitted: the profile is in `shared`. */
  vsys?: string;
}

export interface FakePanosOptions {
  /** The API admin (default 'certfleet-api'). */
  username?: string;
  /** Default: random. */
  password?: string;
  /** Further admins (name → password), e.g. a human whose pending edits a partial commit must not push. */
  otherAdmins?: Record<string, string>;
  /** SSL/TLS service profiles, each with its own TLS listener. Default: gp-portal and mgmt-ui (shared). */
  profiles?: FakePanosProfile[];
  /** Profile referenced by deviceconfig/system/ssl-tls-service-profile (the management GUI); default 'mgmt-ui' when configured. */
  managementProfile?: string;
  /** Panorama: certificate names are limited to 31 characters; `type=version` reports model Panorama. */
  panorama?: boolean;
  /** Default '10.2.9'. */
  swVersion?: string;
  /** Number of `show jobs` polls until a commit job finishes (default 3). */
  commitPolls?: number;
  /**
   * TLS session resumption (tickets) on the management API. Default OFF: a resumed handshake carries
   * no certificate, and activities/deployers/device-http.ts's pinned-fingerprint check then sees
   * "(none)" and refuses the connection (see the todo test in test/unit/deployer-panos.test.ts).
   */
  sessionResumption?: boolean;
}

export interface FakePanosCall {
  method: string;
  path: string;
  /** `type=…&action=…&category=…` (what failNext matches). */
  what: string;
  type: string;
  action?: string;
  category?: string;
  certificateName?: string;
  xpath?: string;
  element?: string;
  cmd?: string;
  /** Where the parameters came from. */
  transport: 'query' | 'form' | 'multipart';
  keyVia?: 'param' | 'header';
  /** All parameters; key, password and passphrase masked, files summarised. */
  params: Record<string, string>;
  /** The admin the key belongs to, when it was valid. */
  admin?: string;
  httpStatus: number;
  /** `status` attribute of the reply and its `code`, if any. */
  replyStatus: string;
  code?: string;
}

export interface FakePanosJob {
  id: number;
  user: string;
  status: 'ACT' | 'PEND' | 'FIN';
  result: 'PEND' | 'OK' | 'FAIL';
  progress: number;
  details: string[];
  changes: string[];
}

export interface FakePanos {
  host: string;
  port: number;
  /** https://127.0.0.1:PORT */
  url: string;
  managementCertPem: string;
  managementFingerprint: string;
  /** Fingerprint of the self-signed default certificate the profiles reference at start. */
  defaultCertificateFingerprint: string;
  defaultCertificateName: string;
  username: string;
  password: string;
  /** TLS endpoints of the profiles, in the order of `profiles`. */
  endpoints: VerifyEndpoint[];
  endpoint(profile: string): VerifyEndpoint;
  calls: FakePanosCall[];
  view(): FakeDeviceView;
  mutatingCalls(): number;
  certificateNames(config?: 'candidate' | 'running'): string[];
  /** Certificate name a profile references, in the candidate or running config. */
  profileCertificate(profile: string, config?: 'candidate' | 'running'): string | undefined;
  /** Whether the candidate certificate object has a private key. */
  hasPrivateKey(name: string): boolean;
  /** Uncommitted changes (of one admin, or all). */
  pendingChanges(admin?: string): string[];
  jobs(): FakePanosJob[];
  /** A committed certificate/key pair did not match (docs/vendors/panos.md); the listener kept the old pair. */
  mismatchCommitted(): boolean;
  /** Another client runs keygen for the user (default: the API admin): the previous key stops working. */
  issueKey(user?: string): string;
  /** Another admin edits the candidate config (action=set semantics), e.g. a human's pending change. */
  editAs(admin: string, xpath: string, element: string): Promise<void>;
  /** The next commit job ends FIN/FAIL with these detail lines. */
  failNextCommit(lines: string[]): void;
  /** The next `times` (default 1) requests whose `what` (`type=…&action=…&category=…`) or path matches get this reply. */
  failNext(match: RegExp, reply: { status?: number; xml: string; times?: number }): void;
  /**
   * The next matching request is carried out, but its reply is held until `release()`: the device has
   * changed while the caller still waits (to kill a worker at that moment). `reached` resolves when held.
   */
  holdReplyOfNext(match: RegExp): { reached: Promise<void>; release(): void };
  /** On: the TLS listeners keep serving what they serve now, whatever is committed. */
  serveStale(on: boolean): void;
  close(): Promise<void>;
}

interface Change {
  admin: string;
  description: string;
  apply(config: XNode): void;
}

interface Job {
  id: number;
  user: string;
  status: 'ACT' | 'PEND' | 'FIN';
  result: 'PEND' | 'OK' | 'FAIL';
  progress: number;
  details: string[];
  changes: Change[];
  failLines?: string[];
  tenq: Date;
  tdeq?: Date;
  tfin?: Date;
}

interface Reply {
  status: number;
  xml: string;
}

interface Listener {
  profile: FakePanosProfile;
  server: tls.Server;
  port: number;
  sockets: Set<Socket>;
  served: string;
}

const DEVICE_STEPS: Step[] = [{ name: 'config' }, { name: 'devices' }, { name: 'entry', entryName: 'localhost.localdomain' }];
const SHARED_CERTS: Step[] = [{ name: 'config' }, { name: 'shared' }, { name: 'certificate' }];
const certSteps = (name: string): Step[] => [...SHARED_CERTS, { name: 'entry', entryName: name }];
const profileContainer = (vsys?: string): Step[] =>
  vsys ? [...DEVICE_STEPS, { name: 'vsys' }, { name: 'entry', entryName: vsys }, { name: 'ssl-tls-service-profile' }] : [{ name: 'config' }, { name: 'shared' }, { name: 'ssl-tls-service-profile' }];
const profileSteps = (p: FakePanosProfile): Step[] => [...profileContainer(p.vsys), { name: 'entry', entryName: p.name }];
const pathText = (steps: Step[]): string => steps.map((s) => (s.entryName === undefined ? `/${s.name}` : `/${s.name}[@name='${s.entryName}']`)).join('');

const MUTATING_CONFIG_ACTIONS = new Set(['set', 'edit', 'delete', 'rename', 'move', 'clone', 'override', 'multi-config']);
const INVALID_CREDENTIAL: Reply = { status: 403, xml: "<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>" };

const success = (inner: string, code?: string): Reply => ({ status: 200, xml: `<response status="success"${code ? ` code="${code}"` : ''}>${inner}</response>` });
const failure = (code: string | undefined, lines: string[]): Reply => ({
  status: 200,
  xml: `<response status="error"${code ? ` code="${code}"` : ''}><msg>${lines.map((l) => `<line>${escapeXml(l)}</line>`).join('')}</msg></response>`,
});

/** "CN=a\nO=b" → "/CN=a/O=b", as PAN-OS prints subjects. */
const slashName = (dn: string): string => dn.split('\n').filter(Boolean).map((part) => `/${part}`).join('');
const panosDate = (d: Date): string => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '').replace(/-/g, '/');

function certificateFields(certPem: string): XNode[] {
  const x = new X509Certificate(certPem);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? '';
  return [
    leaf('common-name', cn),
    leaf('subject', slashName(x.subject)),
    leaf('issuer', slashName(x.issuer)),
    leaf('not-valid-before', x.validFrom),
    leaf('not-valid-after', x.validTo),
    leaf('expiry-epoch', String(Math.floor(new Date(x.validTo).getTime() / 1000))),
    leaf('algorithm', x.publicKey.asymmetricKeyType === 'rsa' ? 'RSA' : 'EC'),
    leaf('ca', x.ca ? 'yes' : 'no'),
    leaf('public-key', certPem.trim()),
  ];
}

/** Creates or updates a certificate object: new certificate fields replace the old ones, the private key stays unless given. */
function upsertCertificate(config: XNode, name: string, certPem: string | undefined, keyToken: string | undefined): void {
  const target = ensure(config, certSteps(name));
  if (certPem) {
    const key = child(target, 'private-key');
    target.children = [...certificateFields(certPem), ...(key ? [key] : [])];
  }
  if (keyToken) {
    target.children = target.children.filter((c) => c.name !== 'private-key');
    target.children.push(leaf('private-key', keyToken));
  }
}

/** Profiles of a configuration: shared and every vsys. */
function profilesOf(config: XNode): { label: string; node: XNode }[] {
  const out: { label: string; node: XNode }[] = [];
  for (const p of find(config, profileContainer())?.children ?? []) out.push({ label: `shared -> ssl-tls-service-profile -> ${p.attrs['name'] ?? ''}`, node: p });
  for (const vsys of find(config, [...DEVICE_STEPS, { name: 'vsys' }])?.children ?? []) {
    for (const p of child(vsys, 'ssl-tls-service-profile')?.children ?? []) {
      out.push({ label: `vsys -> ${vsys.attrs['name'] ?? ''} -> ssl-tls-service-profile -> ${p.attrs['name'] ?? ''}`, node: p });
    }
  }
  return out;
}

const certificateNamesOf = (config: XNode): string[] => (find(config, SHARED_CERTS)?.children ?? []).map((c) => c.attrs['name'] ?? '');

/** The set/delete xpaths the fake models. */
function editable(steps: Step[], action: 'set' | 'delete'): boolean {
  const text = pathText(steps);
  const name = `\\[@name='[^']*'\\]`;
  const profile = new RegExp(`^(/config/shared|/config/devices/entry\\[@name='localhost\\.localdomain'\\]/vsys/entry${name})/ssl-tls-service-profile/entry${name}(/.*)?$`);
  const system = /^\/config\/devices\/entry\[@name='localhost\.localdomain'\]\/deviceconfig\/system(\/ssl-tls-service-profile)?$/;
  const certificate = new RegExp(`^/config/shared/certificate/entry${name}$`);
  return profile.test(text) || system.test(text) || (action === 'delete' && certificate.test(text));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

export async function startFakePanos(opts: FakePanosOptions = {}): Promise<FakePanos> {
  const username = opts.username ?? 'certfleet-api';
  const password = opts.password ?? `pw-${randomBytes(9).toString('base64url')}`;
  const admins = new Map<string, string>([[username, password], ...Object.entries(opts.otherAdmins ?? {})]);
  const profiles = opts.profiles ?? [{ name: 'gp-portal' }, { name: 'mgmt-ui' }];
  const managementProfile = opts.managementProfile ?? (profiles.some((p) => p.name === 'mgmt-ui' && !p.vsys) ? 'mgmt-ui' : undefined);
  const maxNameLength = opts.panorama ? 31 : 63;
  const commitPolls = Math.max(1, opts.commitPolls ?? 3);
  const management = selfSigned('panos-fake.local');
  const defaultPair = selfSigned('PAN-OS default SSL certificate');
  const defaultName = 'default-ssl-cert';

  const keyStore = new Map<string, string>(); // private-key token in the config → decrypted key PEM
  const newKeyToken = (keyPem: string): string => {
    const token = `-AQ==${randomBytes(24).toString('base64')}`;
    keyStore.set(token, keyPem);
    return token;
  };

  let running = node('config', { version: opts.swVersion ?? '10.2.9' }, [node('shared'), node('devices')]);
  upsertCertificate(running, defaultName, defaultPair.certPem, newKeyToken(defaultPair.keyPem));
  for (const p of profiles) {
    merge(ensure(running, profileSteps(p)), [leaf('certificate', defaultName), node('protocol-settings', {}, [leaf('min-version', 'tls1-2')])]);
  }
  if (managementProfile) merge(ensure(running, [...DEVICE_STEPS, { name: 'deviceconfig' }, { name: 'system' }]), [leaf('ssl-tls-service-profile', managementProfile)]);

  const pending: Change[] = [];
  const jobs: Job[] = [];
  let nextJobId = 41;
  let failNextCommitLines: string[] | undefined;
  const failRules: { match: RegExp; status: number; xml: string; remaining: number }[] = [];
  const holds: { match: RegExp; reached: () => void; released: Promise<void> }[] = [];
  const currentKeys = new Map<string, string>(); // admin → valid API key
  const secrets: string[] = [...admins.values()];
  const calls: FakePanosCall[] = [];
  let mutating = 0;
  let stale = false;
  let mismatch = false;
  /** TEST SWITCH (not device behaviour): serve the bound leaf without its intermediates. */
  let leafOnly = false;
  /** Leaf fingerprint → the certificates imported after it in the same file (its chain, in file order). */
  const importedChains = new Map<string, string[]>();

  const candidate = (): XNode => {
    const config = clone(running);
    for (const job of jobs) if (job.status !== 'FIN') for (const c of job.changes) c.apply(config);
    for (const c of pending) c.apply(config);
    return config;
  };

  /** Records a change unless it leaves the candidate as it was. */
  const change = (admin: string, description: string, apply: (config: XNode) => void): void => {
    const before = candidate();
    const after = clone(before);
    apply(after);
    if (serialize(after) !== serialize(before)) pending.push({ admin, description, apply });
  };

  const issueKey = (user: string): string => {
    const key = `LUFRPT${randomBytes(30).toString('base64')}`;
    currentKeys.set(user, key);
    secrets.push(key);
    return key;
  };
  const adminOfKey = (key: string | undefined): string | undefined => {
    if (!key) return undefined;
    for (const [admin, k] of currentKeys) if (k === key) return admin;
    return undefined;
  };

  // ---- TLS service listeners ----------------------------------------------------------------

  /** Issuers of a certificate found among the running config's certificates (as a device builds the chain). */
  const chainFor = (certPem: string, config: XNode): string[] => {
    const pool = (find(config, SHARED_CERTS)?.children ?? []).map((c) => textOf(c, 'public-key')).filter(Boolean).map((p) => new X509Certificate(`${p}\n`));
    const chain: string[] = [];
    let current = new X509Certificate(certPem);
    for (let depth = 0; depth < 5 && current.issuer !== current.subject; depth++) {
      const issuer = pool.find((c) => c.subject === current.issuer && c.fingerprint256 !== current.fingerprint256);
      if (!issuer) break;
      chain.push(issuer.toString());
      current = issuer;
    }
    return chain;
  };

  const pairFor = (profile: FakePanosProfile, config: XNode): { certPem: string; keyPem: string; chain: string[] } | undefined => {
    const certName = textOf(find(config, profileSteps(profile)), 'certificate');
    const object = certName ? find(config, certSteps(certName)) : undefined;
    const certPem = `${textOf(object, 'public-key')}\n`;
    const keyPem = keyStore.get(textOf(object, 'private-key'));
    if (!object || !keyPem) return undefined;
    if (!keyMatchesCert(keyPem, certPem)) {
      mismatch = true;
      return undefined;
    }
    if (leafOnly) return { certPem, keyPem, chain: [] };
    const imported = importedChains.get(fingerprintOf(certPem)) ?? [];
    return { certPem, keyPem, chain: imported.length > 0 ? imported : chainFor(certPem, config) };
  };

  const listeners: Listener[] = [];
  const refreshListeners = (): void => {
    if (stale) return;
    for (const l of listeners) {
      const pair = pairFor(l.profile, running);
      if (!pair) continue; // keeps the last valid pair, as a device that cannot load the new one
      const fp = `${fingerprintOf(pair.certPem)}+${pair.chain.length}`;
      if (fp === l.served) continue;
      l.server.setSecureContext({ cert: pair.certPem + pair.chain.join(''), key: pair.keyPem });
      l.served = fp;
    }
  };

  const listen = (server: tls.Server | https.Server): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host: '127.0.0.1' }, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });

  for (const profile of profiles) {
    const pair = pairFor(profile, running) ?? { certPem: defaultPair.certPem, keyPem: defaultPair.keyPem, chain: [] };
    const sockets = new Set<Socket>();
    const server = tls.createServer({ cert: pair.certPem + pair.chain.join(''), key: pair.keyPem }, (socket) => {
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('tlsClientError', () => undefined);
    listeners.push({ profile, server, port: await listen(server), sockets, served: `${fingerprintOf(pair.certPem)}+${pair.chain.length}` });
  }

  // ---- commit jobs ----------------------------------------------------------------------------

  const validate = (config: XNode): string[] => {
    const names = new Set(certificateNamesOf(config));
    const problems = profilesOf(config)
      .map((p) => ({ p, cert: textOf(p.node, 'certificate') }))
      .filter(({ cert }) => cert !== '' && !names.has(cert))
      .map(({ p, cert }) => `${p.label.replace(/^shared -> /, '')} -> certificate '${cert}' is not a valid reference`);
    return problems.length ? ['Validation Error:', ...problems, 'ssl-tls-service-profile is invalid'] : [];
  };

  const finish = (job: Job): void => {
    const result = clone(running);
    for (const c of job.changes) c.apply(result);
    const lines = job.failLines ?? validate(result);
    job.status = 'FIN';
    job.progress = 100;
    job.tfin = new Date();
    if (lines.length > 0) {
      job.result = 'FAIL';
      job.details = [...lines, 'Commit failed'];
      pending.unshift(...job.changes); // a failed commit leaves the candidate as it was
    } else {
      job.result = 'OK';
      job.details = ['Configuration committed successfully'];
      running = result;
      refreshListeners();
    }
  };

  /** One poll's worth of work on the active job; the next queued job starts when it ends. */
  const advance = (): void => {
    let active = jobs.find((j) => j.status === 'ACT');
    if (!active) {
      active = jobs.find((j) => j.status === 'PEND');
      if (!active) return;
      active.status = 'ACT';
      active.tdeq = new Date();
    }
    active.progress = Math.min(100, active.progress + Math.ceil(100 / commitPolls));
    if (active.progress >= 100) {
      finish(active);
      const next = jobs.find((j) => j.status === 'PEND');
      if (next) {
        next.status = 'ACT';
        next.tdeq = new Date();
      }
    }
  };

  const jobXml = (job: Job): string =>
    `<job><tenq>${panosDate(job.tenq)}</tenq><tdeq>${job.tdeq ? panosDate(job.tdeq).slice(11) : ''}</tdeq><id>${job.id}</id><user>${escapeXml(job.user)}</user>` +
    `<type>Commit</type><status>${job.status}</status><queued>${job.status === 'PEND' ? 'YES' : 'NO'}</queued><stoppable>no</stoppable>` +
    `<result>${job.result}</result><tfin>${job.tfin ? panosDate(job.tfin).slice(11) : ''}</tfin><description></description>` +
    `<positionInQ>${job.status === 'PEND' ? jobs.filter((j) => j.status === 'PEND').indexOf(job) + 1 : 0}</positionInQ><progress>${job.progress}</progress>` +
    `<details>${job.details.map((l) => `<line>${escapeXml(l)}</line>`).join('')}</details><warnings></warnings></job>`;

  // ---- request types --------------------------------------------------------------------------

  const nameError = (category: string, name: string): Reply => ({
    status: 200,
    xml: `<response status="error" code="17"><msg><line><![CDATA[ upload -> ${category} -> certificate-name '${name}' is invalid]]></line></msg></response>`,
  });

  const importFile = async (admin: string, method: string, params: Record<string, string>, file: { name: string; content: Buffer } | undefined): Promise<Reply> => {
    const category = params['category'] ?? '';
    if (!['certificate', 'private-key', 'keypair'].includes(category)) return failure('17', [`import -> ${category || '(none)'} is not a valid import category`]);
    if (method !== 'POST' || !file) return failure('17', ['Missing file: imports need a POST with a file field']);
    const name = params['certificate-name'] ?? '';
    if (name === '' || /^[*_]/.test(name) || name.length > maxNameLength || /['"<>&\\]/.test(name)) return nameError(category, name);
    const format = params['format'] ?? 'pem';
    if (format !== 'pem' && format !== 'pkcs12') return failure('17', [`format '${format}' is not valid`]);
    const passphrase = params['passphrase'];
    const text = file.content.toString('utf8');

    let certPem: string | undefined;
    let chainPems: string[] = [];
    let keyPem: string | undefined;
    try {
      if (format === 'pkcs12') {
        if (passphrase === undefined) return failure(undefined, [`Import of ${name} failed: a passphrase is required for PKCS12 files`]);
        const p12 = readPkcs12(file.content, passphrase);
        certPem = category === 'private-key' ? undefined : p12.leafPem;
        chainPems = p12.otherPems;
        keyPem = category === 'certificate' ? undefined : p12.keyPem;
      } else {
        [certPem, ...chainPems] = category === 'private-key' ? [] : pemCertificates(text);
        keyPem = category === 'certificate' ? undefined : pemPrivateKey(text);
      }
    } catch {
      return failure(undefined, [`Import of ${name} failed: the file could not be read with the given passphrase`]);
    }
    if (category !== 'private-key' && !certPem) return failure(undefined, [`Import of ${name} failed: no certificate found in the file`]);
    if (category !== 'certificate') {
      if (!keyPem) return failure(undefined, [`Import of ${name} failed: no private key found in the file`]);
      if (passphrase === undefined || passphrase === '') return failure(undefined, [`Import of ${name} failed: passphrase is required for the private key`]);
      try {
        keyPem = decryptKey(keyPem, passphrase);
      } catch {
        return failure(undefined, [`Import of ${name} failed: wrong passphrase or unsupported private key`]);
      }
      if (category === 'private-key' && !find(candidate(), certSteps(name))) {
        return failure(undefined, [`Import of ${name} failed: certificate ${name} does not exist; import the certificate first`]);
      }
    }
    const token = keyPem ? newKeyToken(keyPem) : undefined;
    if (certPem) importedChains.set(fingerprintOf(certPem), chainPems);
    change(admin, `import ${category} ${name}`, (config) => upsertCertificate(config, name, certPem, token));
    return success(`<result>Successfully imported ${escapeXml(name)} into candidate configuration</result>`);
  };

  const config = async (admin: string, params: Record<string, string>): Promise<Reply> => {
    const action = params['action'] ?? '';
    const steps = parseXpath(params['xpath'] ?? '');
    if (!steps || steps[0]?.name !== 'config') return failure('6', ['Bad Xpath']);
    switch (action) {
      case 'get':
      case 'show': {
        const found = find(action === 'get' ? candidate() : running, steps);
        if (!found) return action === 'get' ? success('<result/>', '7') : failure('7', ['No such node']);
        return success(`<result total-count="1" count="1">${serialize(found)}</result>`, '19');
      }
      case 'set': {
        if (!editable(steps, 'set')) return failure('12', [`${pathText(steps)} is not modelled by the fake (set)`]);
        let fragment: XNode[];
        try {
          fragment = await parseFragment(params['element'] ?? '');
        } catch {
          return failure('18', ['Malformed Request']);
        }
        if (fragment.length === 0) return failure('18', ['Missing element']);
        change(admin, `set ${pathText(steps)}`, (c) => merge(ensure(c, steps), fragment));
        return success('<msg>command succeeded</msg>', '20');
      }
      case 'delete': {
        if (!editable(steps, 'delete')) return failure('12', [`${pathText(steps)} is not modelled by the fake (delete)`]);
        const current = candidate();
        const last = steps[steps.length - 1];
        if (steps.length === 5 && steps[2]?.name === 'certificate' && last?.entryName !== undefined) {
          const refs = profilesOf(current).filter((p) => textOf(p.node, 'certificate') === last.entryName);
          if (refs.length > 0) return failure('12', [`${last.entryName} cannot be deleted because of references from:`, ...refs.map((r) => `${r.label} -> certificate`)]);
        }
        change(admin, `delete ${pathText(steps)}`, (c) => {
          remove(c, steps);
        });
        return success('<msg>command succeeded</msg>', '20');
      }
      default:
        return failure('17', [`action '${action}' is not supported by the fake`]);
    }
  };

  const commit = async (admin: string, params: Record<string, string>): Promise<Reply> => {
    let cmd: XNode;
    try {
      cmd = await parseXml(params['cmd'] ?? '<commit></commit>');
    } catch {
      return failure('18', ['Malformed Request']);
    }
    if (cmd.name !== 'commit') return failure('17', [`${cmd.name} is unexpected`]);
    const partial = child(cmd, 'partial') ?? child(child(cmd, 'force'), 'partial');
    const adminScope = partial ? (child(partial, 'admin')?.children ?? []).filter((m) => m.name === 'member').map((m) => m.text.trim()) : undefined;
    const scoped = pending.filter((c) => !adminScope || adminScope.length === 0 || adminScope.includes(c.admin));
    if (scoped.length === 0) return success('<msg>There are no changes to commit.</msg>', '19');
    for (const c of scoped) pending.splice(pending.indexOf(c), 1);
    const busy = jobs.some((j) => j.status !== 'FIN');
    const job: Job = { id: nextJobId++, user: admin, status: busy ? 'PEND' : 'ACT', result: 'PEND', progress: 0, details: [], changes: scoped, tenq: new Date(), ...(busy ? {} : { tdeq: new Date() }) };
    if (failNextCommitLines) {
      job.failLines = failNextCommitLines;
      failNextCommitLines = undefined;
    }
    jobs.push(job);
    return success(`<result><msg><line>Commit job enqueued with jobid ${job.id}</line></msg><job>${job.id}</job></result>`, '19');
  };

  const op = async (params: Record<string, string>): Promise<Reply> => {
    let cmd: XNode;
    try {
      cmd = await parseXml(params['cmd'] ?? '');
    } catch {
      return failure('18', ['Malformed Request']);
    }
    const idText = cmd.name === 'show' ? child(child(cmd, 'jobs'), 'id')?.text.trim() : undefined;
    if (idText === undefined) return failure('17', [`${cmd.name} is unexpected (the fake knows only <show><jobs><id>N</id></jobs></show>)`]);
    advance();
    const job = jobs.find((j) => String(j.id) === idText);
    if (!job) return failure(undefined, [`job ${idText} not found`]);
    return success(`<result>${jobXml(job)}</result>`);
  };

  const version = (): Reply =>
    success(
      `<result><sw-version>${escapeXml(opts.swVersion ?? '10.2.9')}</sw-version><multi-vsys>${profiles.some((p) => p.vsys && p.vsys !== 'vsys1') ? 'on' : 'off'}</multi-vsys>` +
        `<model>${opts.panorama ? 'Panorama' : 'PA-VM'}</model><serial>${opts.panorama ? '000702100001' : '007051000123456'}</serial></result>`,
    );

  // ---- HTTP -----------------------------------------------------------------------------------

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://fake-panos.invalid');
    const body = await readBody(req);
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) params[k] = v;
    let file: { name: string; content: Buffer } | undefined;
    const contentType = req.headers['content-type'] ?? '';
    let transport: FakePanosCall['transport'] = 'query';
    if (method === 'POST' && /^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(contentType)) {
      transport = contentType.toLowerCase().startsWith('multipart') ? 'multipart' : 'form';
      const form = await new Request('https://fake-panos.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body) }).formData();
      for (const [k, v] of form) {
        if (typeof v === 'string') params[k] = v;
        else file = { name: v.name, content: Buffer.from(await v.arrayBuffer()) };
      }
    }
    const headerKey = req.headers['x-pan-key'];
    const key = params['key'] ?? (typeof headerKey === 'string' ? headerKey : undefined);
    const type = params['type'] ?? '';
    const what = [`type=${type}`, ...(['action', 'category'] as const).flatMap((k) => (params[k] ? [`${k}=${params[k]}`] : []))].join('&');
    const masked: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) masked[k] = ['key', 'password', 'passphrase'].includes(k) ? '********' : v;
    if (file) masked['file'] = `<${file.name}, ${file.content.length} bytes>`;
    const admin = type === 'keygen' ? undefined : adminOfKey(key);
    if (type === 'import' || type === 'commit' || (type === 'config' && MUTATING_CONFIG_ACTIONS.has(params['action'] ?? ''))) mutating++;

    let reply: Reply;
    const rule = failRules.find((r) => r.remaining > 0 && (r.match.test(what) || r.match.test(url.pathname)));
    if (url.pathname !== '/api/' && url.pathname !== '/api') {
      reply = { status: 404, xml: '<html><body>Not Found</body></html>' };
    } else if (rule) {
      rule.remaining--;
      reply = { status: rule.status, xml: rule.xml };
    } else if (type === 'keygen') {
      const user = params['user'] ?? '';
      reply = admins.has(user) && admins.get(user) === params['password'] ? success(`<result><key>${issueKey(user)}</key></result>`) : INVALID_CREDENTIAL;
    } else if (!admin) {
      reply = INVALID_CREDENTIAL;
    } else if (type === 'version') {
      reply = version();
    } else if (type === 'import') {
      reply = await importFile(admin, method, params, file);
    } else if (type === 'config') {
      reply = await config(admin, params);
    } else if (type === 'commit') {
      reply = await commit(admin, params);
    } else if (type === 'op') {
      reply = await op(params);
    } else {
      reply = failure('17', [`Illegal value for parameter "type" [${type}]`]);
    }

    const statusAttr = /status\s*=\s*["']([^"']*)["']/.exec(reply.xml)?.[1] ?? '';
    const codeAttr = /^<response[^>]*\scode\s*=\s*["']([^"']*)["']/.exec(reply.xml)?.[1];
    calls.push({
      method,
      path: url.pathname,
      what,
      type,
      ...(params['action'] ? { action: params['action'] } : {}),
      ...(params['category'] ? { category: params['category'] } : {}),
      ...(params['certificate-name'] ? { certificateName: params['certificate-name'] } : {}),
      ...(params['xpath'] ? { xpath: params['xpath'] } : {}),
      ...(params['element'] ? { element: params['element'] } : {}),
      ...(params['cmd'] ? { cmd: params['cmd'] } : {}),
      transport,
      ...(key ? { keyVia: params['key'] ? ('param' as const) : ('header' as const) } : {}),
      params: masked,
      ...(admin ? { admin } : {}),
      httpStatus: reply.status,
      replyStatus: statusAttr,
      ...(codeAttr ? { code: codeAttr } : {}),
    });
    const hold = holds.findIndex((h) => h.match.test(what));
    if (hold >= 0) {
      const [held] = holds.splice(hold, 1);
      held?.reached();
      await held?.released;
    }
    res.writeHead(reply.status, { 'content-type': 'application/xml; charset=UTF-8', 'content-length': Buffer.byteLength(reply.xml) });
    res.end(reply.xml);
  }

  // Real devices resume TLS sessions; so does the fake unless told otherwise.
  const resumption = opts.sessionResumption === false ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {};
  const api = https.createServer({ cert: management.certPem, key: management.keyPem, ...resumption }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const xml = `<response status="error" code="21"><msg><line>${escapeXml(`fake-panos internal error: ${String(error)}`)}</line></msg></response>`;
      res.writeHead(500, { 'content-type': 'application/xml' }).end(xml);
    });
  });
  const port = await listen(api);

  const profileOf = (name: string): FakePanosProfile => {
    const p = profiles.find((x) => x.name === name);
    if (!p) throw new Error(`fake-panos: no profile ${name}`);
    return p;
  };
  const endpointOf = (l: Listener): VerifyEndpoint => ({ host: '127.0.0.1', port: l.port });

  return {
    host: '127.0.0.1',
    port,
    url: `https://127.0.0.1:${port}`,
    managementCertPem: management.certPem,
    managementFingerprint: management.fingerprintSha256,
    defaultCertificateFingerprint: defaultPair.fingerprintSha256,
    defaultCertificateName: defaultName,
    username,
    password,
    endpoints: listeners.map(endpointOf),
    endpoint(profile) {
      const l = listeners.find((x) => x.profile.name === profile);
      if (!l) throw new Error(`fake-panos: no listener for profile ${profile}`);
      return endpointOf(l);
    },
    calls,
    view: () => ({
      certificateObjects: () => certificateNamesOf(candidate()),
      mutatingCalls: () => mutating,
      secrets,
      serveLeafOnly: (on) => {
        leafOnly = on;
        refreshListeners();
      },
    }),
    mutatingCalls: () => mutating,
    certificateNames: (which = 'candidate') => certificateNamesOf(which === 'candidate' ? candidate() : running),
    profileCertificate(profile, which = 'candidate') {
      const found = find(which === 'candidate' ? candidate() : running, profileSteps(profileOf(profile)));
      return found ? textOf(found, 'certificate') || undefined : undefined;
    },
    hasPrivateKey: (name) => keyStore.has(textOf(find(candidate(), certSteps(name)), 'private-key')),
    pendingChanges: (admin) => pending.filter((c) => admin === undefined || c.admin === admin).map((c) => `${c.admin}: ${c.description}`),
    jobs: () => jobs.map((j) => ({ id: j.id, user: j.user, status: j.status, result: j.result, progress: j.progress, details: [...j.details], changes: j.changes.map((c) => c.description) })),
    mismatchCommitted: () => mismatch,
    issueKey: (user = username) => issueKey(user),
    async editAs(admin, xpath, element) {
      const steps = parseXpath(xpath);
      if (!steps) throw new Error(`fake-panos: bad xpath ${xpath}`);
      const fragment = await parseFragment(element);
      change(admin, `set ${pathText(steps)}`, (c) => merge(ensure(c, steps), fragment));
    },
    failNextCommit(lines) {
      failNextCommitLines = [...lines];
    },
    failNext(match, reply) {
      failRules.push({ match: new RegExp(match.source, match.flags.replace(/[gy]/g, '')), status: reply.status ?? 200, xml: reply.xml, remaining: reply.times ?? 1 });
    },
    serveStale(on) {
      stale = on;
      refreshListeners();
    },
    holdReplyOfNext(match) {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.push({ match: new RegExp(match.source, match.flags.replace(/[gy]/g, '')), reached, released });
      return { reached: reachedPromise, release };
    },
    async close() {
      const closing = [api, ...listeners.map((l) => l.server)].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      api.closeAllConnections();
      for (const l of listeners) for (const s of l.sockets) s.destroy();
      await Promise.all(closing);
    },
  };
}

