/**
 * PAN-OS deployer (docs/vendors/panos.md): import the version under a new name derived
 * from it, point the SSL/TLS service profiles at it, and commit only the API admin's changes.
 *
 * - API key: a configured key, else the cached one (ctx.sessionKey) validated with type=version, else
 *   keygen (which ends the admin's other API sessions), stored back into the cache. A key that
 *   stops working mid-run (another keygen for the same admin) is replaced once.
 * - stage: intermediates as their own certificate objects (tolerated when refused), then the leaf as
 *   `certificate` and its key, encrypted with a random passphrase, as `private-key`. Both replies are
 *   checked and the candidate object is read back (docs/vendors/panos.md: a cert/key mismatch is never caught
 *   by the device).
 * - activate/rollback: `set` each profile's `<certificate>`, then a partial commit scoped to the API
 *   admin (docs/vendors/panos.md); the job is polled through activationStatus.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { keyMatchesCertificate } from '../../crypto/pem';
import { classified, ClassifiedError } from '../../errors';
import { createDeviceHttp } from '../device-http';
import { objectName, type NameRules } from '../naming';
import type { Activation, ActivationStatus, BindingState, CertificateMaterial, DeployerFactory, PreflightCheck, PreflightReport, StagedObjects } from '../types';
import { childOf, childrenOf, PanosClient, textAt, type PanReply } from './client';
import { parsePanosBinding, parsePanosCredentials, parsePanosOptions, type PanosBinding, type PanosCredentials, type PanosOptions } from './descriptor';
import { learnWireSecret } from '../wire-transcript';

const DEVICE = "/config/devices/entry[@name='localhost.localdomain']";
const CERTIFICATES = '/config/shared/certificate';
const certificateXpath = (name: string): string => `${CERTIFICATES}/entry[@name='${name}']`;
const profilesXpath = (vsys?: string): string => (vsys ? `${DEVICE}/vsys/entry[@name='${vsys}']/ssl-tls-service-profile` : '/config/shared/ssl-tls-service-profile');
const profileXpath = (vsys: string | undefined, name: string): string => `${profilesXpath(vsys)}/entry[@name='${name}']`;

/** Names we put into an xpath: no quotes, brackets or markup. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** acme.sh #4309, PR #6630 (docs/vendors/panos.md): no leading `*` or `_`; 63 characters on a firewall, 31 on Panorama. */
export const panosNameRules = (panorama: boolean): NameRules => ({ maxLength: panorama ? 31 : 63, allowed: /[A-Za-z0-9_-]/ });

/** XML API error codes (PAN-OS XML API "API Error Codes" page). */
const CODE_MEANINGS: Record<string, string> = {
  '1': 'unknown command',
  '2': 'internal error',
  '3': 'internal error',
  '4': 'internal error',
  '5': 'internal error',
  '6': 'bad xpath',
  '7': 'object not present',
  '8': 'object not unique',
  '10': 'reference count not zero',
  '11': 'internal error',
  '12': 'invalid object',
  '14': 'operation not possible',
  '15': 'operation denied',
  '16': 'unauthorized',
  '17': 'invalid command',
  '18': 'malformed command',
  '21': 'internal error',
  '22': 'session timed out',
  '403': 'invalid credential',
};
const TRANSIENT_CODES = new Set(['2', '3', '4', '5', '11', '21']);

/** What the device said, readable: its messages, the code and its meaning, a non-200 HTTP status. */
export function describeReply(reply: PanReply): string {
  const parts = [reply.messages.join('; ') || reply.raw || 'no message'];
  if (reply.code && reply.code !== '19' && reply.code !== '20') parts.push(`code ${reply.code}${CODE_MEANINGS[reply.code] ? `: ${CODE_MEANINGS[reply.code]}` : ''}`);
  if (reply.httpStatus !== 200) parts.push(`HTTP ${reply.httpStatus}`);
  return parts.join(', ');
}

/** The key or the credentials were refused (docs/vendors/panos.md: HTTP 403 "Invalid Credential"), or the key's session ended. */
const credentialRejected = (reply: PanReply): boolean => {
  if (reply.status === 'success') return false;
  if (reply.code === '22') return true;
  const forbidden = reply.httpStatus === 403 || reply.code === '403';
  return forbidden && (reply.messages.length === 0 || reply.messages.some((m) => /invalid credential/i.test(m)));
};

/** Maps a failed reply to a classified error whose message names the action and the device's words. */
export function failureOf(action: string, reply: PanReply): ClassifiedError {
  const detail = describeReply(reply);
  if (credentialRejected(reply)) return classified(FailureType.targetAuth, `panos: ${action}: the device rejected the API key or credentials (${detail})`);
  if (reply.httpStatus === 403 || reply.code === '16' || reply.status === 'unauth') {
    return classified(FailureType.targetPermission, `panos: ${action}: not allowed for this admin (${detail}); its admin role needs XML API access to configuration, import, commit and operational requests`);
  }
  if (reply.httpStatus >= 500 || (reply.code !== undefined && TRANSIENT_CODES.has(reply.code))) return classified(FailureType.targetUnreachable, `panos: ${action}: the device reported a temporary error (${detail})`);
  if (!reply.status) return classified(FailureType.targetRejected, `panos: ${action}: the answer is not a PAN-OS XML API reply (${detail}); check host and port`);
  return classified(FailureType.targetRejected, `panos: ${action} failed: ${detail}`);
}

const ensureSuccess = (action: string, reply: PanReply): PanReply => {
  if (reply.status !== 'success') throw failureOf(action, reply);
  return reply;
};

const fingerprintOfPem = (pem: string): string | undefined => {
  try {
    return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  } catch {
    return undefined;
  }
};

const commonNameOf = (pem: string): string => /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(pem).subject)?.[1] ?? '';

interface CertificateObject {
  fingerprint?: string;
  hasKey: boolean;
}

interface ProfileState {
  exists: boolean;
  certificate: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const createPanosDeployer: DeployerFactory = (ctx) => {
  const http = createDeviceHttp(ctx.target, 'panos');
  const client = new PanosClient(http);
  const credentialsParsed = parsePanosCredentials(ctx.target.credentials);
  const optionsParsed = parsePanosOptions(ctx.target.options);
  const bindingParsed = parsePanosBinding(ctx.binding);

  const invalid = (what: string, errors: Record<string, string>): ClassifiedError =>
    classified(FailureType.validation, `panos: invalid ${what}: ${Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  const credentials = (): PanosCredentials => {
    if (!credentialsParsed.value) throw invalid('credentials', credentialsParsed.errors);
    return credentialsParsed.value;
  };
  const options = (): PanosOptions => {
    if (!optionsParsed.value) throw invalid('target options', optionsParsed.errors);
    return optionsParsed.value;
  };
  const binding = (): PanosBinding => {
    if (!bindingParsed.value) throw invalid('binding', bindingParsed.errors);
    return bindingParsed.value;
  };

  // ---- API key (docs/vendors/panos.md) -------------------------------------------------------

  const session: { key?: string; source?: 'configured' | 'cached' | 'generated'; swVersion?: string; model?: string } = {};

  const keygen = async (): Promise<string> => {
    const { username, password } = credentials();
    if (!password) throw classified(FailureType.targetAuth, `panos: the API key of admin ${username} was rejected and no password is configured to generate a new one`);
    const { reply, key } = await client.keygen(username, password);
    if (reply.status !== 'success' || !key) {
      if (reply.httpStatus === 403 || credentialRejected(reply)) {
        throw classified(FailureType.targetAuth, `panos: keygen for admin ${username} was refused (${describeReply(reply)}); check the user name and password`);
      }
      throw failureOf('keygen', reply);
    }
    await ctx.sessionKey?.set(key);
    session.key = key;
    session.source = 'generated';
    return key;
  };

  /** Validates a key with type=version; undefined when the key is refused. */
  const tryKey = async (key: string, source: 'configured' | 'cached'): Promise<string | undefined> => {
    const version = await client.version(key);
    if (version.reply.status !== 'success') {
      if (credentialRejected(version.reply)) return undefined;
      throw failureOf('version check', version.reply);
    }
    Object.assign(session, { key, source, swVersion: version.swVersion, model: version.model });
    return key;
  };

  const ensureKey = async (): Promise<string> => {
    if (session.key) return session.key;
    const { apiKey, username } = credentials();
    if (apiKey) {
      const ok = await tryKey(apiKey, 'configured');
      if (!ok) throw classified(FailureType.targetAuth, `panos: the configured API key for admin ${username} was rejected (Invalid Credential); generate a new key or configure the password instead`);
      return ok;
    }
    const cached = await ctx.sessionKey?.get();
    return (cached && (await tryKey(cached, 'cached'))) || keygen();
  };

  /**
   * Sends a keyed request. When the key stops working meanwhile (keygen for the same admin elsewhere
   * ends it), another worker may already have stored a fresh one: try that before generating
   * one ourselves, which would in turn end that worker's session.
   */
  const keyed = async <T extends { reply: PanReply }>(send: (key: string) => Promise<T>): Promise<T> => {
    const key = await ensureKey();
    const first = await send(key);
    if (!credentialRejected(first.reply) || session.source === 'configured') return first;
    session.key = undefined;
    const stored = await ctx.sessionKey?.get();
    if (stored && stored !== key) {
      const second = await send(stored);
      if (!credentialRejected(second.reply)) {
        Object.assign(session, { key: stored, source: 'cached' });
        return second;
      }
    }
    return send(await keygen());
  };
  const request = async (action: string, send: (key: string) => Promise<PanReply>): Promise<PanReply> =>
    ensureSuccess(action, (await keyed(async (key) => ({ reply: await send(key) }))).reply);

  // ---- reading the configuration --------------------------------------------------------------

  const readCertificates = async (): Promise<Map<string, CertificateObject>> => {
    const reply = await request('read certificates', (key) => client.getConfig(key, CERTIFICATES));
    const objects = new Map<string, CertificateObject>();
    for (const entry of childrenOf(childOf(reply.result, 'certificate'), 'entry')) {
      const pem = textAt(entry, 'public-key');
      const fingerprint = pem ? fingerprintOfPem(`${pem}\n`) : undefined;
      objects.set(entry.attrs['name'] ?? '', { ...(fingerprint ? { fingerprint } : {}), hasKey: textAt(entry, 'private-key') !== '' });
    }
    return objects;
  };

  const readCertificate = async (name: string): Promise<CertificateObject | undefined> => {
    const reply = await request(`read certificate ${name}`, (key) => client.getConfig(key, certificateXpath(name)));
    const entry = childOf(reply.result, 'entry');
    if (!entry) return undefined;
    const fingerprint = fingerprintOfPem(`${textAt(entry, 'public-key')}\n`);
    return { ...(fingerprint ? { fingerprint } : {}), hasKey: textAt(entry, 'private-key') !== '' };
  };

  /** A profile in the RUNNING (`show`) or CANDIDATE (`get`) configuration. */
  const readProfile = async (name: string, config: 'running' | 'candidate'): Promise<ProfileState> => {
    if (!SAFE_NAME.test(name)) throw classified(FailureType.validation, `panos: "${name}" is not a valid SSL/TLS service profile name`);
    const xpath = profileXpath(options().vsys, name);
    const { reply } = await keyed(async (key) => ({ reply: config === 'running' ? await client.showConfig(key, xpath) : await client.getConfig(key, xpath) }));
    if (reply.code === '7') return { exists: false, certificate: '' }; // get: success + code 7; show: "No such node"
    const entry = childOf(ensureSuccess(`read SSL/TLS service profile ${name}`, reply).result, 'entry');
    return entry ? { exists: true, certificate: textAt(entry, 'certificate') } : { exists: false, certificate: '' };
  };

  /** The profile's certificate as services use it now (running), or as configured when it is not committed yet. */
  const currentCertificate = async (name: string): Promise<ProfileState> => {
    const running = await readProfile(name, 'running');
    if (running.exists) return running;
    return readProfile(name, 'candidate');
  };

  const where = (): string => (options().vsys ? `vsys ${options().vsys}` : 'shared');

  // ---- commit (docs/vendors/panos.md) --------------------------------------------------------

  /** Partial commit of the API admin's changes: the job id, or undefined when there was nothing to commit. */
  const commit = async (action: string): Promise<string | undefined> => {
    const { username } = credentials();
    const { reply, jobId } = await keyed((key) => client.commitPartial(key, username));
    if (reply.status !== 'success') {
      const detail = describeReply(reply);
      if (credentialRejected(reply) || reply.httpStatus === 403 || reply.code === '16' || reply.httpStatus >= 500) throw failureOf(`${action}: commit`, reply);
      if (/lock|in progress|another commit|busy/i.test(detail)) throw classified(FailureType.deviceSessionBusy, `panos: ${action}: the device cannot commit now (${detail})`, 60_000);
      throw classified(FailureType.commitFailed, `panos: ${action}: the commit was refused: ${detail}`);
    }
    if (jobId) return jobId;
    if (reply.messages.some((m) => /no changes to commit/i.test(m))) return undefined;
    throw classified(FailureType.targetRejected, `panos: ${action}: the commit reply has neither a job id nor "no changes" (${describeReply(reply)})`);
  };

  const jobStatus = async (jobId: string): Promise<ActivationStatus> => {
    if (!/^\d{1,12}$/.test(jobId)) throw classified(FailureType.validation, `panos: "${jobId}" is not a PAN-OS job id`);
    const { reply, job } = await keyed((key) => client.showJob(key, jobId));
    ensureSuccess(`show job ${jobId}`, reply);
    if (!job) throw classified(FailureType.targetRejected, `panos: commit job ${jobId} is not known to the device (${describeReply(reply)})`);
    if (job.status === 'FIN') {
      if (job.result === 'OK') return { state: 'done' };
      const lines = job.details.length > 0 ? job.details.join('; ') : `result ${job.result || 'unknown'}`;
      return { state: 'failed', detail: `panos: commit job ${jobId} failed: ${lines}` };
    }
    return { state: 'pending', ...(job.progress !== undefined ? { progress: job.progress } : {}) };
  };

  /** Waits for a job (removeSuperseded has no job handle to return); gives up quietly after two minutes. */
  const waitForJob = async (jobId: string): Promise<void> => {
    const deadline = Date.now() + 120_000;
    for (let delay = 200; Date.now() < deadline; delay = Math.min(delay * 2, 2_000)) {
      const status = await jobStatus(jobId);
      if (status.state === 'done') return;
      if (status.state === 'failed') throw classified(FailureType.commitFailed, status.detail);
      await sleep(delay);
    }
  };

  /** Points each profile at a certificate name ('' removes the reference); returns what the services used before. */
  const bind = async (targets: [profile: string, certificate: string][]): Promise<BindingState> => {
    const vsys = options().vsys;
    const previous: BindingState = {};
    for (const [profile, certificate] of targets) {
      const running = await readProfile(profile, 'running');
      const candidate = await readProfile(profile, 'candidate');
      if (!running.exists && !candidate.exists) throw classified(FailureType.targetRejected, `panos: SSL/TLS service profile "${profile}" does not exist in ${where()}`);
      previous[profile] = running.exists ? running.certificate : candidate.certificate;
      if (candidate.exists && candidate.certificate === certificate) continue;
      const xpath = profileXpath(vsys, profile);
      if (certificate === '') await request(`unbind profile ${profile}`, (key) => client.deleteConfig(key, `${xpath}/certificate`));
      else await request(`bind profile ${profile} to ${certificate}`, (key) => client.setConfig(key, xpath, `<certificate>${escapeText(certificate)}</certificate>`));
    }
    return previous;
  };

  const importCertificate = (name: string, pem: string): Promise<PanReply> =>
    keyed(async (key) => ({ reply: await client.importFile(key, { category: 'certificate', certificateName: name, format: 'pem', fileName: `${name}.pem`, content: pem }) })).then((r) => r.reply);

  return {
    async preflight(): Promise<PreflightReport> {
      const { username } = credentials();
      const { panorama } = options();
      const checks: PreflightCheck[] = [];
      const changes: string[] = [];
      await ensureKey();
      const keyDetail = { configured: 'the configured API key is accepted', cached: 'the cached API key is still valid', generated: `generated a new API key for admin ${username}` };
      checks.push({ name: 'API key', ok: true, detail: keyDetail[session.source ?? 'generated'] });
      if (!session.swVersion) {
        const version = await keyed((key) => client.version(key));
        ensureSuccess('version', version.reply);
        Object.assign(session, { swVersion: version.swVersion, model: version.model });
      }
      const firmware = `PAN-OS ${session.swVersion ?? '?'}${session.model ? ` (${session.model})` : ''}`;
      const isPanorama = /panorama|^m-\d/i.test(session.model ?? '');
      checks.push({
        name: 'firmware',
        ok: !isPanorama || panorama,
        detail: isPanorama && !panorama ? `${firmware}: this is a Panorama; enable the Panorama option so certificate names stay within 31 characters` : firmware,
      });
      const profiles = bindingParsed.value?.profiles ?? [];
      if (!bindingParsed.value && Object.keys(bindingParsed.errors).some((k) => k !== 'profiles')) {
        checks.push({ name: 'binding', ok: false, detail: Object.values(bindingParsed.errors).join(' ') });
      }
      if (profiles.length === 0) checks.push({ name: 'binding', ok: true, detail: 'no SSL/TLS service profile chosen yet' });
      for (const profile of profiles) {
        try {
          const state = await currentCertificate(profile);
          if (!state.exists) {
            checks.push({ name: `profile ${profile}`, ok: false, detail: `SSL/TLS service profile "${profile}" not found in ${where()}` });
            continue;
          }
          checks.push({ name: `profile ${profile}`, ok: true, detail: `readable; uses certificate ${state.certificate || '(none)'}` });
          changes.push(`profile ${profile}: ${state.certificate || '(none)'} → new certificate`);
        } catch (error) {
          if (error instanceof ClassifiedError && error.type !== FailureType.targetUnreachable && error.type !== FailureType.targetTlsUntrusted) {
            checks.push({ name: `profile ${profile}`, ok: false, detail: error.message });
          } else {
            throw error;
          }
        }
      }
      return { firmware, checks, changes };
    },

    async stage(material: CertificateMaterial): Promise<StagedObjects> {
      const rules = panosNameRules(options().panorama);
      if (!keyMatchesCertificate(material.keyPem, material.certPem)) {
        throw classified(FailureType.validation, `panos: the private key of version ${material.versionId} does not belong to its certificate; nothing was imported`);
      }
      const leafName = objectName(material.commonName, material.serialHex, rules);
      const staged: StagedObjects = { cert: leafName };
      const existing = await readCertificates();

      // Intermediates as their own objects, so the device can send the chain; a refusal is tolerated.
      for (const [index, pem] of material.chainPems.entries()) {
        const x = new X509Certificate(pem);
        const name = objectName(commonNameOf(pem) || 'ca', x.serialNumber, rules);
        const fingerprint = x.fingerprint256.replace(/:/g, '').toLowerCase();
        const have = existing.get(name);
        if (have && have.fingerprint !== fingerprint) continue; // the name holds something else: leave it alone
        if (!have) {
          const reply = await importCertificate(name, pem);
          if (reply.status !== 'success') {
            if (credentialRejected(reply) || reply.httpStatus >= 500) throw failureOf(`import intermediate ${name}`, reply);
            continue;
          }
        }
        staged[`chain${index}`] = name;
      }

      const have = existing.get(leafName);
      const certificateThere = have?.fingerprint === material.fingerprintSha256;
      if (certificateThere && have?.hasKey) return staged;
      if (!certificateThere) ensureSuccess(`import certificate ${leafName}`, await importCertificate(leafName, material.certPem));

      // The key travels encrypted with a one-time passphrase (the device requires one).
      const passphrase = randomBytes(24).toString('base64url');
      learnWireSecret(passphrase);
      const encrypted = createPrivateKey(material.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
      const keyReply = await keyed(async (key) => ({
        reply: await client.importFile(key, { category: 'private-key', certificateName: leafName, format: 'pem', passphrase, fileName: `${leafName}.key`, content: encrypted }),
      }));
      if (keyReply.reply.status !== 'success') {
        const cause = failureOf(`import private key ${leafName}`, keyReply.reply);
        throw classified(cause.type, `panos: the certificate was imported as ${leafName} but its private key was refused (${describeReply(keyReply.reply)}); nothing was bound, a retry imports the key again`);
      }

      // acme.sh #4716 (docs/vendors/panos.md): the device never checks that the pair matches, so read the object back.
      const object = await readCertificate(leafName);
      if (object?.fingerprint !== material.fingerprintSha256 || !object.hasKey) {
        const state = !object ? 'missing' : object.fingerprint !== material.fingerprintSha256 ? 'holds another certificate' : 'has no private key';
        throw classified(FailureType.targetRejected, `panos: both imports of ${leafName} reported success but the candidate object ${state}; nothing was bound`);
      }
      return staged;
    },

    async activate(staged: StagedObjects): Promise<Activation> {
      const name = staged['cert'];
      if (!name || !SAFE_NAME.test(name)) throw classified(FailureType.validation, 'panos: nothing staged to activate (no certificate name)');
      const { profiles } = binding();
      const object = await readCertificate(name);
      if (!object?.hasKey) throw classified(FailureType.targetRejected, `panos: certificate ${name} ${object ? 'has no private key' : 'is not on the device'}; stage the version again`);
      const previous = await bind(profiles.map((p) => [p, name]));
      const jobId = await commit('activate');
      return { previous, ...(jobId ? { jobId } : {}) };
    },

    activationStatus: jobStatus,

    async rollback(previous: BindingState): Promise<Activation> {
      const targets = Object.entries(previous);
      if (targets.length === 0) return { previous: {} };
      const before = await bind(targets);
      const jobId = await commit('rollback');
      return { previous: before, ...(jobId ? { jobId } : {}) };
    },

    async removeSuperseded(keep: StagedObjects[], candidates: StagedObjects[]): Promise<string[]> {
      const kept = new Set(keep.flatMap((o) => Object.values(o)));
      const wanted = [...new Set(candidates.flatMap((o) => Object.values(o)))].filter((n) => !kept.has(n) && SAFE_NAME.test(n));
      if (wanted.length === 0) return [];
      const existing = await readCertificates();
      const present = wanted.filter((n) => existing.has(n));
      if (present.length === 0) return [];
      // Never delete what a profile references, in the candidate or the running configuration.
      const referenced = new Set<string>();
      const containers = [profilesXpath(), ...(options().vsys ? [profilesXpath(options().vsys)] : [])];
      for (const [config, xpath] of containers.flatMap((x) => [['candidate', x], ['running', x]] as const)) {
        const { reply } = await keyed(async (key) => ({ reply: config === 'running' ? await client.showConfig(key, xpath) : await client.getConfig(key, xpath) }));
        if (reply.code === '7') continue;
        for (const entry of childrenOf(childOf(ensureSuccess('read SSL/TLS service profiles', reply).result, 'ssl-tls-service-profile'), 'entry')) {
          referenced.add(textAt(entry, 'certificate'));
        }
      }
      const removed: string[] = [];
      for (const name of present.filter((n) => !referenced.has(n))) {
        const { reply } = await keyed(async (key) => ({ reply: await client.deleteConfig(key, certificateXpath(name)) }));
        if (reply.status === 'success') removed.push(name);
        else if (!/references? from/i.test(describeReply(reply))) throw failureOf(`delete certificate ${name}`, reply);
      }
      if (removed.length === 0) return [];
      const jobId = await commit('remove superseded certificates');
      if (jobId) await waitForJob(jobId);
      return removed;
    },

    async close(): Promise<void> {
      await http.close();
    },
  };
};
