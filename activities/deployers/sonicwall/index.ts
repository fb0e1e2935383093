/**
 * SonicWall deployer (SonicOS API 6.5 / 7.x; the calls, sources and assumptions are listed in
 * docs/vendors/sonicwall.md).
 *
 * SonicOS allows a single API session, and only one administrator in config mode (docs/vendors/sonicwall.md). So:
 * - every method logs in, does its work, commits, and logs out again, also when it fails (a session
 *   left open blocks everyone, human or CertFleet, until the idle timeout); methods of one instance
 *   never overlap;
 * - a login refused because someone else is logged in is DEVICE_SESSION_BUSY (retried later), with
 *   what the firewall says about the holder. CertFleet only pre-empts (`override: true`) when the
 *   target's "override" option is on; it is off by default;
 * - every change is staged by SonicOS until `POST config/pending`, and dropped at logout or timeout
 *   (docs/vendors/sonicwall.md), so each logical step commits before it returns.
 *
 * - sessions are not cookies (docs/vendors/sonicwall.md): the client answers SonicOS' per-request Digest "session
 *   security" when the firewall asks for it, and works without it where the admin turned it off;
 * - before the first login of an attempt, a session a crashed attempt left behind is ended
 *   (`DELETE /api/sonicos/auth` with our credentials, SonicWallClient.endLeftoverSession); the
 *   workflow's per-device lease makes sure no live attempt of ours holds it then.
 *
 * stage: the firmware decides the path (docs/vendors/sonicwall.md). SonicOS 7: the PKCS#12 is uploaded in the documented
 * `PUT import/certificates/cert-key-pair/name/{NAME}/password/{PASSWD}` (multipart). SonicOS 6.5
 * (no upload path): it is put on the target's FTP server under a random name, the firewall is told to
 * import it from there (`cert-key-pair-ftp`), and the file is deleted at once (also when the
 * import fails). Both: 3DES (the legacy encryption old SonicOS requires), a random
 * password of letters and digits (pitfall 4), committed, then read back by name (serial from the
 * certificate's details). The object name derives from the version (objectName), so a retry finds
 * and reuses it.
 * activate / rollback: both bindings (`administration/global` web management, `ssl-vpn/server/base`)
 * are changed read-modify-write and committed in ONE commit, so they change together or not at all;
 * a failed step discards the staged changes. A previous `use_self_signed` is restored as such.
 * removeSuperseded: deletes certificates only the superseded versions used and that nothing binds.
 *
 * Staged objects: `cert` (the certificate name). Binding state: `webManagement` / `sslVpn` (a
 * certificate name) or `webManagementSelfSigned` / `sslVpnSelfSigned` = 'true'.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { buildPfx } from '../../crypto/pem';
import { classified, ClassifiedError } from '../../errors';
import { createDeviceHttp } from '../device-http';
import { objectName, type NameRules } from '../naming';
import type { Activation, BindingState, Deployer, DeployerFactory, PreflightCheck } from '../types';
import { SonicWallClient, type SonicResponse } from './client';
import {
  parseSonicWallBinding,
  parseSonicWallCredentials,
  parseSonicWallOptions,
  type SonicWallBinding,
  type SonicWallCredentials,
  type SonicWallOptions,
} from './descriptor';
import { FtpDrop } from './ftp-drop';
import { learnWireSecret } from '../wire-transcript';

const COMPONENT = 'sonicwall';

/**
 * Certificate names: letters, digits, '_' and '-' only (they travel in URL paths).
 * GUESS: 32 characters; no source gives a SonicOS limit.
 */
export const SONICWALL_NAME_RULES: NameRules = { maxLength: 32, allowed: /[A-Za-z0-9_-]/ };

export interface SonicWallDeployerSettings {
  /** Retry hint for DEVICE_SESSION_BUSY. Default 60 s. */
  busyRetryAfterMs?: number;
  /** The import call returns after the firewall has downloaded the file. Default 120 s. */
  importTimeoutMs?: number;
  /** Per FTP operation. Default 30 s. */
  ftpTimeoutMs?: number;
}

type Service = 'webManagement' | 'sslVpn';
/** SSL-VPN first: the web management change replaces the certificate this very API presents. */
const SERVICES: Service[] = ['sslVpn', 'webManagement'];
const LABEL: Record<Service, string> = { webManagement: 'web management', sslVpn: 'SSL-VPN' };
/** Where each service keeps its certificate reference in the OpenAPI bodies. */
const CERT_PATH: Record<Service, string[]> = {
  webManagement: ['administration', 'web_management', 'certificate'],
  sslVpn: ['ssl_vpn', 'server', 'certificate'],
};

/** A certificate reference as SonicOS writes it (docs/vendors/sonicwall.md): `{name}` or `{use_self_signed: true}`. */
export type CertificateRef = { name: string } | { selfSigned: true };

export function certificateRef(value: unknown): CertificateRef | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['name'] === 'string' && v['name'] !== '') return { name: v['name'] };
  if (v['use_self_signed'] === true) return { selfSigned: true };
  return undefined;
}

const refBody = (ref: CertificateRef): Record<string, unknown> => ('name' in ref ? { name: ref.name } : { use_self_signed: true });
const describeRef = (ref: CertificateRef | undefined): string => (!ref ? '(none)' : 'name' in ref ? ref.name : 'self-signed');
const sameRef = (a: CertificateRef | undefined, b: CertificateRef | undefined): boolean =>
  !!a && !!b && ('name' in a ? 'name' in b && a.name === b.name : 'selfSigned' in b);
const nameOf = (ref: CertificateRef | undefined): string | undefined => (ref && 'name' in ref ? ref.name : undefined);

export function toBindingState(refs: Partial<Record<Service, CertificateRef>>): BindingState {
  const state: BindingState = {};
  for (const service of SERVICES) {
    const ref = refs[service];
    if (!ref) continue;
    if ('name' in ref) state[service] = ref.name;
    else state[`${service}SelfSigned`] = 'true';
  }
  return state;
}

export function fromBindingState(state: BindingState): Partial<Record<Service, CertificateRef>> {
  const refs: Partial<Record<Service, CertificateRef>> = {};
  for (const service of SERVICES) {
    if (state[`${service}SelfSigned`] === 'true') refs[service] = { selfSigned: true };
    else if (state[service]) refs[service] = { name: state[service] };
  }
  return refs;
}

/** CHAP digest: MD5 over the bytes of the hex id, the UTF-8 password and the bytes of the hex challenge (sonicos-automation). */
export function chapDigest(id: string, password: string, challenge: string): string {
  return createHash('md5').update(Buffer.from(id, 'hex')).update(Buffer.from(password, 'utf8')).update(Buffer.from(challenge, 'hex')).digest('hex');
}

/**
 * A login refused because another session holds the device. DOCUMENTED: that it is refused ("a single
 * SonicOS API session is currently allowed", API guide "Client Authentication") and that `override`
 * pre-empts (sonicwall/sonicos-automation; 7.0.1 OpenAPI `auth.override`). ASSUMPTION (no source shows
 * the refusal's body): `E_BUSY` is what the fake answers; the patterns cover wordings SonicOS might
 * use. docs/vendors/sonicwall.md, assumption A2.
 */
export function isSessionBusy(r: SonicResponse): boolean {
  const code = r.info?.code ?? '';
  const message = r.info?.message ?? '';
  return (
    /^E_(BUSY|SESSION|PREEMPT|CONFIG_MODE|ADMIN_LOGGED_IN)/i.test(code) ||
    /already logged in|another (administrator|admin|user|session)|is logged in|session (is )?(active|open|in use)|in config(uration)? mode|pre-?empt/i.test(message)
  );
}

/** A session the device ended because another administrator pre-empted it (override). */
const isPreempted = (r: SonicResponse): boolean => /pre-?empt|another (administrator|admin)|overrid/i.test(`${r.info?.code ?? ''} ${r.info?.message ?? ''}`);

const ok = (r: SonicResponse): boolean => r.status === 200 && r.success !== false;
const deviceSays = (r: SonicResponse): string => {
  const code = r.info?.code;
  const message = r.info?.message?.trim();
  if (code && message) return `${code}: ${message}`;
  return code ?? message ?? `HTTP ${r.status}`;
};
const isDisabled = (r: SonicResponse): boolean => r.info?.code === 'E_DISABLED' || /service disabled/i.test(r.info?.message ?? '');

const API_DISABLED =
  'the SonicOS API is disabled on the firewall (E_DISABLED "Service disabled."). Enable it under Device → Settings → Administration → SonicOS API, with Basic or CHAP authentication.';

/** A certificate as `reporting/certificates` lists it: a name (the list has no serial). */
interface ListedCertificate {
  name: string;
}

const normaliseSerial = (raw: string): string => raw.replace(/[^0-9a-fA-F]/g, '').toLowerCase().replace(/^0+/, '') || '0';

/**
 * The 7.0.1 OpenAPI list (`show_status_certs_list`): a top-level array of `{certificate, type,
 * validated, expires_on, expired_on}` (generalsle1n/SonicWallGen7 api/openapi.yaml).
 * Anything else is not a certificate list: undefined.
 */
export function listedCertificates(list: unknown): ListedCertificate[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: ListedCertificate[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const name = (item as Record<string, unknown>)['certificate'];
    if (typeof name === 'string' && name !== '') out.push({ name });
  }
  return out;
}

/** How many changes `GET config/pending` still lists (ASSUMPTION: a `pending` array; an empty body = none). */
export function pendingCount(r: SonicResponse): number {
  const pending = r.body?.['pending'] ?? r.list;
  return Array.isArray(pending) ? pending.length : 0;
}

/** The import path a firmware takes (docs/vendors/sonicwall.md): SonicOS 7 and later upload; 6.x pulls over FTP. */
export type ImportPath = 'upload' | 'ftp';

/** Major and minor of "SonicOS 7.0.1-5145" / "SonicOS Enhanced 6.5.4.4-44n"; undefined when unreadable. */
export function firmwareRelease(firmware: string | undefined): { major: number; minor: number } | undefined {
  const match = /(\d+)\.(\d+)/.exec(firmware ?? '');
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** ASSUMPTION: an unreadable version is treated as SonicOS 7 (the current release line). */
export const importPathFor = (firmware: string | undefined): ImportPath => ((firmwareRelease(firmware)?.major ?? 7) >= 7 ? 'upload' : 'ftp');

function getIn(body: Record<string, unknown> | undefined, path: string[]): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A copy of `body` (without the status envelope) with `value` at `path`. */
function withValue(body: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  delete copy['status'];
  let current: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) current[key] = {};
    current = current[key] as Record<string, unknown>;
  }
  current[path[path.length - 1] ?? 'certificate'] = value;
  return copy;
}

/** Letters and digits only: nothing to encode in the import URL (docs/vendors/sonicwall.md). */
function safePassword(length = 24): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

interface ServiceState {
  /** The whole object as read, for read-modify-write. */
  body: Record<string, unknown>;
  ref?: CertificateRef;
  /** ssl_vpn.server.port, when reported. */
  port?: number;
}

export function createSonicWallDeployerWith(settings: SonicWallDeployerSettings = {}): DeployerFactory {
  const busyRetryAfterMs = settings.busyRetryAfterMs ?? 60_000;
  const importTimeoutMs = settings.importTimeoutMs ?? 120_000;

  return (ctx) => {
    const credentialsResult = parseSonicWallCredentials(ctx.target.credentials);
    const optionsResult = parseSonicWallOptions(ctx.target.options);
    const bindingResult = parseSonicWallBinding(ctx.binding);
    const invalid = (problems: string[]): ClassifiedError | undefined =>
      problems.length > 0 ? classified(FailureType.validation, `${COMPONENT}: invalid target configuration: ${problems.join('; ')}`) : undefined;
    const targetProblems = [
      ...Object.entries(credentialsResult.errors).map(([k, v]) => `credentials.${k}: ${v}`),
      ...Object.entries(optionsResult.errors).map(([k, v]) => `options.${k}: ${v}`),
    ];
    /** "Test connection" runs before any deployment exists, so preflight and cleanup need no binding. */
    const targetError = invalid(targetProblems);
    const configError = invalid([...targetProblems, ...Object.entries(bindingResult.errors).map(([k, v]) => `binding.${k}: ${v}`)]);
    const hasBinding = Object.keys(bindingResult.errors).length === 0;
    const credentials = credentialsResult.value as Partial<SonicWallCredentials>;
    const options = optionsResult.value as unknown as SonicWallOptions;
    const binding = bindingResult.value as unknown as SonicWallBinding;
    const username = credentials.username ?? '';
    const password = credentials.password ?? '';

    const http = createDeviceHttp(ctx.target, COMPONENT);
    const client = new SonicWallClient(http);
    /** The FTP drop, when the target names one (needed for SonicOS 6.5 only). */
    const ftp = !options.ftpHost
      ? undefined
      : new FtpDrop(
      {
        host: options.ftpHost,
        port: options.ftpPort,
        user: options.ftpUser,
        password: credentials.ftpPassword ?? '',
        directory: options.ftpDirectory,
        urlHost: options.ftpUrlHost,
        ...(settings.ftpTimeoutMs !== undefined ? { timeoutMs: settings.ftpTimeoutMs } : {}),
      },
      COMPONENT,
    );
    /** Files this target uploads start with this, so a later attempt can remove leftovers of its own only. */
    const filePrefix = `certfleet-${createHash('sha256').update(ctx.target.id).digest('hex').slice(0, 8)}-`;
    const secrets = (): string[] => [password, credentials.ftpPassword ?? ''].filter((s) => s.length >= 4);
    const scrub = (message: string): string => secrets().reduce((m, s) => m.split(s).join('***'), message);

    const ready = (needsBinding = true): void => {
      const error = needsBinding ? configError : targetError;
      if (error) throw error;
    };

    /** Methods of one instance run one after another: a second login would be refused by our own session. */
    let queue: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
      const run = queue.then(work, work);
      queue = run.catch(() => undefined);
      return run;
    };

    /** Maps a non-success answer within a session to a classified error. */
    function failure(r: SonicResponse, what: string): ClassifiedError {
      const prefix = `${COMPONENT}: ${what}`;
      if (r.status === 403 && isDisabled(r)) return classified(FailureType.targetPermission, `${prefix}: ${API_DISABLED}`);
      if (r.status === 401) {
        client.forgetSession();
        if (isPreempted(r)) {
          return classified(
            FailureType.deviceSessionBusy,
            scrub(`${prefix}: another administrator pre-empted CertFleet's session (${deviceSays(r)}); the firewall dropped the uncommitted changes. CertFleet will retry.`),
            busyRetryAfterMs,
          );
        }
        return classified(FailureType.targetUnreachable, scrub(`${prefix}: the firewall ended the session (${deviceSays(r)}); retrying with a new session may help`));
      }
      if (r.status === 403) return classified(FailureType.targetPermission, scrub(`${prefix}: permission denied (${deviceSays(r)}). The account must be a full administrator.`));
      if (r.status >= 500 || r.status === 408 || r.status === 429) {
        return classified(FailureType.targetUnreachable, scrub(`${prefix}: the firewall answered HTTP ${r.status} (${deviceSays(r)}); retrying may help`));
      }
      if (r.status === 404 && !r.info) return classified(FailureType.targetRejected, `${prefix}: not found (HTTP 404); this SonicOS may not offer that API`);
      return classified(FailureType.targetRejected, scrub(`${prefix}: ${deviceSays(r)}`));
    }

    const expect = (r: SonicResponse, what: string): SonicResponse => {
      if (!ok(r)) throw failure(r, what);
      return r;
    };

    function loginFailure(r: SonicResponse, override: boolean): ClassifiedError {
      const prefix = `${COMPONENT}: login as "${username}"`;
      if (r.status === 403 && isDisabled(r)) return classified(FailureType.targetPermission, `${prefix}: ${API_DISABLED}`);
      if (isSessionBusy(r)) {
        return classified(
          FailureType.deviceSessionBusy,
          scrub(
            `${prefix} was refused because another session holds the firewall: "${r.info?.message?.trim() || r.info?.code || `HTTP ${r.status}`}". SonicOS allows one API session and one administrator in config mode at a time; ${
              override
                ? 'override was requested but not granted'
                : options.override
                  ? 'CertFleet never pre-empts anyone for a connection test'
                  : 'CertFleet does not pre-empt it (the target\'s "override" option is off)'
            } and will retry.`,
          ),
          busyRetryAfterMs,
        );
      }
      if (r.status === 401 && !r.body) {
        return classified(
          FailureType.targetAuth,
          `${prefix}: refused with an empty HTTP 401. ${
            options.authMethod === 'basic'
              ? 'Basic authentication is probably disabled on this firewall (Digest-only appliances answer this way): enable Basic under SonicOS API, or set the target to CHAP.'
              : 'Check the user name and password.'
          }`,
        );
      }
      if (r.status === 401) return classified(FailureType.targetAuth, scrub(`${prefix} was refused (${deviceSays(r)}). Check the user name and password, and that the account is a full administrator.`));
      if (r.status === 404) return classified(FailureType.targetRejected, `${prefix}: /api/sonicos/auth answered 404: this firewall has no SonicOS API (Gen5), or the port is not its management port.`);
      return failure(r, `login as "${username}"`);
    }

    /**
     * True until this attempt's first login, and again after a logout that did not go through: a
     * session of ours may be open on the firewall (a crashed attempt's, or the one we could not end).
     */
    let mayHaveLeftSession = true;

    async function login(override: boolean): Promise<void> {
      if (mayHaveLeftSession) {
        // A session we left behind blocks the firewall's single API session (docs/vendors/sonicwall.md): end it first.
        // Best effort: the login's own answer tells what is still in the way.
        await client.endLeftoverSession(username, password).catch(() => undefined);
        mayHaveLeftSession = false;
      }
      let r: SonicResponse;
      if (options.authMethod === 'chap') {
        const challenge = await client.chapChallenge();
        const id = challenge.body?.['id'];
        const value = challenge.body?.['challenge'];
        if (challenge.status === 403 && isDisabled(challenge)) throw classified(FailureType.targetPermission, `${COMPONENT}: CHAP challenge: ${API_DISABLED}`);
        if (!challenge.body) {
          // SonicWall's own tooling sees a non-JSON answer here while an administrator is logged in.
          throw classified(
            FailureType.deviceSessionBusy,
            `${COMPONENT}: the CHAP challenge request got no JSON answer (HTTP ${challenge.status}); SonicOS answers so while another administrator is logged in. CertFleet will retry.`,
            busyRetryAfterMs,
          );
        }
        if (typeof id !== 'string' || typeof value !== 'string' || !/^[0-9a-f]+$/i.test(id) || !/^[0-9a-f]+$/i.test(value)) {
          if (!ok(challenge)) throw loginFailure(challenge, override);
          throw classified(FailureType.targetRejected, `${COMPONENT}: the CHAP challenge answer has no hex "id" and "challenge"; is CHAP enabled under SonicOS API?`);
        }
        r = await client.loginChap({ override, id, user: username, digest: chapDigest(id, password, value) }, password);
      } else {
        r = await client.loginBasic(username, password, override);
      }
      if (!ok(r)) throw loginFailure(r, override);
      if (r.info?.auth_code === 'API_AUTH_PASSWORD_UPDATE') {
        await logoutQuietly();
        throw classified(FailureType.targetAuth, `${COMPONENT}: the firewall requires a new password for "${username}" before the API can be used (API_AUTH_PASSWORD_UPDATE). Log in once in the web UI, change it, and update the target.`);
      }
    }

    /** Logs out; a transport failure is retried once. Never throws: the session then ends at the idle timeout. */
    async function logoutQuietly(): Promise<void> {
      for (let attempt = 0; attempt < 2 && client.hasSession; attempt++) {
        try {
          const r = await client.logout();
          if (r.status >= 500) mayHaveLeftSession = true;
          return;
        } catch (error) {
          if (!(error instanceof ClassifiedError && error.type === FailureType.targetUnreachable)) break;
        }
      }
      if (client.hasSession) mayHaveLeftSession = true;
      client.forgetSession();
    }

    /**
     * Login → work → logout, the logout also after a failure. `override` (pre-empt whoever is logged
     * in) only when the target asks for it and never for a read-only look (preflight).
     */
    const session = <T>(work: () => Promise<T>, mayOverride = true): Promise<T> =>
      exclusive(async () => {
        await login(mayOverride && options.override);
        try {
          return await work();
        } finally {
          await logoutQuietly();
        }
      });

    async function discardQuietly(): Promise<void> {
      try {
        if (client.hasSession) await client.discardPending();
      } catch {
        // Logout drops pending changes as well (docs/vendors/sonicwall.md).
      }
    }

    /** POST config/pending, then GET it: nothing may be left staged ([sw-doc] Commit Pending Configuration). */
    async function commit(what: string): Promise<void> {
      const r = await client.commitPending();
      if (!ok(r)) {
        const error = failure(r, `commit (${what})`);
        if (error.type === FailureType.targetRejected) throw classified(FailureType.commitFailed, error.message);
        throw error;
      }
      const left = expect(await client.pendingChanges(), `read the pending changes after the commit (${what})`);
      const pending = pendingCount(left);
      if (pending > 0) {
        throw classified(FailureType.commitFailed, `${COMPONENT}: commit (${what}): the firewall accepted the commit but still lists ${pending} pending change(s); nothing more was changed. Check Device → Settings → pending configuration.`);
      }
    }

    async function readService(service: Service, required: boolean): Promise<ServiceState | undefined> {
      const r = service === 'webManagement' ? await client.getAdministration() : await client.getSslVpnServer();
      if (r.status === 404 && service === 'sslVpn' && !required) return undefined;
      if (r.status === 404 && service === 'sslVpn') {
        throw classified(FailureType.targetRejected, `${COMPONENT}: SSL-VPN is not available on this firewall (ssl-vpn/server/base answered 404). Untick the SSL-VPN binding.`);
      }
      expect(r, `read the ${LABEL[service]} settings`);
      const body = r.body ?? {};
      const ref = certificateRef(getIn(body, CERT_PATH[service]));
      const port = service === 'sslVpn' ? getIn(body, ['ssl_vpn', 'server', 'port']) : undefined;
      return { body, ...(ref ? { ref } : {}), ...(typeof port === 'number' ? { port } : {}) };
    }

    async function listCertificates(): Promise<ListedCertificate[]> {
      const r = expect(await client.listCertificates(), 'list certificates');
      const listed = listedCertificates(r.list);
      if (!listed) throw classified(FailureType.targetRejected, `${COMPONENT}: list certificates: the firewall's answer is not the documented list (a JSON array of certificates)`);
      return listed;
    }

    /**
     * The serial of an imported certificate, read back from its details (`reporting/certificates/name`,
     * `certificate_serial_number`); undefined when the firmware does not say (ASSUMPTION: older
     * releases may not offer the details call).
     */
    async function serialOf(name: string): Promise<string | undefined> {
      const r = await client.certificateDetail(name);
      if (!ok(r)) return undefined;
      const raw = r.body?.['certificate_serial_number'];
      return typeof raw === 'string' && raw !== '' ? normaliseSerial(raw) : undefined;
    }

    /** The firmware version string, and the import path it takes. */
    async function firmwareOf(): Promise<{ firmware?: string; model?: string; path: ImportPath }> {
      const version = expect(await client.version(), 'read the firmware version');
      const fw = version.body?.['firmware_version'];
      const model = version.body?.['model'];
      const firmware = typeof fw === 'string' && fw ? fw : undefined;
      return { ...(firmware ? { firmware } : {}), ...(typeof model === 'string' && model ? { model } : {}), path: importPathFor(firmware) };
    }

    const noFtpFor65 = (firmware: string | undefined): ClassifiedError =>
      classified(
        FailureType.validation,
        `${COMPONENT}: the firewall runs ${firmware ?? 'SonicOS 6.x'}, which has no certificate upload in its API: it must download the certificate from an FTP server. Enter the FTP server, user and password on the target (or upgrade to SonicOS 7).`,
      );

    /**
     * Puts every service in `wanted` on its certificate and commits once. Returns what was bound
     * before. Nothing changes when a step fails: the staged changes are discarded (and die with the
     * session anyway). When the commit's answer is lost, a new session checks what the firewall has.
     */
    async function bind(wanted: Partial<Record<Service, CertificateRef>>, what: string): Promise<BindingState> {
      const previous: Partial<Record<Service, CertificateRef>> = {};
      let uncertain: ClassifiedError | undefined;
      await session(async () => {
        const states: Partial<Record<Service, ServiceState>> = {};
        for (const service of SERVICES) {
          if (!wanted[service]) continue;
          const state = await readService(service, true);
          if (state) states[service] = state;
          if (state?.ref) previous[service] = state.ref;
        }
        let changed = false;
        try {
          for (const service of SERVICES) {
            const ref = wanted[service];
            const state = states[service];
            if (!ref || !state || sameRef(state.ref, ref)) continue;
            const body = withValue(state.body, CERT_PATH[service], refBody(ref));
            const put = service === 'webManagement' ? await client.putAdministration(body) : await client.putSslVpnServer(body);
            expect(put, `set the ${LABEL[service]} certificate to ${describeRef(ref)}`);
            changed = true;
          }
          if (changed) await commit(what);
        } catch (error) {
          if (changed && error instanceof ClassifiedError && error.type === FailureType.targetUnreachable && client.hasSession) {
            uncertain = error; // the commit may have been applied before the connection broke
            return;
          }
          await discardQuietly();
          throw error;
        }
      });
      if (uncertain) {
        const applied = await session(async () => {
          const now: Partial<Record<Service, CertificateRef>> = {};
          for (const service of SERVICES) if (wanted[service]) now[service] = (await readService(service, true))?.ref;
          return now;
        });
        const done = SERVICES.filter((s) => wanted[s] && sameRef(applied[s], wanted[s]));
        const asked = SERVICES.filter((s) => wanted[s]);
        if (done.length === asked.length) return toBindingState(previous);
        throw uncertain;
      }
      return toBindingState(previous);
    }

    /**
     * SonicOS 6.5: the PKCS#12 goes to the FTP drop under a random name, the firewall pulls it
     * (`cert-key-pair-ftp`), and the file is deleted at once, also when the import fails. Should the
     * deletion fail, nothing is committed (logout drops the import) and the retry's sweep removes it.
     */
    async function importOverFtp(drop: FtpDrop, name: string, pfx: Buffer, pfxPassword: string): Promise<SonicResponse> {
      await drop.sweep(filePrefix);
      const file = await drop.upload(`${filePrefix}${randomBytes(8).toString('hex')}.p12`, pfx);
      let imported: SonicResponse;
      try {
        imported = await client.importCertKeyPairFtp(name, pfxPassword, file.url, importTimeoutMs);
      } catch (error) {
        await drop.remove(file.remotePath).catch(() => undefined); // the import's error is the one to report
        throw error;
      }
      try {
        await drop.remove(file.remotePath);
      } catch (error) {
        if (!(error instanceof ClassifiedError)) throw error;
        throw classified(error.type, `${error.message}. The import was not committed; the next attempt removes the file first.`, error.retryAfterMs);
      }
      return imported;
    }

    const deployer: Deployer = {
      async preflight() {
        ready(false);
        const asked: SonicWallBinding = hasBinding ? binding : { webManagement: false, sslVpn: false };
        const checks: PreflightCheck[] = [];
        const changes: string[] = [];
        let firmware: string | undefined;
        let path: ImportPath | undefined;
        const trustDetail = 'caPem' in ctx.target.trust ? 'verified against the configured CA' : 'matches the pinned SHA-256 fingerprint';

        const tlsCheck = (): void => {
          if (!checks.some((c) => c.name === 'management TLS')) {
            checks.push({ name: 'management TLS', ok: true, detail: `the management certificate of ${ctx.target.host}:${ctx.target.port} ${trustDetail}` });
          }
        };
        try {
          await session(async () => {
            tlsCheck();
            checks.push({ name: 'login', ok: true, detail: `logged in as ${username} (${options.authMethod === 'chap' ? 'CHAP' : 'Basic'}, without pre-empting anyone); logged out again` });

            const found = await firmwareOf();
            firmware = found.firmware;
            path = found.path;
            checks.push({
              name: 'firmware',
              ok: firmware !== undefined,
              detail: firmware ? `${firmware}${found.model ? ` on ${found.model}` : ''}` : 'the firewall did not report its version (treated as SonicOS 7)',
            });
            checks.push({
              name: 'session security',
              ok: true,
              detail:
                client.sessionSecurity === 'on'
                  ? `on: every API call carries an RFC 7616 Digest header (${client.digestAlgorithm ?? 'SHA-256'}), as SonicOS 7 does by default`
                  : 'off: the firewall accepts API calls without a per-request Digest header (the admin turned session security off)',
            });
            checks.push(
              path === 'upload'
                ? { name: 'import path', ok: true, detail: `upload: ${firmware ?? 'this firmware'} takes the certificate in the API call itself (PUT import/certificates/cert-key-pair); no FTP server is needed${ftp ? ' (the FTP server on this target is not used)' : ''}` }
                : {
                    name: 'import path',
                    ok: ftp !== undefined,
                    detail: ftp
                      ? `FTP: ${firmware ?? 'SonicOS 6.x'} has no certificate upload in its API, so the firewall downloads it from ${ftp.describe(options.ftpUrlHost)}`
                      : noFtpFor65(firmware).message.replace(`${COMPONENT}: `, ''),
                  },
            );

            const web = await readService('webManagement', true);
            if (asked.webManagement) {
              checks.push({ name: 'web management binding', ok: true, detail: `web management uses ${describeRef(web?.ref)}` });
              changes.push(`web management: ${describeRef(web?.ref)} → new certificate`);
            }
            const vpn = await readService('sslVpn', false);
            if (!vpn) {
              checks.push({ name: 'SSL-VPN', ok: !asked.sslVpn, detail: asked.sslVpn ? 'SSL-VPN is not available on this firewall (404). Untick the SSL-VPN binding.' : 'not available on this firewall (not part of this binding)' });
            } else if (asked.sslVpn) {
              const portOk = vpn.port === undefined || vpn.port === options.sslVpnPort;
              checks.push({
                name: 'SSL-VPN',
                ok: portOk,
                detail: portOk
                  ? `SSL-VPN uses ${describeRef(vpn.ref)}${vpn.port !== undefined ? `, portal on port ${vpn.port}` : ''}`
                  : `the portal listens on port ${vpn.port} but the target's SSL-VPN port is ${options.sslVpnPort}: the TLS check after a deploy would look at the wrong port`,
              });
              changes.push(`SSL-VPN: ${describeRef(vpn.ref)} → new certificate`);
            } else {
              checks.push({ name: 'SSL-VPN', ok: true, detail: `SSL-VPN uses ${describeRef(vpn.ref)} (not part of this binding)` });
            }
            const certificates = await listCertificates();
            checks.push({ name: 'certificate store', ok: true, detail: `${certificates.length} imported certificate(s) listed` });
          }, false);
        } catch (error) {
          if (!(error instanceof ClassifiedError && error.type === FailureType.deviceSessionBusy)) throw error;
          // Busy is a state, not a fault of the target's settings: report it as a failed check and
          // still check the FTP side. (Deploy steps throw DEVICE_SESSION_BUSY and are retried.)
          tlsCheck();
          checks.push({ name: 'login', ok: false, detail: `the firewall is busy: ${error.message.replace(`${COMPONENT}: `, '')}` });
        }
        if (!hasBinding) checks.push({ name: 'bindings', ok: true, detail: 'no deployment names a service yet: a deploy would change nothing' });

        if (ftp && path !== 'upload') {
          try {
            await ftp.probe(`${filePrefix}probe-${randomBytes(4).toString('hex')}.txt`);
            checks.push({
              name: 'FTP drop',
              ok: true,
              detail: `uploaded and deleted a test file in ${ftp.describe()} (this changes nothing on the firewall). The firewall downloads certificates from ${ftp.describe(options.ftpUrlHost)}; whether it can reach that address shows at the first deploy.`,
            });
          } catch (error) {
            checks.push({ name: 'FTP drop', ok: false, detail: error instanceof Error ? error.message.replace(`${COMPONENT}: `, '') : String(error) });
          }
        }
        return { ...(firmware ? { firmware } : {}), checks, changes };
      },

      async stage(material) {
        ready();
        const name = objectName(material.commonName, material.serialHex, SONICWALL_NAME_RULES);
        const serial = normaliseSerial(material.serialHex);
        /** Ours when listed under its name and, where the details give a serial, with our serial. */
        const reuse = async (listed: ListedCertificate[]): Promise<boolean> => {
          if (!listed.some((c) => c.name === name)) return false;
          const seen = await serialOf(name);
          if (seen !== undefined && seen !== serial) {
            throw classified(FailureType.targetRejected, `${COMPONENT}: a different certificate is already named ${name} on the firewall; it was left alone. Rename or delete it, then retry.`);
          }
          return true;
        };
        return session(async () => {
          const { firmware, path } = await firmwareOf();
          if (await reuse(await listCertificates())) return { cert: name };
          if (path === 'ftp' && !ftp) throw noFtpFor65(firmware);

          const pfxPassword = safePassword();
          // It travels in the import path (and the FTP variant's): never into a wire transcript.
          learnWireSecret(pfxPassword);
          const pfx = buildPfx({ keyPem: material.keyPem, certPem: material.certPem, chainPems: material.chainPems, password: pfxPassword, friendlyName: name, algorithm: '3des' });
          const imported = ftp && path === 'ftp' ? await importOverFtp(ftp, name, pfx, pfxPassword) : await client.importCertKeyPair(name, pfxPassword, pfx, importTimeoutMs);
          if (!ok(imported)) {
            if (/exist/i.test(`${imported.info?.code ?? ''} ${imported.info?.message ?? ''}`) && (await reuse(await listCertificates()))) return { cert: name };
            const error = failure(imported, path === 'ftp' ? `import ${name} over FTP` : `import ${name}`);
            await discardQuietly();
            if (error.type !== FailureType.targetRejected || path !== 'ftp') throw error;
            throw classified(
              FailureType.targetRejected,
              `${error.message}. Check that the firewall reaches ${options.ftpUrlHost}:${options.ftpPort} (option "FTP server as the firewall sees it") and may log in there.`,
            );
          }
          await commit(`import ${name}`);
          if (!(await reuse(await listCertificates()))) throw classified(FailureType.targetRejected, `${COMPONENT}: the firewall accepted the import of ${name} but does not list it afterwards`);
          return { cert: name };
        });
      },
      async activate(staged) {
        ready();
        const name = staged['cert'];
        if (!name) throw classified(FailureType.validation, `${COMPONENT}: nothing staged to activate (no "cert" object)`);
        const wanted: Partial<Record<Service, CertificateRef>> = {};
        if (binding.sslVpn) wanted.sslVpn = { name };
        if (binding.webManagement) wanted.webManagement = { name };
        return { previous: await bind(wanted, `bind ${name}`) };
      },

      async activationStatus() {
        return { state: 'done' };
      },

      async rollback(previous): Promise<Activation> {
        ready(false);
        const wanted = fromBindingState(previous);
        if (Object.keys(wanted).length === 0) throw classified(FailureType.validation, `${COMPONENT}: the rollback state names no binding`);
        return { previous: await bind(wanted, 'restore the previous binding') };
      },

      async removeSuperseded(keep, candidates) {
        ready(false);
        const kept = new Set(keep.flatMap((s) => Object.values(s)));
        const wanted = [...new Set(candidates.map((s) => s['cert']).filter((n): n is string => !!n))].filter((n) => !kept.has(n));
        if (wanted.length === 0) return [];
        return session(async () => {
          const bound = new Set<string>();
          for (const service of SERVICES) {
            const name = nameOf((await readService(service, false))?.ref);
            if (name) bound.add(name);
          }
          const present = new Set((await listCertificates()).map((c) => c.name));
          const deleted: string[] = [];
          try {
            for (const name of wanted) {
              if (bound.has(name) || !present.has(name)) continue;
              const r = await client.deleteCertificate(name);
              if (ok(r)) deleted.push(name);
              else if (r.status === 404 || (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 403 && r.info)) continue; // gone, or still used by something else
              else throw failure(r, `delete certificate ${name}`);
            }
            if (deleted.length > 0) await commit(`delete ${deleted.join(', ')}`);
          } catch (error) {
            await discardQuietly();
            throw error;
          }
          return deleted;
        });
      },

      async close() {
        await exclusive(() => logoutQuietly());
        await http.close();
      },
    };
    return deployer;
  };
}

export const createSonicWallDeployer: DeployerFactory = createSonicWallDeployerWith();
