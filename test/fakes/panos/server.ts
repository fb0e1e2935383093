/**
 * A fake PAN-OS firewall or Panorama XML API. Sources: [panos-doc] docs.paloaltonetworks.com PAN-OS
 * XML API pages ("Get Your API Key", "Import Files", "Commit", "Asynchronous and Synchronous
 * Requests"); [acme.sh] acmesh-official/acme.sh deploy/panos.sh (@64fd9c8 and master @d60c75b4) and
 * issues #4309, #4716, PR #2799; [panos-le] psiri/letsencrypt_paloalto (@39b3a14), dmgeurts/getcert_paloalto
 * (@b709f93); [puppet-panos] puppetlabs/puppetlabs-panos spec fixtures (recorded replies);
 * [pan-os-python] PaloAltoNetworks/pan-os-python @92ed648 (`PanoramaCommitAll`, `_parse_job_results`,
 * `check_commit_locks`); [chainguard] pan-chainguard `guard.py` (Panorama and template xpaths).
 * Every behaviour names its source or says ASSUMPTION; docs/vendors/panos.md lists the assumptions.
 *
 * - HTTPS on 127.0.0.1 (free port); `/api/` takes GET query parameters or a POST body
 *   (application/x-www-form-urlencoded or multipart/form-data) ([panos-doc] "Structure of a request";
 *   that every parameter but an import's `type` may be in the body: ASSUMPTION P1).
 * - `type=keygen` (user + password): `<result><key>…</key></result>` ([panos-doc]); bad credentials:
 *   HTTP 403 with the odd spaced, single-quoted body `<response status = 'error' code = '403'>…Invalid
 *   Credential` (recorded in public PAN-OS client test suites). A new key for a user invalidates that
 *   user's previous key ([panos-doc] 10.0 "Get Your API Key"). Every other call needs `key=` or
 *   `X-PAN-KEY` ([panos-doc]); a missing or invalidated key gets the same 403 (ASSUMPTION).
 * - `type=version`: sw-version, multi-vsys, model ("Panorama" on a Panorama: [chainguard]), serial.
 * - `type=import` ([acme.sh] deployer cert|key, [panos-le], [panos-doc] "Import Files"): `type` must
 *   be in the query string (acme.sh PR #2799: PAN-OS before 9.0; pan-python `import_file` and
 *   pan-os-ansible `panos_import` always send it there; the reply text is ASSUMPTION P8). A certificate
 *   file's first certificate is the object, the others are the chain the services send after it
 *   ([acme.sh] uploads the full chain; Palo Alto KB "How to Install a Chained Certificate Signed by a
 *   Public CA"; that exactly the file's chain is served: ASSUMPTION P9). The private key needs a
 *   `passphrase` ([acme.sh] sends `123456` with an unencrypted key); an encrypted PKCS#8 key is refused
 *   (ASSUMPTION P2: no source shows it accepted; pan-os-ansible #399, #555, pango #95 report lost keys).
 *   Name rules: leading `*` or `_`, more than 63 characters, or 31 on Panorama → code 17 with the CDATA
 *   line of acme.sh #4309 (PR #6630). `target-tpl` puts the file into the template's shared certificates
 *   ([acme.sh] master, [chainguard]); without it, a Panorama keeps it in `/config/panorama/certificate`
 *   ([chainguard]) and has no `/config/shared/certificate`. Imports change only the CANDIDATE configuration
 *   ([panos-le] "Successfully imported … into candidate configuration").
 * - `type=config`: `get` (candidate), `show` (running) (PowerPAN Invoke-PanXApi help), `set` (merge),
 *   `delete` on the profile xpaths of every place, the management node `deviceconfig/system` and
 *   certificate entries; set/delete reply code 20 "command succeeded" ([panos-le] README log); get
 *   replies code 19 or code 7 with an empty result ([chainguard] accepts 7 or 19 from `get`).
 * - `type=commit`: full or partial by admin ([panos-doc] "Commit"); only the named admins' changes are
 *   committed (acme.sh PR #6915 rationale). Reply: job id (code 19) or "There are no changes to commit."
 *   without a job ([puppet-panos]). On Panorama, `action=all` with `<commit-all><template>` or
 *   `<template-stack>` `<name>` ([pan-os-python] `PanoramaCommitAll`; [acme.sh] push) queues a
 *   CommitAll job that pushes Panorama's RUNNING template configuration to the firewalls; its job XML
 *   has `devices/entry` with `serial-no`, `devicename`, `result`, `tstart`, `tfin`,
 *   `details/msg/errors/line` ([pan-os-python] `_parse_job_results`); the enqueue reply wording and that
 *   a failed firewall makes the job result FAIL are ASSUMPTION P10.
 * - `type=op`: `<show><jobs><id>N</id></jobs></show>` and `<show><jobs><all/></jobs></show>`
 *   ([puppet-panos], pan-python `xapi.py`): each poll advances the active job ACT (progress 0…100,
 *   result PEND) → FIN with OK or FAIL and `details/line`s. Queued jobs show PEND (ASSUMPTION). Only a
 *   FIN/OK commit changes the RUNNING configuration. `<show><config-locks/>` and `<show><commit-locks/>`
 *   ([pan-os-python] `check_*_locks` read `.//entry`): `entry name=ADMIN` with `created`,
 *   `last-activity`, `loggedin`, `comment` (read by a public PAN-OS Flask wrapper seen through the code
 *   index, repository not identified: ASSUMPTION P11, as the wrapper element names). A commit while
 *   another admin holds a commit lock is refused with "Other administrators are holding commit locks."
 *   (the line a public HA-sync script matches, repository not identified: ASSUMPTION P11); a config
 *   change while another admin holds a config lock is refused (wording: ASSUMPTION P11).
 * - Commit validation rejects a profile whose certificate does not exist ("is not a valid reference",
 *   wording: ASSUMPTION). It does NOT check that a certificate's key matches it (acme.sh issue #4716).
 * - One TLS listener per configured profile: a firewall or Panorama profile presents what the RUNNING
 *   configuration binds; a template profile presents what was last PUSHED to the template's first
 *   firewall. The management API presents the certificate of the profile named at
 *   `deviceconfig/system/ssl-tls-service-profile` once committed, else its own self-signed certificate
 *   (vendor-apis §2.3; what Panorama names there: ASSUMPTION P7). A committed mismatched pair keeps the
 *   listener on the last valid pair and `mismatchCommitted()` turns true (acme.sh #4716; ASSUMPTION).
 *
 * Further ASSUMPTIONS: texts and codes of errors other than keygen's 403 and the code 17 name error,
 * code 7 "No such node" of `show`, the "cannot be deleted because of references from:" refusal of
 * `delete` (code 12 here), that deleting a missing node succeeds, job XML fields besides those named.
 * Not modelled: device groups, HA, template variables, target-tpl-vsys.
 */
import { constants as cryptoConstants, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { Request } from 'undici';
import type { VerifyEndpoint } from '../../../activities/deployers/types';
import { countHandshakes } from '../../support/tls-handshakes';
import {
  decryptKey,
  fingerprintOf,
  keyMatchesCert,
  pemCertificates,
  pemPrivateKey,
  readPkcs12,
  selfSigned,
} from './crypto';
import {
  boundObject,
  certificateNamesAt,
  certSteps,
  DEVICE_STEPS,
  editable,
  firewallProfileSteps,
  pathText,
  placeOf,
  placesOf,
  profilesOf,
  profileSteps,
  stackSteps,
  SYSTEM_STEPS,
  templateSteps,
  type FakePanosProfile,
  type Place,
} from './paths';
import { failure, INVALID_CREDENTIAL, MUTATING_CONFIG_ACTIONS, panosDate, success, upsertCertificate } from './objects';
import type { Change, FakePanoramaDevice, FakePanos, FakePanosCall, FakePanosOptions, Job, Lock, Reply } from './types';
import {
  child,
  clone,
  ensure,
  escapeXml,
  find,
  leaf,
  merge,
  node,
  parseFragment,
  parseXml,
  parseXpath,
  remove,
  serialize,
  textOf,
  type XNode,
} from './xml';
import { closeServers, listenOnLoopback, statelessPattern, tlsServicePort } from '../../support/fake-server-io';

export type { FakePanosProfile } from './paths';
export type { FakePanoramaDevice, FakePanos, FakePanosCall, FakePanosJob, FakePanosOptions } from './types';

interface Listener {
  profile: FakePanosProfile;
  server: tls.Server;
  port: number;
  sockets: Set<Socket>;
  served: string;
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
  const panorama = opts.panorama === true;
  const templates = opts.templates ?? [];
  const stacks = opts.templateStacks ?? [];
  if (!panorama && (templates.length > 0 || stacks.length > 0 || profiles.some((p) => p.template)))
    throw new Error('fake-panos: templates need panorama: true');
  const maxNameLength = panorama ? 31 : 63;
  const commitPolls = Math.max(1, opts.commitPolls ?? 3);
  const management = selfSigned('panos-fake.local');
  const defaultPair = selfSigned('PAN-OS default SSL certificate');
  const defaultName = 'default-ssl-cert';
  const placeOfProfile = (p: FakePanosProfile): Place => placeOf(panorama, p);

  const keyStore = new Map<string, string>(); // private-key token in the config → decrypted key PEM
  const newKeyToken = (keyPem: string): string => {
    const token = `-AQ==${randomBytes(24).toString('base64')}`;
    keyStore.set(token, keyPem);
    return token;
  };

  // ---- configuration --------------------------------------------------------------------------

  let running = node('config', { version: opts.swVersion ?? '10.2.9' }, [
    panorama ? node('panorama') : node('shared'),
    node('devices'),
  ]);
  for (const t of templates) ensure(running, [...templateSteps(t.name), { name: 'config' }, { name: 'shared' }]);
  for (const s of stacks)
    merge(ensure(running, stackSteps(s.name)), [
      node(
        'templates',
        {},
        s.templates.map((t) => leaf('member', t)),
      ),
    ]);
  const defaultToken = newKeyToken(defaultPair.keyPem);
  for (const p of profiles) {
    const place = placeOfProfile(p);
    if (place.kind === 'template' && !templates.some((t) => t.name === place.template))
      throw new Error(`fake-panos: no template ${place.template}`);
    upsertCertificate(running, place, defaultName, defaultPair.certPem, defaultToken);
    merge(ensure(running, profileSteps(place, p)), [
      leaf('certificate', defaultName),
      node('protocol-settings', {}, [leaf('min-version', 'tls1-2')]),
    ]);
  }
  if (opts.managementProfile)
    merge(ensure(running, SYSTEM_STEPS), [leaf('ssl-tls-service-profile', opts.managementProfile)]);

  // Panorama pushes: every firewall's configuration as last pushed (a template's `config` is the firewall's root).
  const firewalls = new Map<string, { device: FakePanoramaDevice; config?: XNode }>();
  for (const d of [...templates.flatMap((t) => t.devices ?? []), ...stacks.flatMap((s) => s.devices ?? [])])
    firewalls.set(d.serial, { device: d });
  const templatesOfDevice = (serial: string): string[] => [
    ...stacks.filter((s) => (s.devices ?? []).some((d) => d.serial === serial)).flatMap((s) => s.templates),
    ...templates.filter((t) => (t.devices ?? []).some((d) => d.serial === serial)).map((t) => t.name),
  ];
  /** The firewall configuration a push of these templates builds from Panorama's running config (earlier templates win). */
  const pushedConfig = (names: string[], previous: XNode | undefined): XNode => {
    const result = previous ? clone(previous) : node('config');
    for (const name of [...names].reverse()) {
      const source = find(running, [...templateSteps(name), { name: 'config' }]);
      if (source) merge(result, clone(source).children);
    }
    return result;
  };
  for (const [serial, fw] of firewalls) fw.config = pushedConfig(templatesOfDevice(serial), undefined);
  /** The firewall whose services a template profile's listener stands for. */
  const firewallOf = (template: string): string | undefined =>
    [...firewalls.keys()].find((serial) => templatesOfDevice(serial).includes(template));

  const pending: Change[] = [];
  const jobs: Job[] = [];
  const locks: Lock[] = [];
  let nextJobId = 41;
  let failNextCommitLines: string[] | undefined;
  const failNextPushLines = new Map<string, string[]>();
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
  /** Leaf fingerprint → the certificates after it in the file it was imported from (its chain, in file order). */
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
  const lockedByOther = (kind: 'config' | 'commit', admin: string): Lock | undefined =>
    locks.find((l) => l.kind === kind && l.admin !== admin);

  // ---- TLS service listeners and the management API certificate -------------------------------

  type Pair = { certPem: string; keyPem: string; chain: string[] };
  const pairOf = (object: XNode | undefined): Pair | undefined => {
    const certPem = `${textOf(object, 'public-key')}\n`;
    const keyPem = keyStore.get(textOf(object, 'private-key'));
    if (!object || !keyPem) return undefined;
    if (!keyMatchesCert(keyPem, certPem)) {
      mismatch = true;
      return undefined;
    }
    return { certPem, keyPem, chain: leafOnly ? [] : (importedChains.get(fingerprintOf(certPem)) ?? []) };
  };

  /** What a profile's service presents: Panorama's or the firewall's running config, or a template's as pushed. */
  const pairFor = (profile: FakePanosProfile): Pair | undefined => {
    const place = placeOfProfile(profile);
    if (place.kind !== 'template') return pairOf(boundObject(running, place, profile).object);
    const serial = firewallOf(place.template);
    const config = serial ? firewalls.get(serial)?.config : undefined;
    if (!config) return undefined;
    return pairOf(boundObject(config, { kind: 'firewall' }, profile).object);
  };

  /** The management interface: the profile named at deviceconfig/system (running), looked up in Panorama's or the firewall's own profiles. */
  const managementPair = (): Pair | undefined => {
    const profile = textOf(find(running, SYSTEM_STEPS), 'ssl-tls-service-profile');
    if (!profile) return undefined;
    const place: Place = panorama ? { kind: 'panorama' } : { kind: 'firewall' };
    const vsysNames = (find(running, [...DEVICE_STEPS, { name: 'vsys' }])?.children ?? []).map(
      (v) => v.attrs['name'] ?? '',
    );
    for (const vsys of [undefined, ...vsysNames]) {
      const spec = { name: profile, ...(vsys ? { vsys } : {}) };
      if (find(running, profileSteps(place, spec))) return pairOf(boundObject(running, place, spec).object);
    }
    return undefined;
  };

  const listeners: Listener[] = [];
  const apiRef: { server?: https.Server } = {};
  let apiServed = management.fingerprintSha256;
  const refreshListeners = (): void => {
    if (stale) return;
    for (const l of listeners) {
      const pair = pairFor(l.profile);
      if (!pair) continue; // keeps the last valid pair, as a device that cannot load the new one
      const fp = `${fingerprintOf(pair.certPem)}+${pair.chain.length}`;
      if (fp === l.served) continue;
      l.server.setSecureContext({ cert: pair.certPem + pair.chain.join(''), key: pair.keyPem });
      l.served = fp;
    }
    const mgmt = managementPair() ?? { certPem: management.certPem, keyPem: management.keyPem, chain: [] };
    const fp = `${fingerprintOf(mgmt.certPem)}+${mgmt.chain.length}`;
    if (apiRef.server && fp !== apiServed) {
      apiRef.server.setSecureContext({ cert: mgmt.certPem + mgmt.chain.join(''), key: mgmt.keyPem });
      apiServed = fp;
    }
  };

  for (const profile of profiles) {
    const pair = pairFor(profile) ?? { certPem: defaultPair.certPem, keyPem: defaultPair.keyPem, chain: [] };
    const { server, sockets } = tlsServicePort({ cert: pair.certPem + pair.chain.join(''), key: pair.keyPem });
    listeners.push({
      profile,
      server,
      port: await listenOnLoopback(server),
      sockets,
      served: `${fingerprintOf(pair.certPem)}+${pair.chain.length}`,
    });
  }

  // ---- jobs -----------------------------------------------------------------------------------

  const validate = (config: XNode): string[] => {
    const problems = placesOf(config, panorama).flatMap((place) => {
      const names = new Set(certificateNamesAt(config, place));
      return profilesOf(config, place)
        .map((p) => ({ p, cert: textOf(p.node, 'certificate') }))
        .filter(({ cert }) => cert !== '' && !names.has(cert))
        .map(
          ({ p, cert }) => `${p.label.replace(/^shared -> /, '')} -> certificate '${cert}' is not a valid reference`,
        );
    });
    return problems.length ? ['Validation Error:', ...problems, 'ssl-tls-service-profile is invalid'] : [];
  };

  const finishCommit = (job: Job): void => {
    const result = clone(running);
    for (const c of job.changes) c.apply(result);
    const lines = job.failLines ?? validate(result);
    if (lines.length > 0) {
      job.result = 'FAIL';
      job.details = [...lines, 'Commit failed'];
      pending.unshift(...job.changes); // a failed commit leaves the candidate as it was
    } else {
      job.result = 'OK';
      job.details = ['Configuration committed successfully'];
      running = result;
    }
  };

  const finishPush = (job: Job): void => {
    for (const entry of job.push?.devices ?? []) {
      const fw = firewalls.get(entry.device.serial);
      if (entry.lines.length > 0 || !fw) {
        entry.result = 'FAIL';
        if (!fw) entry.lines = ['device is not connected'];
      } else {
        entry.result = 'OK';
        entry.lines = ['Configuration committed successfully'];
        fw.config = pushedConfig(templatesOfDevice(entry.device.serial), fw.config);
      }
    }
    const failed = (job.push?.devices ?? []).filter((d) => d.result !== 'OK');
    job.result = failed.length > 0 ? 'FAIL' : 'OK';
    job.details = failed.length > 0 ? [`commit-all failed on ${failed.length} device(s)`] : ['commit-all succeeded'];
  };

  const finish = (job: Job): void => {
    job.status = 'FIN';
    job.progress = 100;
    job.tfin = new Date();
    if (job.type === 'Commit') finishCommit(job);
    else finishPush(job);
    refreshListeners();
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

  const enqueue = (job: Omit<Job, 'id' | 'status' | 'result' | 'progress' | 'details' | 'tenq'>): Job => {
    const busy = jobs.some((j) => j.status !== 'FIN');
    const full: Job = {
      ...job,
      id: nextJobId++,
      status: busy ? 'PEND' : 'ACT',
      result: 'PEND',
      progress: 0,
      details: [],
      tenq: new Date(),
      ...(busy ? {} : { tdeq: new Date() }),
    };
    jobs.push(full);
    return full;
  };

  const lines = (items: string[]): string => items.map((l) => `<line>${escapeXml(l)}</line>`).join('');
  const jobXml = (job: Job): string => {
    const devices = job.push
      ? `<devices>${job.push.devices
          .map(
            (d) =>
              `<entry><serial-no>${escapeXml(d.device.serial)}</serial-no><devicename>${escapeXml(d.device.name)}</devicename><result>${d.result}</result>` +
              `<tstart>${panosDate(job.tdeq ?? job.tenq)}</tstart>${job.tfin ? `<tfin>${panosDate(job.tfin)}</tfin>` : ''}` +
              `<details><msg><errors>${d.result === 'FAIL' ? lines(d.lines) : ''}</errors><warnings></warnings></msg></details></entry>`,
          )
          .join('')}</devices>`
      : '';
    return (
      `<job><tenq>${panosDate(job.tenq)}</tenq><tdeq>${job.tdeq ? panosDate(job.tdeq).slice(11) : ''}</tdeq><id>${job.id}</id><user>${escapeXml(job.user)}</user>` +
      `<type>${job.type}</type><status>${job.status}</status><queued>${job.status === 'PEND' ? 'YES' : 'NO'}</queued><stoppable>no</stoppable>` +
      `<result>${job.result}</result><tfin>${job.tfin ? panosDate(job.tfin).slice(11) : ''}</tfin><description>${escapeXml(job.description)}</description>` +
      `<positionInQ>${job.status === 'PEND' ? jobs.filter((j) => j.status === 'PEND').indexOf(job) + 1 : 0}</positionInQ><progress>${job.progress}</progress>` +
      `<details>${lines(job.details)}</details><warnings></warnings>${devices}</job>`
    );
  };

  // ---- request types --------------------------------------------------------------------------

  const nameError = (category: string, name: string): Reply => ({
    status: 200,
    xml: `<response status="error" code="17"><msg><line><![CDATA[ upload -> ${category} -> certificate-name '${name}' is invalid]]></line></msg></response>`,
  });

  const importFile = async (
    admin: string,
    method: string,
    params: Record<string, string>,
    file: { name: string; content: Buffer } | undefined,
  ): Promise<Reply> => {
    const category = params['category'] ?? '';
    if (!['certificate', 'private-key', 'keypair'].includes(category))
      return failure('17', [`import -> ${category || '(none)'} is not a valid import category`]);
    if (method !== 'POST' || !file) return failure('17', ['Missing file: imports need a POST with a file field']);
    const name = params['certificate-name'] ?? '';
    if (name === '' || /^[*_]/.test(name) || name.length > maxNameLength || /['"<>&\\]/.test(name))
      return nameError(category, name);
    const format = params['format'] ?? 'pem';
    if (format !== 'pem' && format !== 'pkcs12') return failure('17', [`format '${format}' is not valid`]);
    const template = params['target-tpl'];
    if (params['target-tpl-vsys'] !== undefined) return failure('17', ['target-tpl-vsys is not modelled by the fake']);
    if (template !== undefined && (!panorama || !templates.some((t) => t.name === template)))
      return failure('17', [`target-tpl '${template}' is not a template on this device`]);
    if (lockedByOther('config', admin))
      return failure(undefined, [`Config is locked by ${lockedByOther('config', admin)?.admin ?? ''}`]);
    const place: Place =
      template !== undefined ? { kind: 'template', template } : panorama ? { kind: 'panorama' } : { kind: 'firewall' };
    const passphrase = params['passphrase'];
    const text = file.content.toString('utf8');

    let certPem: string | undefined;
    let chainPems: string[] = [];
    let keyPem: string | undefined;
    try {
      if (format === 'pkcs12') {
        if (passphrase === undefined)
          return failure(undefined, [`Import of ${name} failed: a passphrase is required for PKCS12 files`]);
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
    if (category !== 'private-key' && !certPem)
      return failure(undefined, [`Import of ${name} failed: no certificate found in the file`]);
    if (category !== 'certificate') {
      if (!keyPem) return failure(undefined, [`Import of ${name} failed: no private key found in the file`]);
      if (passphrase === undefined || passphrase === '')
        return failure(undefined, [`Import of ${name} failed: passphrase is required for the private key`]);
      if (format === 'pem' && /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyPem))
        return failure(undefined, [`Import of ${name} failed: unsupported private key format`]);
      try {
        keyPem = decryptKey(keyPem, passphrase);
      } catch {
        return failure(undefined, [`Import of ${name} failed: wrong passphrase or unsupported private key`]);
      }
      if (category === 'private-key' && !find(candidate(), certSteps(place, name))) {
        return failure(undefined, [
          `Import of ${name} failed: certificate ${name} does not exist; import the certificate first`,
        ]);
      }
    }
    const token = keyPem ? newKeyToken(keyPem) : undefined;
    if (certPem) importedChains.set(fingerprintOf(certPem), chainPems);
    change(admin, `import ${category} ${name}`, (config) => upsertCertificate(config, place, name, certPem, token));
    return success(`<result>Successfully imported ${escapeXml(name)} into candidate configuration</result>`);
  };

  const config = async (admin: string, params: Record<string, string>): Promise<Reply> => {
    const action = params['action'] ?? '';
    const steps = parseXpath(params['xpath'] ?? '');
    if (!steps || steps[0]?.name !== 'config') return failure('6', ['Bad Xpath']);
    if (MUTATING_CONFIG_ACTIONS.has(action) && lockedByOther('config', admin))
      return failure(undefined, [`Config is locked by ${lockedByOther('config', admin)?.admin ?? ''}`]);
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
        if (!editable(steps, 'delete'))
          return failure('12', [`${pathText(steps)} is not modelled by the fake (delete)`]);
        const current = candidate();
        const last = steps[steps.length - 1];
        if (steps.at(-2)?.name === 'certificate' && last?.entryName !== undefined) {
          const place = placesOf(current, panorama).find(
            (p) => pathText(certSteps(p, last.entryName ?? '')) === pathText(steps),
          );
          const refs = place
            ? profilesOf(current, place).filter((p) => textOf(p.node, 'certificate') === last.entryName)
            : [];
          if (refs.length > 0)
            return failure('12', [
              `${last.entryName} cannot be deleted because of references from:`,
              ...refs.map((r) => `${r.label} -> certificate`),
            ]);
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

  const commitAll = (admin: string, cmd: XNode): Reply => {
    if (!panorama) return failure('17', ['commit-all is a Panorama command']);
    const style = cmd.children.find((c) => c.name === 'template' || c.name === 'template-stack');
    const name = textOf(style, 'name');
    if (!style || !name)
      return failure('17', ['commit-all: the fake models <template> and <template-stack> pushes only']);
    const pushed =
      style.name === 'template'
        ? templates.some((t) => t.name === name)
          ? [name]
          : undefined
        : stacks.find((s) => s.name === name)?.templates;
    const devices =
      style.name === 'template'
        ? templates.find((t) => t.name === name)?.devices
        : stacks.find((s) => s.name === name)?.devices;
    if (!pushed) return failure('17', [`${style.name} ${name} does not exist`]);
    if (lockedByOther('commit', admin)) return failure(undefined, ['Other administrators are holding commit locks.']);
    const job = enqueue({
      type: 'CommitAll',
      user: admin,
      description: textOf(style, 'description'),
      changes: [],
      push: {
        templates: pushed,
        devices: (devices ?? []).map((device) => ({
          device,
          result: 'PEND',
          lines: failNextPushLines.get(device.serial) ?? [],
        })),
      },
    });
    for (const d of devices ?? []) failNextPushLines.delete(d.serial);
    return success(
      `<result><msg><line>Job enqueued with jobid ${job.id}</line></msg><job>${job.id}</job></result>`,
      '19',
    );
  };

  const commit = async (admin: string, params: Record<string, string>): Promise<Reply> => {
    let cmd: XNode;
    try {
      cmd = await parseXml(params['cmd'] ?? '<commit></commit>');
    } catch {
      return failure('18', ['Malformed Request']);
    }
    if (params['action'] === 'all' || cmd.name === 'commit-all')
      return cmd.name === 'commit-all' && params['action'] === 'all'
        ? commitAll(admin, cmd)
        : failure('17', ['commit-all needs action=all']);
    if (cmd.name !== 'commit') return failure('17', [`${cmd.name} is unexpected`]);
    if (lockedByOther('commit', admin)) return failure(undefined, ['Other administrators are holding commit locks.']);
    const partial = child(cmd, 'partial') ?? child(child(cmd, 'force'), 'partial');
    const adminScope = partial
      ? (child(partial, 'admin')?.children ?? []).filter((m) => m.name === 'member').map((m) => m.text.trim())
      : undefined;
    const scoped = pending.filter((c) => !adminScope || adminScope.length === 0 || adminScope.includes(c.admin));
    if (scoped.length === 0) return success('<msg>There are no changes to commit.</msg>', '19');
    for (const c of scoped) pending.splice(pending.indexOf(c), 1);
    const job = enqueue({
      type: 'Commit',
      user: admin,
      description: '',
      changes: scoped,
      ...(failNextCommitLines ? { failLines: failNextCommitLines } : {}),
    });
    failNextCommitLines = undefined;
    return success(
      `<result><msg><line>Commit job enqueued with jobid ${job.id}</line></msg><job>${job.id}</job></result>`,
      '19',
    );
  };

  const lockXml = (kind: 'config' | 'commit'): string =>
    `<${kind}-locks>${locks
      .filter((l) => l.kind === kind)
      .map(
        (l) =>
          `<entry name="${escapeXml(l.admin)}"><created>${panosDate(l.created)}</created><last-activity>${panosDate(l.created)}</last-activity><loggedin>yes</loggedin><comment>${escapeXml(l.comment || '(null)')}</comment></entry>`,
      )
      .join('')}</${kind}-locks>`;

  const op = async (params: Record<string, string>): Promise<Reply> => {
    let cmd: XNode;
    try {
      cmd = await parseXml(params['cmd'] ?? '');
    } catch {
      return failure('18', ['Malformed Request']);
    }
    const what = cmd.name === 'show' ? cmd.children[0] : undefined;
    if (what?.name === 'config-locks' || what?.name === 'commit-locks')
      return success(`<result>${lockXml(what.name === 'config-locks' ? 'config' : 'commit')}</result>`);
    if (what?.name === 'jobs' && child(what, 'all')) {
      advance();
      return success(`<result>${jobs.map(jobXml).join('')}</result>`);
    }
    const idText = what?.name === 'jobs' ? child(what, 'id')?.text.trim() : undefined;
    if (idText === undefined)
      return failure('17', [
        `${cmd.name} is unexpected (the fake knows show jobs, show config-locks, show commit-locks)`,
      ]);
    advance();
    const job = jobs.find((j) => String(j.id) === idText);
    if (!job) return failure(undefined, [`job ${idText} not found`]);
    return success(`<result>${jobXml(job)}</result>`);
  };

  const version = (): Reply =>
    success(
      `<result><sw-version>${escapeXml(opts.swVersion ?? '10.2.9')}</sw-version><multi-vsys>${profiles.some((p) => p.vsys && p.vsys !== 'vsys1') ? 'on' : 'off'}</multi-vsys>` +
        `<model>${panorama ? 'Panorama' : 'PA-VM'}</model><serial>${panorama ? '000702100001' : '007051000123456'}</serial></result>`,
    );

  // ---- HTTP -----------------------------------------------------------------------------------

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://fake-panos.invalid');
    const body = await readBody(req);
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) params[k] = v;
    const queryParams = [...url.searchParams.keys()];
    const bodyParams: string[] = [];
    let file: { name: string; content: Buffer } | undefined;
    const contentType = req.headers['content-type'] ?? '';
    let transport: FakePanosCall['transport'] = 'query';
    if (method === 'POST' && /^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(contentType)) {
      transport = contentType.toLowerCase().startsWith('multipart') ? 'multipart' : 'form';
      const form = await new Request('https://fake-panos.invalid/', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: new Uint8Array(body),
      }).formData();
      for (const [k, v] of form) {
        if (typeof v === 'string') {
          params[k] = v;
          bodyParams.push(k);
        } else file = { name: v.name, content: Buffer.from(await v.arrayBuffer()) };
      }
    }
    const headerKey = req.headers['x-pan-key'];
    const key = params['key'] ?? (typeof headerKey === 'string' ? headerKey : undefined);
    const type = params['type'] ?? '';
    const what = [
      `type=${type}`,
      ...(['action', 'category'] as const).flatMap((k) => (params[k] ? [`${k}=${params[k]}`] : [])),
    ].join('&');
    const masked: Record<string, string> = {};
    for (const [k, v] of Object.entries(params))
      masked[k] = ['key', 'password', 'passphrase'].includes(k) ? '********' : v;
    if (file) masked['file'] = `<${file.name}, ${file.content.length} bytes>`;
    const admin = type === 'keygen' ? undefined : adminOfKey(key);
    if (
      type === 'import' ||
      type === 'commit' ||
      (type === 'config' && MUTATING_CONFIG_ACTIONS.has(params['action'] ?? ''))
    )
      mutating++;

    let reply: Reply;
    const rule = failRules.find((r) => r.remaining > 0 && (r.match.test(what) || r.match.test(url.pathname)));
    if (url.pathname !== '/api/' && url.pathname !== '/api') {
      reply = { status: 404, xml: '<html><body>Not Found</body></html>' };
    } else if (rule) {
      rule.remaining--;
      reply = { status: rule.status, xml: rule.xml };
    } else if (type === 'keygen') {
      const user = params['user'] ?? '';
      reply =
        admins.has(user) && admins.get(user) === params['password']
          ? success(`<result><key>${issueKey(user)}</key></result>`)
          : INVALID_CREDENTIAL;
    } else if (!admin) {
      reply = INVALID_CREDENTIAL;
    } else if (type === 'version') {
      reply = version();
    } else if (type === 'import' && url.searchParams.get('type') !== 'import') {
      // acme.sh PR #2799: `type=import` must be in the URL (docs/vendors/panos.md; reply text: ASSUMPTION P8).
      reply = failure('17', ['Missing value for parameter "type" in the request URL']);
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
      queryParams,
      bodyParams,
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
    res.writeHead(reply.status, {
      'content-type': 'application/xml; charset=UTF-8',
      'content-length': Buffer.byteLength(reply.xml),
    });
    res.end(reply.xml);
  }

  // Real devices resume TLS sessions; so does the fake unless told otherwise.
  const resumption = opts.sessionResumption === false ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {};
  const initialMgmt = managementPair() ?? { certPem: management.certPem, keyPem: management.keyPem, chain: [] };
  apiServed = `${fingerprintOf(initialMgmt.certPem)}+${initialMgmt.chain.length}`;
  const server = https.createServer(
    { cert: initialMgmt.certPem + initialMgmt.chain.join(''), key: initialMgmt.keyPem, ...resumption },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const xml = `<response status="error" code="21"><msg><line>${escapeXml(`fake-panos internal error: ${String(error)}`)}</line></msg></response>`;
        res.writeHead(500, { 'content-type': 'application/xml' }).end(xml);
      });
    },
  );
  apiRef.server = server;
  const managementHandshakes = countHandshakes(server);
  const port = await listenOnLoopback(server);

  const profileOf = (name: string): FakePanosProfile => {
    const p = profiles.find((x) => x.name === name);
    if (!p) throw new Error(`fake-panos: no profile ${name}`);
    return p;
  };
  const endpointOf = (l: Listener): VerifyEndpoint => ({ host: '127.0.0.1', port: l.port });
  const allCertificateNames = (config: XNode): string[] =>
    placesOf(config, panorama).flatMap((place) => certificateNamesAt(config, place));

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
    managementHandshakes,
    endpoints: listeners.map(endpointOf),
    endpoint(profile) {
      const l = listeners.find((x) => x.profile.name === profile);
      if (!l) throw new Error(`fake-panos: no listener for profile ${profile}`);
      return endpointOf(l);
    },
    calls,
    view: () => ({
      certificateObjects: () => allCertificateNames(candidate()),
      mutatingCalls: () => mutating,
      secrets,
      serveLeafOnly: (on) => {
        leafOnly = on;
        for (const l of listeners) l.served = ''; // present again with or without the chain
        refreshListeners();
      },
    }),
    mutatingCalls: () => mutating,
    certificateNames: (which = 'candidate') => allCertificateNames(which === 'candidate' ? candidate() : running),
    profileCertificate(profile, which = 'candidate') {
      const spec = profileOf(profile);
      const place = placeOfProfile(spec);
      if (which === 'pushed') {
        const serial = place.kind === 'template' ? firewallOf(place.template) : undefined;
        const fwConfig = serial ? firewalls.get(serial)?.config : undefined;
        return fwConfig ? textOf(find(fwConfig, firewallProfileSteps(spec)), 'certificate') || undefined : undefined;
      }
      const found = find(which === 'candidate' ? candidate() : running, profileSteps(place, spec));
      return found ? textOf(found, 'certificate') || undefined : undefined;
    },
    hasPrivateKey: (name) => {
      const current = candidate();
      return placesOf(current, panorama).some((place) =>
        keyStore.has(textOf(find(current, certSteps(place, name)), 'private-key')),
      );
    },
    managementProfile: () => textOf(find(running, SYSTEM_STEPS), 'ssl-tls-service-profile'),
    pendingChanges: (admin) =>
      pending.filter((c) => admin === undefined || c.admin === admin).map((c) => `${c.admin}: ${c.description}`),
    jobs: () =>
      jobs.map((j) => ({
        id: j.id,
        type: j.type,
        user: j.user,
        status: j.status,
        result: j.result,
        progress: j.progress,
        details: [...j.details],
        changes: j.changes.map((c) => c.description),
        devices: (j.push?.devices ?? []).map((d) => ({
          serial: d.device.serial,
          result: d.result,
          messages: [...d.lines],
        })),
      })),
    mismatchCommitted: () => mismatch,
    issueKey: (user = username) => issueKey(user),
    async editAs(admin, xpath, element) {
      const steps = parseXpath(xpath);
      if (!steps) throw new Error(`fake-panos: bad xpath ${xpath}`);
      const fragment = await parseFragment(element);
      change(admin, `set ${pathText(steps)}`, (c) => merge(ensure(c, steps), fragment));
    },
    lock(kind, admin, comment = '') {
      if (!locks.some((l) => l.kind === kind && l.admin === admin))
        locks.push({ kind, admin, comment, created: new Date() });
    },
    unlock(kind, admin) {
      const index = locks.findIndex((l) => l.kind === kind && l.admin === admin);
      if (index >= 0) locks.splice(index, 1);
    },
    failNextCommit(detailLines) {
      failNextCommitLines = [...detailLines];
    },
    failNextPush(serial, detailLines) {
      failNextPushLines.set(serial, [...detailLines]);
    },
    failNext(match, reply) {
      failRules.push({
        match: statelessPattern(match),
        status: reply.status ?? 200,
        xml: reply.xml,
        remaining: reply.times ?? 1,
      });
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
      holds.push({ match: statelessPattern(match), reached, released });
      return { reached: reachedPromise, release };
    },
    close: () => closeServers(server, listeners),
  };
}
