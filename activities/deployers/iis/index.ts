/**
 * The IIS deployer: Windows OpenSSH + PowerShell (docs/vendors/iis.md). The SSH session
 * (pinned host key, key or password login) and SFTP are the shared plumbing of ../ssh/; every
 * command is a PowerShell script sent as -EncodedCommand (./scripts.ts).
 *
 * stage     computes the SHA-1 thumbprint locally; when Cert:\LocalMachine\<store> already holds it
 *           with its private key, nothing is uploaded. Otherwise builds a PFX with a random password
 *           (3DES with legacyPfx, else AES-256), uploads it over SFTP to the upload directory, imports
 *           it with X509Certificate2 + MachineKeySet|PersistKeySet, and deletes the file (the script's
 *           `finally`, then over SFTP: also when the import fails). Returns {thumbprint, store}.
 * activate  reads each listed binding's certificate (the previous state), then replaces binding by
 *           binding: removes it and adds it again with the new hash, every sslFlags bit it had (plus
 *           bit 1 with "Require SNI") and its other attributes, never editing CertificateHash in place
 *           (win-acme #371, Certify #308: ./scripts.ts). When the new binding cannot be created, the
 *           script adds the old one back at once. All or nothing: when one binding fails, the
 *           deployer re-reads and restores the ones replaced before it, and
 *           whatever is still changed when a script dies half-way. The previous state is also saved
 *           next to the uploads, so a retried activation that finds the bindings switched already
 *           still returns what was there before.
 * rollback  sets the previous hashes (and flags) back, with the same all-or-nothing care.
 * removeSuperseded deletes certificates (and keys) by thumbprint, only when no https binding of
 *           any site uses them and CertFleet imported them (friendly name "CertFleet …"), and their
 *           saved previous-state copies.
 * preflight connects (shows the host key when none is pinned), reads PowerShell, Windows and IIS
 *           versions, administrator rights, the store, the bindings; changes nothing.
 *
 * StagedObjects and BindingState hold thumbprints, store names and binding names only.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import { FailureType } from '../../../temporal/contract';
import { buildPfx, keyMatchesCertificate } from '../../crypto/pem';
import { classified, ClassifiedError } from '../../errors';
import type { SshCredentials } from '../ssh/options';
import type { HostKeyIdentity } from '../ssh/pin';
import { SftpFiles } from '../ssh/remote-files';
import { connectSsh, hostKeyFingerprint, type SshSession } from '../ssh/session';
import type { Activation, BindingState, CertificateMaterial, Deployer, DeployerFactory, PreflightCheck, StagedObjects } from '../types';
import { iisDescriptor, IIS_STORES, parseSiteBinding, siteBindingsOf, type IisBinding, type IisOptions, type SiteBinding } from './descriptor';
import {
  buildScript,
  encodeCommand,
  MAX_COMMAND_LENGTH,
  readReply,
  scriptFailure,
  type BindingRef,
  type BindingTarget,
  type CertificateRef,
  type ScriptOperation,
  type ScriptParams,
} from './scripts';
import { checkDeployerConfig } from '../config-check';
import { learnWireSecret } from '../wire-transcript';

const C = 'iis';
const EXEC_TIMEOUT_MS = 180_000;
const THUMBPRINT = /^[0-9A-F]{40}$/;
const STORE_NAME = /^[A-Za-z0-9 _-]{1,64}$/;
/** Windows before Server 2016 1709 cannot read AES-256 PFX files (docs/vendors/iis.md). */
export const FIRST_BUILD_WITH_AES_PFX = 16299;
/** SNI bindings exist from IIS 8 on. */
const FIRST_IIS_WITH_SNI = 8;
const SSL_FLAG_SNI = 1;
/**
 * Microsoft.Web.Administration.SslFlags.CentralCertStore: IIS serves "<host>.pfx" from the
 * Centralized Certificate Store share for such a binding and not the certificate its hash names
 * (win-acme's IISHttpBindingUpdater treats a CentralSsl binding as one without a hash). CertFleet
 * writes to Cert:\LocalMachine only, so it refuses these bindings rather than clear the flag.
 */
const SSL_FLAG_CENTRAL_CERT_STORE = 2;

const centralStoreMessage = (refs: BindingRef[]): string =>
  `${refs.map(describeBinding).join(', ')} ${refs.length > 1 ? 'use' : 'uses'} the Centralized Certificate Store (sslFlags bit 2): IIS serves the certificate from the CCS share for ${refs.length > 1 ? 'them' : 'it'}, not one from Cert:\\LocalMachine, and CertFleet does not write to the share. Remove ${refs.length > 1 ? 'them' : 'it'} from the list, or untick "Use Centralized Certificate Store" on the binding in IIS Manager.`;

/** Windows' certificate thumbprint: SHA-1 of the DER certificate, uppercase hex. */
export function thumbprintOf(certPem: string): string {
  return createHash('sha1').update(new X509Certificate(certPem).raw).digest('hex').toUpperCase();
}

/** The SFTP form of a Windows path on Windows OpenSSH: C:\a\b → /C:/a/b. */
export const sftpPathOf = (windowsPath: string): string => `/${windowsPath.replace(/\\/g, '/')}`;

/** Friendly name of an imported version: what IIS Manager lists, and the mark removeSuperseded checks. */
export function friendlyNameOf(material: CertificateMaterial): string {
  const serial = material.serialHex.toLowerCase().replace(/^0+/, '').slice(-8) || '0';
  return `CertFleet ${material.commonName} ${new Date(material.notAfter).toISOString().slice(0, 10)} ${serial}`;
}

// --- reply reading ------------------------------------------------------------------------------

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
/** Windows PowerShell 5.1 may serialise a one-element array as the element itself. */
const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);
const str = (o: Json, key: string): string => {
  const v = o[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
};
const num = (o: Json, key: string): number => {
  const v = o[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) ? n : -1;
};

interface CertInfo {
  store: string;
  thumbprint: string;
  present: boolean;
  hasPrivateKey: boolean;
  subject: string;
  notAfter: string;
  friendlyName: string;
}

interface ReadState {
  found: boolean;
  siteFound: boolean;
  available: string[];
  hash: string;
  store: string;
  sslFlags: number;
  certificate?: CertInfo;
}

const certInfoOf = (value: unknown): CertInfo | undefined =>
  isObject(value)
    ? {
        store: str(value, 'store'),
        thumbprint: str(value, 'thumbprint').toUpperCase(),
        present: value['present'] === true,
        hasPrivateKey: value['hasPrivateKey'] === true,
        subject: str(value, 'subject'),
        notAfter: str(value, 'notAfter'),
        friendlyName: str(value, 'friendlyName'),
      }
    : undefined;

const cnOf = (subject: string): string => /CN=([^,]+)/.exec(subject)?.[1]?.trim() ?? (subject || '?');
const short = (thumbprint: string): string => (thumbprint ? `${thumbprint.slice(0, 12)}…` : '(none)');

function describeCertificate(hash: string, info: CertInfo | undefined): string {
  if (!hash) return 'no certificate';
  if (!info?.present) return `${short(hash)} (not in the store)`;
  return `${short(hash)} (${cnOf(info.subject)}, expires ${info.notAfter || '?'})`;
}

const describeBinding = (b: BindingRef): string => `site "${b.site}" binding ${b.bindingInformation}`;

// --- binding state ------------------------------------------------------------------------------

const stateKey = (b: BindingRef): string => `${b.site}|${b.bindingInformation}`;
const stateValue = (t: BindingTarget): string => `${t.hash}|${t.store}|${t.sslFlags}`;
const encodeState = (targets: BindingTarget[]): BindingState => Object.fromEntries(targets.map((t) => [stateKey(t), stateValue(t)]));
const sameTarget = (a: BindingTarget, b: BindingTarget): boolean => a.hash === b.hash && (a.hash === '' || a.store.toLowerCase() === b.store.toLowerCase()) && a.sslFlags === b.sslFlags;

function decodeStateEntry(key: string, value: string): BindingTarget | undefined {
  const binding = parseSiteBinding(key).binding;
  const match = /^([0-9A-F]{40})?\|([^|]*)\|(\d{1,5})$/.exec(value);
  if (!binding || !match || !(match[1] === undefined || STORE_NAME.test(match[2] ?? ''))) return undefined;
  return { site: binding.site, bindingInformation: binding.bindingInformation, hash: match[1] ?? '', store: match[2] || 'My', sslFlags: Number(match[3]) };
}

function decodeState(previous: BindingState): BindingTarget[] {
  const targets: BindingTarget[] = [];
  for (const [key, value] of Object.entries(previous)) {
    const target = decodeStateEntry(key, value);
    if (!target) throw classified(FailureType.validation, `${C}: the previous binding state "${key}" = "${value}" is not one CertFleet wrote; set the binding by hand`);
    targets.push(target);
  }
  return targets;
}

/** Greedy split so every command stays within cmd.exe's limit. */
function batches<T>(items: T[], fits: (batch: T[]) => boolean, what: string): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  for (const item of items) {
    if (fits([...current, item])) {
      current.push(item);
      continue;
    }
    if (current.length === 0) throw classified(FailureType.validation, `${C}: ${what}: one item alone makes a command longer than ${MAX_COMMAND_LENGTH} characters`);
    out.push(current);
    current = [item];
    if (!fits(current)) throw classified(FailureType.validation, `${C}: ${what}: one item alone makes a command longer than ${MAX_COMMAND_LENGTH} characters`);
  }
  if (current.length > 0) out.push(current);
  return out;
}

const commandFits = <O extends ScriptOperation>(operation: O, params: ScriptParams[O]): boolean => encodeCommand(buildScript(operation, params)).length <= MAX_COMMAND_LENGTH;

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7). */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

function sftpError(what: string, error: unknown): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === SFTP_PERMISSION_DENIED) return classified(FailureType.targetPermission, `${C}: ${what}: permission denied (SFTP). The SSH user must be allowed to write to the upload directory.`);
  if (code === SFTP_NO_SUCH_FILE) return classified(FailureType.targetRejected, `${C}: ${what}: no such directory`);
  if (typeof code !== 'number') return classified(FailureType.targetUnreachable, `${C}: ${what}: ${message}`);
  return classified(FailureType.targetRejected, `${C}: ${what}: ${message}`);
}

/**
 * Writes a new file over SFTP: created exclusively (the name is random), written, closed. Not the
 * shared SftpFiles.writeAtomic: its fallback for servers without posix-rename is `mv -f`, which
 * cmd.exe does not have, and a fresh file name needs no atomic replace.
 */
async function putNewFile(sftp: SFTPWrapper, path: string, data: Buffer): Promise<void> {
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'wx', { mode: 0o600 }, (error, h) => (error ? reject(error) : resolve(h))));
  try {
    const CHUNK = 32 * 1024;
    for (let offset = 0; offset < data.length; offset += CHUNK) {
      const length = Math.min(CHUNK, data.length - offset);
      await new Promise<void>((resolve, reject) => sftp.write(handle, data, offset, length, offset, (error) => (error ? reject(error) : resolve())));
    }
  } finally {
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
}

/** Replaces a small file over SFTP (truncate + write). */
async function putFile(sftp: SFTPWrapper, path: string, data: Buffer): Promise<void> {
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'w', { mode: 0o600 }, (error, h) => (error ? reject(error) : resolve(h))));
  try {
    await new Promise<void>((resolve, reject) => sftp.write(handle, data, 0, data.length, 0, (error) => (error ? reject(error) : resolve())));
  } finally {
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
}

const hostKeyFileName = (keyType: string): string => (keyType.includes('ed25519') ? 'ed25519' : keyType.startsWith('ecdsa') ? 'ecdsa' : keyType.includes('rsa') ? 'rsa' : '*');

export const createIisDeployer: DeployerFactory = (ctx) => {
  const config = checkDeployerConfig(C, iisDescriptor, ctx);
  const ready = config.ready;

  const parsedTarget = config.targetValid ? config.target() : { options: {}, credentials: {} };
  const options = parsedTarget.options as unknown as IisOptions;
  const login = parsedTarget.credentials as unknown as SshCredentials;
  const binding = (config.binding ?? {}) as unknown as IisBinding;
  const sites: SiteBinding[] = config.targetValid && config.binding ? siteBindingsOf(config.binding) : [];
  const { host, port } = ctx.target;

  let opened: Promise<SshSession> | undefined;
  let session: SshSession | undefined;

  const unpinned = (presented: HostKeyIdentity): string =>
    `No SSH host key is pinned for this target yet. ${host}:${port} presents ${presented.sha256} (${presented.keyType}). Compare it with the server's key (on the server: ssh-keygen -lf C:\\ProgramData\\ssh\\ssh_host_${hostKeyFileName(presented.keyType)}_key.pub) and pin it as the host key (SHA-256) if it matches.`;

  const open = (): Promise<SshSession> => {
    opened ??= (async () => {
      if (!options.hostKeySha256) {
        const presented = await hostKeyFingerprint(host, port, { component: C });
        throw classified(FailureType.targetTlsUntrusted, `${C}: ${unpinned(presented)}`);
      }
      const ssh = await connectSsh({ component: C, host, port, hostKeySha256: options.hostKeySha256, ...login, ...(ctx.target.allowedNetworks ? { allowedNetworks: ctx.target.allowedNetworks } : {}) });
      session = ssh;
      return ssh;
    })();
    return opened;
  };

  const sftpOf = async (ssh: SshSession): Promise<SFTPWrapper> => {
    const sftp = await ssh.sftp();
    if (!sftp) throw classified(FailureType.targetRejected, `${C}: ${host}:${port} offers no SFTP subsystem (Windows OpenSSH has one: "Subsystem sftp sftp-server.exe" in sshd_config)`);
    return sftp;
  };

  /** Runs one script and returns its JSON reply (errors classified, secrets redacted). */
  async function run<O extends ScriptOperation>(operation: O, params: ScriptParams[O], what: string, secrets: string[] = []): Promise<Json> {
    const ssh = await open();
    const command = encodeCommand(buildScript(operation, params));
    if (command.length > MAX_COMMAND_LENGTH) {
      throw classified(FailureType.validation, `${C}: ${what}: the command would be ${command.length} characters, over cmd.exe's limit of ${MAX_COMMAND_LENGTH}`);
    }
    const result = await ssh.exec(command, { timeoutMs: EXEC_TIMEOUT_MS });
    return readReply(C, what, result, { secrets, legacyPfx: options.legacyPfx });
  }

  const unexpected = (what: string, reply: Json): ClassifiedError =>
    classified(FailureType.targetRejected, `${C}: ${what}: unexpected reply ${JSON.stringify(reply).slice(0, 300)}`);

  /** The current state of bindings (split into several commands when needed) and of the certificates asked about. */
  async function readBindings(refs: BindingRef[], certificates: CertificateRef[]): Promise<{ states: ReadState[]; certificates: CertInfo[]; sites: string[] }> {
    const what = 'reading the site bindings';
    const parts = refs.length === 0 ? [[]] : batches(refs, (batch) => commandFits('read-bindings', { bindings: batch, certificates }), what);
    const states: ReadState[] = [];
    let certs: CertInfo[] = [];
    let siteNames: string[] = [];
    for (const [index, part] of parts.entries()) {
      const reply = await run('read-bindings', { bindings: part.map((b) => ({ site: b.site, bindingInformation: b.bindingInformation })), certificates: index === 0 ? certificates : [] }, what);
      const items = listOf(reply['bindings']).filter(isObject);
      for (let i = 0; i < part.length; i++) {
        const item = items.find((it) => num(it, 'i') === i);
        if (!item) throw unexpected(what, reply);
        states.push({
          found: item['found'] === true,
          siteFound: item['siteFound'] !== false,
          available: listOf(item['available']).filter((v): v is string => typeof v === 'string'),
          hash: str(item, 'hash').toUpperCase(),
          store: str(item, 'store') || 'My',
          sslFlags: Math.max(0, num(item, 'sslFlags')),
          ...(certInfoOf(item['certificate']) ? { certificate: certInfoOf(item['certificate']) } : {}),
        });
      }
      if (index === 0) certs = listOf(reply['certificates']).map(certInfoOf).filter((c): c is CertInfo => c !== undefined);
      siteNames = listOf(reply['sites']).filter((v): v is string => typeof v === 'string');
    }
    return { states, certificates: certs, sites: siteNames };
  }

  function missingMessage(refs: BindingRef[], states: ReadState[], siteNames: string[]): string | undefined {
    const problems = refs.flatMap((ref, i) => {
      const state = states[i];
      if (!state || state.found) return [];
      if (!state.siteFound) return [`there is no site "${ref.site}" (sites: ${siteNames.join(', ') || 'none'})`];
      return [`site "${ref.site}" has no https binding ${ref.bindingInformation} (its https bindings: ${state.available.join(', ') || 'none'})`];
    });
    return problems.length > 0 ? `${problems.join('; ')}. Create the https binding in IIS first, or correct the list.` : undefined;
  }

  const targetOf = (ref: BindingRef, state: ReadState): BindingTarget => ({ site: ref.site, bindingInformation: ref.bindingInformation, hash: state.hash, store: state.store, sslFlags: state.sslFlags });

  /**
   * Puts every binding of `before` back where it differs from it now. Returns a sentence for the
   * error message.
   */
  async function restore(before: BindingTarget[], scriptNote: string): Promise<string> {
    try {
      const now = await readBindings(before, []);
      const differing = before.filter((b, i) => {
        const state = now.states[i];
        return !state?.found || !sameTarget(targetOf(b, state), b);
      });
      if (differing.length === 0) return `${scriptNote}Nothing stays changed: every binding has its previous certificate.`;
      for (const part of batches(differing, (batch) => commandFits('set-bindings', { bindings: batch }), 'putting bindings back')) {
        const reply = await run('set-bindings', { bindings: part }, 'putting the bindings back');
        if (reply['ok'] !== true) {
          const failure = isObject(reply['failure']) ? reply['failure'] : {};
          const failed = part[num(failure, 'i')];
          return `${scriptNote}Putting the bindings back failed too${failed ? ` at ${describeBinding(failed)}` : ''}: ${str(failure, 'error').slice(0, 300)}; set ${differing.map(describeBinding).join(', ')} back by hand.`;
        }
      }
      return `${scriptNote}${differing.map(describeBinding).join(', ')} ${differing.length > 1 ? 'were' : 'was'} put back: nothing stays changed.`;
    } catch (error) {
      return `${scriptNote}Putting the bindings back failed too (${error instanceof Error ? error.message : String(error)}); check ${before.map(describeBinding).join(', ')} by hand.`;
    }
  }

  /**
   * Sets `desired` where it differs from `before` (the state read just now). All or nothing: on any
   * failure the changed bindings are put back before the error is thrown.
   */
  async function applyAll(desired: BindingTarget[], before: BindingTarget[], what: string): Promise<void> {
    const changes = desired.map((d, i) => ({ d, b: before[i] })).filter((x): x is { d: BindingTarget; b: BindingTarget } => x.b !== undefined && !sameTarget(x.d, x.b));
    if (changes.length === 0) return;
    const parts = batches(changes, (batch) => commandFits('set-bindings', { bindings: batch.map((x) => x.d) }), 'switching the bindings');
    const touched: BindingTarget[] = [];
    for (const part of parts) {
      touched.push(...part.map((x) => x.b));
      let reply: Json;
      try {
        reply = await run('set-bindings', { bindings: part.map((x) => x.d) }, `switching ${part.map((x) => describeBinding(x.d)).join(', ')} to ${what}`);
      } catch (error) {
        const note = await restore(touched, '');
        const base = error instanceof ClassifiedError ? error : classified(FailureType.targetUnreachable, `${C}: ${error instanceof Error ? error.message : String(error)}`);
        throw classified(base.type, `${base.message} ${note}`, base.retryAfterMs);
      }
      if (reply['ok'] === true) continue;
      const failure = isObject(reply['failure']) ? reply['failure'] : undefined;
      const failed = failure ? part[num(failure, 'i')]?.d : undefined;
      if (!failure || !failed) throw unexpected('switching the bindings', reply);
      // The script put the failed binding back itself ("putBack"); the ones it replaced before are
      // put back by restore() below.
      const putBack = str(failure, 'putBack');
      const scriptNote = putBack && putBack !== 'ok' ? `The script removed ${describeBinding(failed)} and could not add it back with its previous certificate (${putBack.slice(0, 200)}). ` : '';
      const note = await restore(touched, scriptNote);
      const base = scriptFailure(C, `setting ${describeBinding(failed)} to ${what}`, str(failure, 'error'));
      throw classified(base.type, `${base.message} ${note}`);
    }
  }

  // A copy of the previous state next to the uploads: what a retried activation returns when the
  // first attempt switched the bindings but its result was lost.
  const savedPath = (thumbprint: string): string => sftpPathOf(`${options.uploadDirectory}\\certfleet-previous-${thumbprint}.json`);

  async function readSaved(ssh: SshSession, thumbprint: string): Promise<Map<string, BindingTarget>> {
    const saved = new Map<string, BindingTarget>();
    try {
      const files = new SftpFiles(await sftpOf(ssh), ssh, C);
      const data = await files.read(savedPath(thumbprint));
      const parsed: unknown = data ? JSON.parse(data.toString('utf8')) : undefined;
      if (isObject(parsed)) {
        for (const [key, value] of Object.entries(parsed)) {
          const target = typeof value === 'string' ? decodeStateEntry(key, value) : undefined;
          if (target) saved.set(key, target);
        }
      }
    } catch {
      // No copy (or unreadable): the current state is what we know.
    }
    return saved;
  }

  async function save(ssh: SshSession, thumbprint: string, previous: BindingTarget[]): Promise<void> {
    try {
      await putFile(await sftpOf(ssh), savedPath(thumbprint), Buffer.from(JSON.stringify(encodeState(previous)), 'utf8'));
    } catch {
      // Best effort: only a retry after a lost result needs it.
    }
  }

  function stagedOf(staged: StagedObjects): CertificateRef {
    const thumbprint = (staged['thumbprint'] ?? '').toUpperCase();
    const store = staged['store'] ?? '';
    if (!THUMBPRINT.test(thumbprint) || !STORE_NAME.test(store)) {
      throw classified(FailureType.validation, `${C}: the staged objects (${JSON.stringify(staged)}) are not a thumbprint and a store; stage the version again`);
    }
    return { thumbprint, store };
  }

  function checkMaterial(material: CertificateMaterial): void {
    let matches = false;
    try {
      matches = keyMatchesCertificate(material.keyPem, material.certPem);
    } catch (error) {
      throw classified(FailureType.validation, `${C}: the certificate or key of version ${material.versionId} cannot be read (${error instanceof Error ? error.message : String(error)})`);
    }
    if (!matches) throw classified(FailureType.validation, `${C}: the key of version ${material.versionId} does not belong to its certificate; nothing was uploaded`);
  }

  const deployer: Deployer = {
    async preflight() {
      ready();
      const checks: PreflightCheck[] = [];
      const changes: string[] = [];
      if (!options.hostKeySha256) {
        const presented = await hostKeyFingerprint(host, port, { component: C });
        checks.push({ name: 'SSH host key', ok: false, detail: unpinned(presented) });
        return { checks, changes };
      }
      const ssh = await open();
      checks.push({ name: 'SSH host key', ok: true, detail: `${ssh.options.hostKey.sha256} (${ssh.options.hostKey.keyType}) matches the pin` });
      checks.push({ name: 'SSH login', ok: true, detail: `logged in as ${login.username} with a ${ssh.options.method === 'key' ? 'key' : 'password'}` });
      const sftp = await ssh.sftp();
      checks.push({ name: 'SFTP', ok: sftp !== undefined, detail: sftp ? 'the SFTP subsystem answers (the PFX is uploaded with it)' : 'no SFTP subsystem: enable "Subsystem sftp sftp-server.exe" in sshd_config' });

      const probe = await run('probe', { store: options.store, uploadDirectory: options.uploadDirectory }, 'reading the server facts');
      const iis = isObject(probe['iis']) ? probe['iis'] : undefined;
      const iisMajor = iis ? num(iis, 'major') : -1;
      const iisVersion = iis ? `${num(iis, 'major')}.${num(iis, 'minor')}` : '';
      const psVersion = str(probe, 'psVersion');
      const build = num(probe, 'build');
      const os = str(probe, 'os') || 'Windows';
      const firmware = `${iis ? `IIS ${iisVersion}` : 'no IIS'} on ${os} (build ${build}), PowerShell ${psVersion || '?'}`;
      const psMajor = Number(psVersion.split('.')[0]);
      checks.push({ name: 'PowerShell', ok: psMajor >= 3, detail: psMajor >= 3 ? `Windows PowerShell ${psVersion}` : `PowerShell ${psVersion || '?'} is too old: 3.0 or later is needed (ConvertFrom-Json)` });
      checks.push({ name: 'IIS', ok: iis !== undefined, detail: iis ? `IIS ${iisVersion} (HKLM:\\SOFTWARE\\Microsoft\\InetStp)` : 'IIS is not installed: HKLM:\\SOFTWARE\\Microsoft\\InetStp is missing' });
      const mwa = probe['mwa'] === true;
      if (iis) checks.push({ name: 'IIS configuration API', ok: mwa, detail: mwa ? 'Microsoft.Web.Administration.dll is present' : 'Microsoft.Web.Administration.dll is missing from %windir%\\System32\\inetsrv (install the IIS Management Scripts and Tools)' });
      const admin = probe['isAdmin'] === true;
      checks.push({ name: 'Administrator', ok: admin, detail: admin ? `${str(probe, 'user')} is an administrator` : `${str(probe, 'user') || login.username} is not an administrator (or the token is filtered): importing into LocalMachine and changing IIS bindings need one` });
      const store = probe['store'] === true;
      checks.push({ name: 'Certificate store', ok: store, detail: store ? `Cert:\\LocalMachine\\${options.store} exists` : `Cert:\\LocalMachine\\${options.store} does not exist${options.store === 'WebHosting' ? ' (IIS 8 and later create it): choose My' : ''}` });
      const aesOk = options.legacyPfx || build >= FIRST_BUILD_WITH_AES_PFX;
      checks.push({
        name: 'PFX encryption',
        ok: aesOk,
        detail: options.legacyPfx
          ? 'legacy PFX (3DES/SHA-1), readable by every Windows version'
          : aesOk
            ? `AES-256 PFX (Windows build ${build} reads it)`
            : `Windows build ${build} cannot read AES-256 PFX files (builds before ${FIRST_BUILD_WITH_AES_PFX}, Windows Server 2016 1709): tick "Legacy PFX (3DES)"`,
      });
      checks.push({
        name: 'Upload directory',
        ok: true,
        detail: probe['uploadDirectory'] === true ? `${options.uploadDirectory} exists` : `${options.uploadDirectory} will be created (SYSTEM, Administrators and ${login.username} only)`,
      });
      if (binding.sni) {
        const sniOk = iisMajor >= FIRST_IIS_WITH_SNI;
        checks.push({ name: 'SNI', ok: sniOk, detail: sniOk ? `IIS ${iisVersion} supports SNI bindings` : `"Require SNI" needs IIS 8 or later; this is ${iis ? `IIS ${iisVersion}` : 'no IIS'}` });
      }
      if (iis && mwa) {
        const read = await readBindings(sites, []);
        const missing = missingMessage(sites, read.states, read.sites);
        sites.forEach((site, i) => {
          const state = read.states[i];
          if (!state?.found) return;
          const sni = (state.sslFlags & SSL_FLAG_SNI) !== 0;
          const flagNote = binding.sni && !sni ? ' (Require SNI turned on)' : '';
          checks.push({ name: `binding ${site.site} ${site.bindingInformation}`, ok: true, detail: `serves ${describeCertificate(state.hash, state.certificate)}${state.hash ? ` from ${state.store}` : ''}${sni ? ', SNI' : ''}` });
          changes.push(`${describeBinding(site)}: ${describeCertificate(state.hash, state.certificate)} → new certificate${flagNote}`);
        });
        if (missing) checks.push({ name: 'site bindings', ok: false, detail: missing });
        const central = sites.filter((_, i) => read.states[i]?.found && ((read.states[i]?.sslFlags ?? 0) & SSL_FLAG_CENTRAL_CERT_STORE) !== 0);
        if (central.length > 0) checks.push({ name: 'Centralized Certificate Store', ok: false, detail: centralStoreMessage(central) });
        if (changes.length > 0) changes.unshift(`import the new certificate into Cert:\\LocalMachine\\${options.store} (PFX uploaded to ${options.uploadDirectory}, deleted right after)`);
      }
      return { firmware, checks, changes };
    },

    async stage(material) {
      ready();
      checkMaterial(material);
      const thumbprint = thumbprintOf(material.certPem);
      const store = options.store;
      const where = `Cert:\\LocalMachine\\${store}`;
      const check = await run('stage-check', { thumbprint, store, uploadDirectory: options.uploadDirectory }, `looking for ${thumbprint} in ${where}`);
      if (check['present'] === true && check['hasPrivateKey'] === true) return { thumbprint, store };

      const ssh = await open();
      const sftp = await sftpOf(ssh);
      const password = randomBytes(24).toString('base64url');
      learnWireSecret(password);
      const friendlyName = friendlyNameOf(material);
      const pfx = buildPfx({ keyPem: material.keyPem, certPem: material.certPem, chainPems: material.chainPems, password, friendlyName, algorithm: options.legacyPfx ? '3des' : 'aes256' });
      const windowsPath = `${options.uploadDirectory}\\certfleet-${randomBytes(8).toString('hex')}.pfx`;
      const path = sftpPathOf(windowsPath);
      try {
        try {
          await putNewFile(sftp, path, pfx);
        } catch (error) {
          throw sftpError(`uploading the PFX to ${windowsPath}`, error);
        }
        const reply = await run('import', { path: windowsPath, password, store, thumbprint, friendlyName, chain: material.chainPems.length }, `importing ${thumbprint} into ${where}`, [password]);
        if (str(reply, 'thumbprint').toUpperCase() !== thumbprint || reply['hasPrivateKey'] !== true) {
          throw classified(FailureType.targetRejected, `${C}: the import into ${where} reported ${str(reply, 'thumbprint') || 'no thumbprint'} (private key: ${String(reply['hasPrivateKey'])}), expected ${thumbprint} with its key`);
        }
      } finally {
        // The script deletes the file in its `finally`; this covers a script that never ran or died.
        await new SftpFiles(sftp, ssh, C).remove(path).catch(() => false);
      }
      return { thumbprint, store };
    },

    async activate(staged): Promise<Activation> {
      ready();
      const target = stagedOf(staged);
      const read = await readBindings(sites, [target]);
      const missing = missingMessage(sites, read.states, read.sites);
      if (missing) throw classified(FailureType.targetRejected, `${C}: ${missing}`);
      const cert = read.certificates[0];
      const where = `Cert:\\LocalMachine\\${target.store}`;
      if (!cert?.present) throw classified(FailureType.targetRejected, `${C}: certificate ${target.thumbprint} is not in ${where}; stage the version again`);
      if (!cert.hasPrivateKey) throw classified(FailureType.targetRejected, `${C}: certificate ${target.thumbprint} in ${where} has no private key; delete it and stage the version again`);

      const central = sites.filter((_, i) => ((read.states[i]?.sslFlags ?? 0) & SSL_FLAG_CENTRAL_CERT_STORE) !== 0);
      if (central.length > 0) throw classified(FailureType.targetRejected, `${C}: ${centralStoreMessage(central)} Nothing was changed.`);
      const current = sites.map((site, i) => targetOf(site, read.states[i] as ReadState));
      // Every sslFlags bit the binding has is kept (the replacement carries it); "Require SNI" only adds bit 1.
      const desired = current.map((c) => ({ ...c, hash: target.thumbprint, store: target.store, sslFlags: binding.sni ? c.sslFlags | SSL_FLAG_SNI : c.sslFlags }));
      const ssh = await open();
      // Bindings already on the new certificate: a retry after a switch whose result was lost.
      const onNew = current.some((c) => c.hash === target.thumbprint);
      const saved = onNew ? await readSaved(ssh, target.thumbprint) : new Map<string, BindingTarget>();
      const previous = current.map((c) => (c.hash === target.thumbprint ? (saved.get(stateKey(c)) ?? c) : c));
      if (desired.every((d, i) => current[i] !== undefined && sameTarget(d, current[i]))) return { previous: encodeState(previous) };
      await save(ssh, target.thumbprint, previous);
      await applyAll(desired, current, `the new certificate ${short(target.thumbprint)}`);
      return { previous: encodeState(previous) };
    },

    async activationStatus() {
      return { state: 'done' };
    },

    async rollback(previous): Promise<Activation> {
      ready(false);
      const targets = decodeState(previous);
      if (targets.length === 0) return { previous: {} };
      const wanted = [...new Map(targets.filter((t) => t.hash).map((t) => [`${t.store}\\${t.hash}`, { store: t.store, thumbprint: t.hash }])).values()];
      const read = await readBindings(targets, wanted);
      const missing = missingMessage(targets, read.states, read.sites);
      if (missing) throw classified(FailureType.targetRejected, `${C}: cannot roll back: ${missing}`);
      const gone = read.certificates.filter((c) => !c.present || !c.hasPrivateKey);
      if (gone.length > 0) {
        throw classified(FailureType.targetRejected, `${C}: cannot roll back: ${gone.map((c) => `${c.thumbprint} is ${c.present ? 'without its private key' : 'no longer'} in Cert:\\LocalMachine\\${c.store}`).join('; ')}`);
      }
      const current = targets.map((t, i) => targetOf(t, read.states[i] as ReadState));
      await applyAll(targets, current, 'the previous certificates');
      return { previous: encodeState(current) };
    },

    async removeSuperseded(keep, candidates) {
      ready(false);
      const kept = new Set(keep.map((s) => (s['thumbprint'] ?? '').toUpperCase()));
      const byStore = new Map<string, Set<string>>();
      for (const candidate of candidates) {
        const thumbprint = (candidate['thumbprint'] ?? '').toUpperCase();
        const store = IIS_STORES.find((s) => s.toLowerCase() === (candidate['store'] ?? '').toLowerCase());
        if (!THUMBPRINT.test(thumbprint) || !store || kept.has(thumbprint)) continue;
        byStore.set(store, (byStore.get(store) ?? new Set<string>()).add(thumbprint));
      }
      const removed: string[] = [];
      for (const [store, set] of byStore) {
        const what = `removing superseded certificates from Cert:\\LocalMachine\\${store}`;
        for (const part of batches([...set], (batch) => commandFits('remove-certificates', { store, thumbprints: batch }), what)) {
          const reply = await run('remove-certificates', { store, thumbprints: part }, what);
          removed.push(...listOf(reply['removed']).filter((v): v is string => typeof v === 'string').map((v) => v.toUpperCase()));
        }
      }
      if (removed.length > 0) {
        // Their saved previous-binding copies are of no use any more (best effort).
        const ssh = await open();
        const files = new SftpFiles(await sftpOf(ssh), ssh, C);
        for (const thumbprint of removed) await files.remove(savedPath(thumbprint)).catch(() => false);
      }
      return removed;
    },

    async close() {
      const current = session;
      session = undefined;
      opened = undefined;
      if (current) await current.close();
    },
  };
  return deployer;
};
