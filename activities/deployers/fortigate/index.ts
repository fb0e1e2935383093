/**
 * FortiGate deployer: import under a new name per version → rebind → delete superseded objects
 * (docs/vendors/fortigate.md). FortiOS applies CMDB writes at once: no commit job.
 *
 * Staged objects: `cert` (the local certificate) and `ca0`, `ca1`, … (intermediates in the CA store,
 * which FortiOS uses to build the chain it serves). Binding state: `adminGui` (system global
 * `admin-server-cert`) and `sslVpn` (`vpn.ssl/settings` `servercert` in the VDOM).
 */
import { X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { createDeviceHttp } from '../device-http';
import { objectName, type NameRules } from '../naming';
import type { Activation, BindingState, Deployer, DeployerFactory, PreflightCheck, StagedObjects } from '../types';
import { FortiGateClient, type FortiEnvelope, type FortiResponse } from './client';
import { parseFortiGateBinding, parseFortiGateCredentials, parseFortiGateOptions, type FortiGateBinding, type FortiGateOptions } from './descriptor';

const COMPONENT = 'fortigate';

/** FortiOS object names: scripts keep them to 35 characters (docs/vendors/fortigate.md). */
export const FORTIGATE_NAME_RULES: NameRules = { maxLength: 35, allowed: /[A-Za-z0-9_.-]/ };

type Action = 'import' | 'ca-import' | 'read' | 'bind' | 'delete';

/** Readable meanings of the FortiOS error codes seen in the wild (docs/vendors/fortigate.md). */
export function describeFortiOsError(code: number, action: Action = 'read'): string {
  switch (code) {
    case -3:
      return 'the object does not exist';
    case -5:
      return 'an object with that name exists already';
    case -23:
      return action === 'delete' ? 'the object is still in use' : 'an identical certificate exists already';
    case -145:
      return 'invalid input format';
    case -327:
      return 'the certificate or key was refused (key size or format)';
    case -328:
      return 'the CA certificate exists already';
    default:
      return `error ${code}`;
  }
}

const ok = (r: FortiResponse): boolean => r.status === 200 && (r.envelope?.status === undefined || r.envelope.status === 'success');
const codeOf = (r: FortiResponse): number | undefined => (typeof r.envelope?.error === 'number' ? r.envelope.error : undefined);

/** Maps a non-success answer to a classified error. Never includes the token or a body. */
export function fortigateFailure(r: FortiResponse, what: string, action: Action): ClassifiedError {
  const prefix = `${COMPONENT}: ${what}`;
  if (r.status === 401) {
    return classified(FailureType.targetAuth, `${prefix}: the API token was rejected (HTTP 401). Check the token, that its REST API admin still exists, and that this server's address is in the admin's trusted hosts.`);
  }
  if (r.status === 403) {
    return classified(FailureType.targetPermission, `${prefix}: permission denied (HTTP 403). The REST API admin's profile needs read/write on System Configuration and VPN; with VDOMs its scope must be global.`);
  }
  const code = codeOf(r);
  if (code !== undefined) {
    const cli = r.envelope?.cli_error?.split('\n').find((line) => line.trim() !== '')?.trim();
    const meaning = describeFortiOsError(code, action);
    const detail = meaning === `error ${code}` ? meaning : `${meaning} (error ${code})`;
    return classified(FailureType.targetRejected, `${prefix}: ${detail}${cli ? `: ${cli}` : ''}`);
  }
  if (r.status >= 500 || r.status === 408 || r.status === 429) {
    return classified(FailureType.targetUnreachable, `${prefix}: the device answered HTTP ${r.status} without a FortiOS error code (busy or restarting); retrying may help`);
  }
  if (r.status === 404) return classified(FailureType.targetRejected, `${prefix}: not found (HTTP 404)`);
  return classified(FailureType.targetRejected, `${prefix}: refused with HTTP ${r.status}`);
}

/** `results` as a list: CMDB tables give arrays, singletons an object (or an array of one). */
function resultList(envelope: FortiEnvelope | undefined): Record<string, unknown>[] {
  const results = envelope?.results;
  const items = Array.isArray(results) ? results : results !== undefined ? [results] : [];
  return items.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null && !Array.isArray(item));
}

/** A certificate reference as FortiOS returns it: a name, `{q_origin_key}`/`{name}`, or a list of one. */
export function referencedName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return referencedName(value[0]);
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    const key = v['q_origin_key'] ?? v['name'];
    return typeof key === 'string' ? key : undefined;
  }
  return undefined;
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

function fingerprintOrUndefined(pem: unknown): string | undefined {
  if (typeof pem !== 'string' || !pem.includes('BEGIN CERTIFICATE')) return undefined;
  try {
    return fingerprint(pem);
  } catch {
    return undefined;
  }
}

interface StoredCert {
  name: string;
  /** Undefined when the firmware does not return the PEM. */
  fingerprint?: string;
  pem?: string;
}

const storedLocal = (item: Record<string, unknown>): StoredCert | undefined => {
  const name = typeof item['name'] === 'string' ? item['name'] : undefined;
  if (!name) return undefined;
  const pem = typeof item['certificate'] === 'string' ? item['certificate'] : undefined;
  const fp = fingerprintOrUndefined(pem);
  return { name, ...(fp ? { fingerprint: fp } : {}), ...(pem && fp ? { pem } : {}) };
};

/** CA objects keep their PEM in `ca` (CLI `set ca`); `certificate` is accepted as well. */
const storedCa = (item: Record<string, unknown>): StoredCert | undefined => {
  const name = typeof item['name'] === 'string' ? item['name'] : undefined;
  if (!name) return undefined;
  const pem = typeof item['ca'] === 'string' ? item['ca'] : typeof item['certificate'] === 'string' ? item['certificate'] : undefined;
  const fp = fingerprintOrUndefined(pem);
  return { name, ...(fp ? { fingerprint: fp } : {}), ...(pem && fp ? { pem } : {}) };
};

type Encoding = 'pem' | 'der';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
/** file_content: base64 of the PEM file (acme.sh) or of the DER leaf (7.6.6, caddy-forticertsync). */
const certContent = (pem: string, encoding: Encoding): string => (encoding === 'pem' ? b64(pem) : new X509Certificate(pem).raw.toString('base64'));
/** key_file_content: base64 of the PEM file, or the PEM body without its armour lines (= base64 DER). */
const keyContent = (pem: string, encoding: Encoding): string =>
  encoding === 'pem'
    ? b64(pem)
    : pem
        .split(/\r?\n/)
        .filter((line) => line.trim() !== '' && !line.startsWith('-----') && !/^[A-Za-z-]+:/.test(line))
        .join('');

const subjectOf = (pem: string): string => {
  try {
    return new X509Certificate(pem).subject.replace(/\n/g, ', ');
  } catch {
    return 'the CA certificate';
  }
};

const SSL_VPN_ABSENT =
  'SSL-VPN is not available on this FortiGate (vpn.ssl/settings answered 404; FortiOS 7.6 removed it on some models). Untick the SSL-VPN binding.';

export const createFortiGateDeployer: DeployerFactory = (ctx) => {
  const credentials = parseFortiGateCredentials(ctx.target.credentials);
  const options = parseFortiGateOptions(ctx.target.options);
  const bindingResult = parseFortiGateBinding(ctx.binding);
  const invalid = (problems: string[]): ClassifiedError | undefined =>
    problems.length > 0 ? classified(FailureType.validation, `${COMPONENT}: invalid target configuration: ${problems.join('; ')}`) : undefined;
  const targetProblems = [
    ...Object.entries(credentials.errors).map(([k, v]) => `credentials.${k}: ${v}`),
    ...Object.entries(options.errors).map(([k, v]) => `options.${k}: ${v}`),
  ];
  /** "Test connection" runs before any deployment exists, so preflight needs no binding. */
  const targetError = invalid(targetProblems);
  const configError = invalid([...targetProblems, ...Object.entries(bindingResult.errors).map(([k, v]) => `binding.${k}: ${v}`)]);
  const hasBinding = Object.keys(bindingResult.errors).length === 0;
  const { vdom, sslVpnPort } = options.value as unknown as FortiGateOptions;
  const binding = bindingResult.value as unknown as FortiGateBinding;
  const token = typeof credentials.value['token'] === 'string' ? credentials.value['token'] : '';

  const http = createDeviceHttp(ctx.target, COMPONENT);
  const client = new FortiGateClient(http, { token, vdom });
  /** Certificates that serve the admin GUI must live in the global store (docs/vendors/fortigate.md). */
  const scope: 'global' | 'vdom' = binding.adminGui ? 'global' : 'vdom';
  let encoding: Encoding = 'pem';

  const ready = (needsBinding = true): void => {
    const error = needsBinding ? configError : targetError;
    if (error) throw error;
  };

  const expect = async (request: Promise<FortiResponse>, what: string, action: Action): Promise<FortiResponse> => {
    const response = await request;
    if (!ok(response)) throw fortigateFailure(response, what, action);
    return response;
  };

  async function listLocal(): Promise<StoredCert[]> {
    const r = await expect(client.listLocalCertificates(), `list local certificates in VDOM ${vdom}`, 'read');
    return resultList(r.envelope).map(storedLocal).filter((c): c is StoredCert => c !== undefined);
  }

  async function listCas(): Promise<StoredCert[]> {
    const r = await expect(client.listCaCertificates(), `list CA certificates in VDOM ${vdom}`, 'read');
    return resultList(r.envelope).map(storedCa).filter((c): c is StoredCert => c !== undefined);
  }

  async function getLocal(name: string): Promise<StoredCert | undefined> {
    const r = await client.getLocalCertificate(name);
    if (r.status === 404) return undefined;
    if (!ok(r)) throw fortigateFailure(r, `read certificate ${name}`, 'read');
    const item = resultList(r.envelope)[0];
    return item ? storedLocal(item) : undefined;
  }

  async function adminServerCert(): Promise<string> {
    const r = await expect(client.getSystemGlobal(), 'read system global settings', 'read');
    return referencedName(resultList(r.envelope)[0]?.['admin-server-cert']) ?? '';
  }

  /** The SSL-VPN settings, or undefined where the firmware has no SSL-VPN (404). */
  async function sslVpnSettings(): Promise<{ servercert: string; port?: number } | undefined> {
    const r = await client.getSslVpnSettings();
    if (r.status === 404) return undefined;
    if (!ok(r)) throw fortigateFailure(r, `read SSL-VPN settings in VDOM ${vdom}`, 'read');
    const item = resultList(r.envelope)[0] ?? {};
    const port = typeof item['port'] === 'number' ? item['port'] : undefined;
    return { servercert: referencedName(item['servercert']) ?? '', ...(port !== undefined ? { port } : {}) };
  }

  /** Sends an import; on -145 switches to base64 DER once (docs/vendors/fortigate.md) and resends. */
  async function importWithFallback(send: (encoding: Encoding) => Promise<FortiResponse>): Promise<FortiResponse> {
    const first = await send(encoding);
    if (codeOf(first) !== -145 || encoding === 'der') return first;
    encoding = 'der';
    return send(encoding);
  }

  /** Imports the leaf and key under `name`; returns the name of the object holding this certificate. */
  async function importLeaf(name: string, certPem: string, keyPem: string): Promise<string> {
    const wanted = fingerprint(certPem);
    const r = await importWithFallback((enc) =>
      client.importLocalCertificate({ type: 'regular', certname: name, scope, file_content: certContent(certPem, enc), key_file_content: keyContent(keyPem, enc) }),
    );
    if (ok(r)) return name;
    const code = codeOf(r);
    if (code === -23) {
      // FortiOS refuses identical content under any name (docs/vendors/fortigate.md): reuse it once we see it is ours.
      const same = (await listLocal()).find((c) => c.fingerprint === wanted);
      if (same) return same.name;
      throw classified(
        FailureType.targetRejected,
        `${COMPONENT}: import certificate ${name}: ${describeFortiOsError(-23, 'import')} (error -23), but no certificate visible in VDOM ${vdom} has this content. Delete the other copy or deploy through its VDOM.`,
      );
    }
    if (code === -5) {
      // The name was taken meanwhile (a concurrent attempt): fine if it holds this very certificate.
      const existing = await getLocal(name);
      if (existing && (existing.fingerprint === undefined || existing.fingerprint === wanted)) return name;
    }
    throw fortigateFailure(r, `import certificate ${name}`, 'import');
  }

  /**
   * Makes sure the CA store holds `pem`; returns the CA object's name (FortiOS names it itself), or
   * undefined when the firmware lists CA objects without their PEM, so ours cannot be told apart.
   */
  async function ensureCa(pem: string, known: StoredCert[]): Promise<{ name?: string; known: StoredCert[] }> {
    const wanted = fingerprint(pem);
    const present = known.find((c) => c.fingerprint === wanted);
    if (present) return { name: present.name, known };
    const r = await importWithFallback((enc) => client.importCaCertificate({ import_method: 'file', scope, file_content: certContent(pem, enc) }));
    if (!ok(r) && codeOf(r) !== -328) throw fortigateFailure(r, `import CA certificate ${subjectOf(pem)}`, 'ca-import');
    const refreshed = await listCas();
    const found = refreshed.find((c) => c.fingerprint === wanted);
    if (!found && refreshed.some((c) => c.fingerprint === undefined)) return { known: refreshed };
    if (!found) {
      throw classified(
        FailureType.targetRejected,
        `${COMPONENT}: the CA certificate ${subjectOf(pem)} was ${ok(r) ? 'imported' : 'reported as present (error -328)'} but is not listed in VDOM ${vdom}`,
      );
    }
    return { name: found.name, known: refreshed };
  }

  const putAdmin = (name: string): Promise<FortiResponse> => expect(client.setAdminServerCert(name), `bind ${name} to the admin GUI`, 'bind');
  const putSslVpn = (name: string): Promise<FortiResponse> => expect(client.setSslVpnServerCert(name), `bind ${name} to SSL-VPN in VDOM ${vdom}`, 'bind');

  /**
   * Applies the wanted bindings, all or nothing: SSL-VPN first, the admin GUI last (its listener
   * restarts). When a step fails, what was already changed is put back before throwing.
   */
  async function bind(wanted: { adminGui?: string; sslVpn?: string }): Promise<BindingState> {
    const previous: BindingState = {};
    if (wanted.sslVpn !== undefined) {
      const settings = await sslVpnSettings();
      if (!settings) throw classified(FailureType.targetRejected, `${COMPONENT}: ${SSL_VPN_ABSENT}`);
      previous['sslVpn'] = settings.servercert;
    }
    if (wanted.adminGui !== undefined) previous['adminGui'] = await adminServerCert();

    const undo: { what: string; run: () => Promise<unknown> }[] = [];
    try {
      const oldVpn = previous['sslVpn'];
      if (wanted.sslVpn !== undefined && oldVpn !== wanted.sslVpn) {
        await putSslVpn(wanted.sslVpn);
        if (oldVpn) undo.push({ what: `SSL-VPN back to ${oldVpn}`, run: () => putSslVpn(oldVpn) });
      }
      const oldAdmin = previous['adminGui'];
      const newAdmin = wanted.adminGui;
      if (newAdmin !== undefined && oldAdmin !== newAdmin) {
        try {
          await putAdmin(newAdmin);
        } catch (error) {
          // The PUT may have been applied before the admin listener restarted: check, and revert if so.
          if (oldAdmin) {
            undo.push({
              what: `admin GUI back to ${oldAdmin}`,
              run: async () => {
                if ((await adminServerCert()) === newAdmin) await putAdmin(oldAdmin);
              },
            });
          }
          throw error;
        }
      }
    } catch (error) {
      const failed: string[] = [];
      for (const step of undo.reverse()) {
        try {
          await step.run();
        } catch (undoError) {
          failed.push(`${step.what}: ${undoError instanceof Error ? undoError.message : String(undoError)}`);
        }
      }
      if (failed.length > 0 && error instanceof ClassifiedError) {
        throw classified(error.type, `${error.message}; restoring the previous binding failed too (${failed.join('; ')})`, error.retryAfterMs);
      }
      throw error;
    }
    return previous;
  }

  const deployer: Deployer = {
    async preflight() {
      ready(false);
      const asked: FortiGateBinding = hasBinding ? binding : { adminGui: false, sslVpn: false };
      const checks: PreflightCheck[] = [];
      const changes: string[] = [];
      const trustDetail = 'caPem' in ctx.target.trust ? 'verified against the configured CA' : 'matches the pinned SHA-256 fingerprint';
      checks.push({ name: 'management TLS', ok: true, detail: `the management certificate of ${ctx.target.host}:${ctx.target.port} ${trustDetail}` });

      const global = await client.getSystemGlobal();
      if (global.status === 404) {
        checks.push({ name: 'VDOM', ok: false, detail: `VDOM "${vdom}" was not found (system global answered 404). Check the VDOM option.` });
        return { checks, changes };
      }
      if (!ok(global)) throw fortigateFailure(global, 'read system global settings', 'read');
      checks.push({ name: 'API token', ok: true, detail: `accepted; VDOM ${vdom} readable` });
      const env = global.envelope;
      const firmware = env?.version ? `FortiOS ${env.version}${env.build !== undefined ? ` build ${env.build}` : ''}` : undefined;
      checks.push({ name: 'firmware', ok: firmware !== undefined, detail: firmware ?? 'the device did not report its version' });

      const adminCert = referencedName(resultList(env)[0]?.['admin-server-cert']) ?? '';
      if (asked.adminGui) {
        checks.push({ name: 'admin GUI binding', ok: true, detail: `admin-server-cert is ${adminCert || '(none)'}` });
        changes.push(`admin GUI: ${adminCert || '(none)'} → new certificate`);
      }

      const settings = await sslVpnSettings();
      if (!settings) {
        checks.push({ name: 'SSL-VPN', ok: !asked.sslVpn, detail: asked.sslVpn ? SSL_VPN_ABSENT : 'not available on this firmware (not part of this binding)' });
      } else if (asked.sslVpn) {
        const portOk = settings.port === undefined || settings.port === sslVpnPort;
        checks.push({
          name: 'SSL-VPN',
          ok: portOk,
          detail: portOk
            ? `servercert is ${settings.servercert || '(none)'}${settings.port !== undefined ? `, portal on port ${settings.port}` : ''}`
            : `the portal listens on port ${settings.port} but the target's SSL-VPN port is ${sslVpnPort}: the TLS check after a deploy would look at the wrong port`,
        });
        changes.push(`SSL-VPN (VDOM ${vdom}): ${settings.servercert || '(none)'} → new certificate`);
      } else {
        checks.push({ name: 'SSL-VPN', ok: true, detail: `available, servercert ${settings.servercert || '(none)'} (not part of this binding)` });
      }

      if (!hasBinding) checks.push({ name: 'bindings', ok: true, detail: 'no deployment names a service yet: a deploy would change nothing' });
      const locals = await listLocal();
      checks.push({ name: 'certificate store', ok: true, detail: `${locals.filter((c) => !c.name.startsWith('Fortinet_')).length} user certificate(s) visible in VDOM ${vdom}` });
      return { ...(firmware ? { firmware } : {}), checks, changes };
    },

    async stage(material) {
      ready();
      const name = objectName(material.commonName, material.serialHex, FORTIGATE_NAME_RULES);
      const wanted = fingerprint(material.certPem);
      const staged: StagedObjects = {};
      const existing = await getLocal(name);
      if (existing) {
        // A retry: reuse the object when it holds this certificate (a firmware without the PEM in the
        // CMDB answer leaves only the name, which carries the serial).
        if (existing.fingerprint !== undefined && existing.fingerprint !== wanted) {
          throw classified(FailureType.targetRejected, `${COMPONENT}: a different certificate is already named ${name} on the device; it was left alone. Rename or delete it, then retry.`);
        }
        staged['cert'] = name;
      } else {
        staged['cert'] = await importLeaf(name, material.certPem, material.keyPem);
      }
      let known: StoredCert[] | undefined;
      for (const [index, pem] of material.chainPems.entries()) {
        const result = await ensureCa(pem, known ?? (known = await listCas()));
        // Unidentifiable CA objects are left out: they are then never deleted by removeSuperseded.
        if (result.name) staged[`ca${index}`] = result.name;
        known = result.known;
      }
      return staged;
    },

    async activate(staged) {
      ready();
      const name = staged['cert'];
      if (!name) throw classified(FailureType.validation, `${COMPONENT}: nothing staged to activate (no "cert" object)`);
      const previous = await bind({ ...(binding.sslVpn ? { sslVpn: name } : {}), ...(binding.adminGui ? { adminGui: name } : {}) });
      return { previous };
    },

    async activationStatus() {
      return { state: 'done' };
    },

    async rollback(previous): Promise<Activation> {
      ready(false);
      const wanted: { adminGui?: string; sslVpn?: string } = {};
      if (previous['sslVpn']) wanted.sslVpn = previous['sslVpn'];
      if (previous['adminGui']) wanted.adminGui = previous['adminGui'];
      return { previous: await bind(wanted) };
    },

    async removeSuperseded(keep, candidates) {
      ready(false);
      const kept = new Set(keep.flatMap((s) => Object.values(s)));
      const bound = new Set<string>([await adminServerCert()]);
      const settings = await sslVpnSettings();
      if (settings) bound.add(settings.servercert);

      const locals = await listLocal();
      const cas = await listCas();
      const localNames = new Set(locals.map((c) => c.name));
      const caNames = new Set(cas.map((c) => c.name));
      const deleted: string[] = [];
      const refused = (r: FortiResponse): boolean => codeOf(r) !== undefined && r.status !== 401 && r.status !== 403;

      const certCandidates = new Set(candidates.map((s) => s['cert']).filter((n): n is string => !!n));
      for (const name of certCandidates) {
        if (kept.has(name) || bound.has(name) || !localNames.has(name)) continue;
        const r = await client.deleteLocalCertificate(name);
        if (ok(r)) deleted.push(name);
        else if (r.status === 404 || refused(r)) continue; // gone already, or still used by something else: leave it
        else throw fortigateFailure(r, `delete certificate ${name}`, 'delete');
      }

      // A CA goes only when no kept version names it and no certificate left on the device chains to it.
      const remaining = locals.filter((c) => !deleted.includes(c.name));
      const leaves = remaining.map((c) => (c.pem ? new X509Certificate(c.pem) : undefined));
      const chainsTo = (ca: StoredCert): boolean => {
        if (!ca.pem || leaves.some((leaf) => leaf === undefined)) return true; // cannot tell: keep it
        const x509 = new X509Certificate(ca.pem);
        return leaves.some((leaf) => leaf !== undefined && leaf.checkIssued(x509) && leaf.verify(x509.publicKey));
      };
      const caCandidates = new Set(candidates.flatMap((s) => Object.entries(s).filter(([key]) => /^ca\d+$/.test(key)).map(([, name]) => name)));
      for (const name of caCandidates) {
        const ca = cas.find((c) => c.name === name);
        if (kept.has(name) || !caNames.has(name) || !ca || chainsTo(ca)) continue;
        const r = await client.deleteCaCertificate(name);
        if (ok(r)) deleted.push(name);
        else if (r.status === 404 || refused(r)) continue;
        else throw fortigateFailure(r, `delete CA certificate ${name}`, 'delete');
      }
      return deleted;
    },

    close: () => http.close(),
  };
  return deployer;
};
