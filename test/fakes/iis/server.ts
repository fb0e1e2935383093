/**
 * A SIMULATED Windows IIS server reached through OpenSSH, for deployer tests
 * (docs/vendors/iis.md). No Windows machine was available to build this against: it is an
 * ssh2 `Server` on a free loopback port that behaves the way the vendor notes describe, and every
 * PowerShell detail in it is an assumption checked against those notes, not against Windows.
 *
 * - SSH: its own ed25519 host key, public-key login for a test key and password login.
 * - SFTP: an in-memory Windows disk ("/C:/ProgramData/…" paths, ./file-system.ts).
 * - exec: only `powershell.exe -NoProfile -NonInteractive -EncodedCommand <base64 UTF-16LE>` is run;
 *   anything else gets cmd.exe's "is not recognized" (exit 1), longer than 8191 characters gets
 *   "The command line is too long.". The script must be one of CertFleet's (./powershell.ts); the
 *   simulator then does what it would do and prints one JSON line (exit 0), or a PowerShell error on
 *   stderr (exit 1, optionally as CLIXML).
 * - State: certificate stores (My, WebHosting, CA, Root: thumbprint → certificate, key, whether the
 *   key is usable by HTTP.sys), sites with https bindings (certificate hash, store, sslFlags), the
 *   HTTP.sys SSL bindings derived from them (`ipport=0.0.0.0:443`, SNI `hostnameport=host:443`), and
 *   a real TLS listener per binding port serving the bound certificate (./http-sys.ts).
 * - Import really opens the uploaded PFX with the password from the script (./pkcs12.ts) and checks
 *   its thumbprint; Windows builds before 16299 refuse AES-256 PFX files as Windows does ("The
 *   specified network password is not correct.", GUESSED wording for that case).
 * - Binding changes: a script that edits Binding.CertificateHash in place is refused at
 *   CommitChanges() with 0x80070520 (win-acme issue #371; see setOne). CertFleet's script removes
 *   the binding and adds a new one (win-acme IISClient.UpdateBinding, Certify
 *   ServerProviderIIS.AddOrUpdateSiteBinding, Posh-ACME.Deploy Set-IISCertificate.ps1); when that
 *   commit fails the binding is missing until the script's Put-Back adds the old one again
 *   (ASSUMPTION, see setOne).
 * - Scripted failures: `logonSessionError(on)` (imports succeed, but binding the certificates
 *   imported while it is on fails with 0x80070520 as CommitChanges() reports it), `failNext(op,
 *   stderr)` (the next run of an operation fails with that stderr; for set-bindings optionally after
 *   switching some bindings, as a script killed half-way would), `failCommit(binding, message,
 *   times)` (the next commits of one binding fail: the new binding is not created, and with times
 *   >= 2 the old one cannot be put back either).
 *
 * Every behaviour names its source or says ASSUMPTION / GUESSED; docs/vendors/iis.md lists them.
 */
import { opensslSelfSigned } from '../../support/openssl-self-signed';
import { ed25519KeyPair } from '../../support/ssh-keys';
import { X509Certificate } from 'node:crypto';
import { Server, utils, type Connection, type ServerChannel } from 'ssh2';
import { identifyHostKey } from '../../../activities/deployers/ssh/pin';
import type { VerifyEndpoint } from '../../../activities/deployers/types';
import type { FakeDeviceView } from '../../support/deployer-contract';
import { freePort } from '../../support/free-port';
import { windowsPath, WindowsDisk } from './file-system';
import { HttpSysListeners, type ServedMaterial } from './http-sys';
import { Pkcs12ReadError } from '../../support/pkcs12-forge';
import { openPfx, thumbprintOfDer } from './pkcs12';
import { LOGON_SESSION_MESSAGE, methodException, psError, recognise, toClixml, type Operation } from './powershell';

export interface FakeIisBindingSpec {
  /** Host header ('' or omitted: none). */
  host?: string;
  /** Require SNI (sslFlags 1). */
  sni?: boolean;
  /**
   * The whole sslFlags value, overriding `sni` (Microsoft.Web.Administration.SslFlags: 1 Sni,
   * 2 CentralCertStore, 4 DisableHTTP2, 8 DisableOCSPStp, … as Posh-ACME.Deploy's
   * Set-IISCertificate.ps1 lists them). Only bit 1 changes how the simulator serves; ASSUMPTION:
   * a CentralCertStore binding is not served from a share (the deployer refuses such bindings).
   */
  sslFlags?: number;
  /** Bindings with the same group share one port; default: a port of their own. */
  portGroup?: string;
  /** Bound to the initial certificate at start (default true). */
  bound?: boolean;
}

export interface FakeIisSiteSpec {
  name: string;
  bindings: FakeIisBindingSpec[];
}

export interface FakeIisOptions {
  sites?: FakeIisSiteSpec[];
  /** Login name; default 'Administrator'. */
  username?: string;
  /** Password login; default: a random one. */
  password?: string;
  psVersion?: string;
  productName?: string;
  /** Windows build (CurrentBuildNumber), default 17763 (Windows Server 2019). */
  build?: number;
  /** IIS version, default 10.0; null: IIS not installed. */
  iis?: { major: number; minor: number } | null;
  isAdmin?: boolean;
  /** Errors on stderr as CLIXML instead of plain text. */
  clixmlErrors?: boolean;
  /** The import script's `finally` does not delete the PFX (a script that died): the deployer's SFTP removal must. */
  keepUploads?: boolean;
  /** Stores that exist, default My, WebHosting, CA, Root. */
  stores?: string[];
}

export interface FakeCertificate {
  thumbprint: string;
  store: string;
  certPem: string;
  keyPem?: string;
  chainPems: string[];
  hasPrivateKey: boolean;
  /** False: the key is where HTTP.sys cannot read it (binding fails with 0x80070520). */
  keyUsable: boolean;
  friendlyName: string;
  subject: string;
  notAfter: Date;
}

export interface FakeBinding {
  site: string;
  bindingInformation: string;
  port: number;
  host: string;
  /** SHA-1 thumbprint, uppercase; '' for none. */
  hash: string;
  store: string;
  sslFlags: number;
}

export interface ScriptRecord {
  operation: Operation;
  command: string;
  script: string;
  params: Record<string, unknown>;
}

export interface FakeIis {
  host: string;
  port: number;
  username: string;
  password: string;
  /** OpenSSH-format ed25519 private key whose public key is authorized. */
  privateKey: string;
  wrongPrivateKey: string;
  hostKeySha256: string;
  hostKeyHex: string;
  /** The self-signed certificate bound everywhere at start. */
  initialThumbprint: string;
  initialFingerprintSha256: string;
  /** Binding information of a site's nth https binding ("*:<port>:<host>"). */
  bindingInformation(site: string, index?: number): string;
  /** The `Site|binding` entry for the deployer's binding form. */
  entry(site: string, index?: number): string;
  /** Where a site's nth binding is served. */
  endpoint(site: string, index?: number): VerifyEndpoint;
  binding(site: string, bindingInformation: string): FakeBinding | undefined;
  /** Sets a binding's certificate directly (an administrator in IIS Manager). */
  setBinding(site: string, bindingInformation: string, hash: string, store?: string): void;
  certificates(store: string): FakeCertificate[];
  certificate(store: string, thumbprint: string): FakeCertificate | undefined;
  /** HTTP.sys SSL bindings: "ipport=0.0.0.0:443" / "hostnameport=www.example.com:443" → thumbprint. */
  sslBindings(): Record<string, string>;
  disk: WindowsDisk;
  scripts(): ScriptRecord[];
  /** Every exec command received, verbatim. */
  commands(): string[];
  authAttempts(): number;
  logonSessionError(on: boolean): void;
  /**
   * The next run of `operation` fails with `stderr` (exit 1); "{password}" in it is replaced by the
   * import's PFX password (a script that echoes its parameters). For set-bindings, `afterBindings`
   * bindings are switched first and not put back (a script killed half-way).
   */
  failNext(operation: Operation, stderr: string, options?: { afterBindings?: number }): void;
  /**
   * The next `times` (default 1) CommitChanges() of this binding throw `message`. Inside the
   * set-bindings script the binding is then missing (removed, new one not added) until the
   * script's Put-Back adds the old one again; with times >= 2 the Put-Back fails too.
   */
  failCommit(bindingInformation: string, message: string, times?: number): void;
  setAdmin(isAdmin: boolean): void;
  view(): FakeDeviceView;
  stop: () => Promise<void>;
}

const DEFAULT_SITES: FakeIisSiteSpec[] = [{ name: 'Default Web Site', bindings: [{}] }];
const ACL_LOG = 'acl';

interface Site {
  name: string;
  bindings: FakeBinding[];
}

interface Reply {
  code: number;
  stdout: string;
  stderr: string;
}

interface BindingStateOf {
  hash: string;
  store: string;
  sslFlags: number;
}

/** A failed CommitChanges() inside Set-One, and what the script's Put-Back reported ('ok' or its error). */
class CommitFailure extends Error {
  constructor(
    message: string,
    readonly putBack: string,
  ) {
    super(message);
  }
}

/** A script that failed: exit code 1 and PowerShell's error record on stderr. */
const failed = (stderr: string): Reply => ({ code: 1, stdout: '', stderr });
/** Without IIS, loading Microsoft.Web.Administration.dll fails (ASSUMPTION: the LoadFrom error text). */
const withoutIis = (): Reply =>
  failed(
    psError(
      methodException('LoadFrom', 1, "Could not load file or assembly 'Microsoft.Web.Administration.dll'"),
      'FileNotFoundException',
    ),
  );
const json = (value: unknown): Reply => ({ code: 0, stdout: `${JSON.stringify(value)}\r\n`, stderr: '' });
const str = (o: Record<string, unknown>, key: string): string => (typeof o[key] === 'string' ? o[key] : '');
const objects = (value: unknown): Record<string, unknown>[] =>
  (Array.isArray(value) ? value : []).filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object');

function selfSigned(): { certPem: string; keyPem: string } {
  return opensslSelfSigned({ subject: '/CN=initial.iis.test', subjectAltName: 'DNS:initial.iis.test' });
}

/** The HTTP.sys SSL binding a site binding maps to. */
// Naming of HTTP.sys SSL bindings: non-SNI `0.0.0.0!443` (ipport), SNI `!443!host` (hostnameport):
// Posh-ACME.Deploy Set-IISCertificateOld.ps1 comment table (docs/vendors/iis.md); `netsh http show sslcert` prints
// them as ipport= / hostnameport= (fast2host KB 279).
const sslKeyOf = (b: { port: number; host: string; sslFlags: number }): string =>
  (b.sslFlags & 1) !== 0 && b.host ? `hostnameport=${b.host}:${b.port}` : `ipport=0.0.0.0:${b.port}`;

export async function startFakeIis(options: FakeIisOptions = {}): Promise<FakeIis> {
  const username = options.username ?? 'Administrator';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const hostKey = ed25519KeyPair();
  const clientKey = ed25519KeyPair();
  const wrongKey = ed25519KeyPair();
  const authorized = utils.parseKey(clientKey.public);
  if (authorized instanceof Error) throw authorized;
  const hostPublic = utils.parseKey(hostKey.public);
  if (hostPublic instanceof Error) throw hostPublic;
  const hostIdentity = identifyHostKey(hostPublic.getPublicSSH());

  // Probe values: defaults chosen for tests (ASSUMPTION: the shape of a Windows Server 2019 answer).
  const settings = {
    psVersion: options.psVersion ?? '5.1.17763.1432',
    productName: options.productName ?? 'Windows Server 2019 Datacenter',
    build: options.build ?? 17763,
    iis: options.iis === undefined ? { major: 10, minor: 0 } : options.iis,
    isAdmin: options.isAdmin ?? true,
  };
  const disk = new WindowsDisk();
  const stores = new Map<string, Map<string, FakeCertificate>>();
  // LocalMachine stores: My, WebHosting (IIS 8+, win-acme CertificateStore.cs DefaultStore), CA, Root.
  for (const name of options.stores ?? ['My', 'WebHosting', 'CA', 'Root']) stores.set(name.toLowerCase(), new Map());
  const storeOf = (name: string): Map<string, FakeCertificate> | undefined => stores.get(name.toLowerCase());
  const storeName = (name: string): string =>
    (options.stores ?? ['My', 'WebHosting', 'CA', 'Root']).find((s) => s.toLowerCase() === name.toLowerCase()) ?? name;

  const scripts: ScriptRecord[] = [];
  const commands: string[] = [];
  let auths = 0;
  let execMutations = 0;
  let logonSession = false;
  const failures = new Map<Operation, { stderr: string; afterBindings?: number }>();
  const commitFailures = new Map<string, { message: string; times: number }>();

  // The initial certificate, bound everywhere (test setup: a server that already serves HTTPS).
  // Store names are case-insensitive, as Windows' certificate provider paths are (ASSUMPTION).
  const initial = selfSigned();
  const initialX509 = new X509Certificate(initial.certPem);
  const initialThumbprint = thumbprintOfDer(initialX509.raw);
  storeOf('My')?.set(initialThumbprint, {
    thumbprint: initialThumbprint,
    store: 'My',
    certPem: initial.certPem,
    keyPem: initial.keyPem,
    chainPems: [],
    hasPrivateKey: true,
    keyUsable: true,
    friendlyName: 'initial',
    subject: 'CN=initial.iis.test',
    notAfter: new Date(initialX509.validTo),
  });

  // Sites and ports.
  const groupPorts = new Map<string, number>();
  const sites: Site[] = [];
  for (const spec of options.sites ?? DEFAULT_SITES) {
    const bindings: FakeBinding[] = [];
    for (const b of spec.bindings) {
      let port = b.portGroup ? groupPorts.get(b.portGroup) : undefined;
      if (port === undefined) {
        port = await freePort();
        if (b.portGroup) groupPorts.set(b.portGroup, port);
      }
      const host = (b.host ?? '').toLowerCase();
      const bound = b.bound !== false;
      bindings.push({
        site: spec.name,
        bindingInformation: `*:${port}:${host}`,
        port,
        host,
        hash: bound ? initialThumbprint : '',
        store: bound ? 'My' : '',
        sslFlags: b.sslFlags ?? (b.sni ? 1 : 0),
      });
    }
    sites.push({ name: spec.name, bindings });
  }
  const allBindings = (): FakeBinding[] => sites.flatMap((s) => s.bindings);
  const siteOf = (name: string): Site | undefined => sites.find((s) => s.name.toLowerCase() === name.toLowerCase());
  const findBinding = (site: string, info: string): FakeBinding | undefined =>
    siteOf(site)?.bindings.find((b) => b.bindingInformation.toLowerCase() === info.toLowerCase());

  // HTTP.sys SSL bindings, derived from the site bindings as IIS writes them on commit
  // (win-acme #64 stack trace: CommitChanges → BindingManager.Save → HttpApiWrapper.CreateSSLBinding).
  // Non-SNI bindings on one IP:port share one entry (serverfault 610841).
  const httpSys = new Map<string, { hash: string; store: string }>();
  for (const b of allBindings()) if (b.hash) httpSys.set(sslKeyOf(b), { hash: b.hash, store: b.store });

  /** TEST SWITCH (not device behaviour): serve the bound leaf without its intermediates. */
  let leafOnly = false;
  // HTTP.sys picks the SNI entry for the name sent, else the port's ipport entry (Posh-ACME.Deploy
  // Set-IISCertificateOld.ps1 table); a certificate whose key HTTP.sys cannot use is not served
  // (win-acme #172: bound but not working; ASSUMPTION: the handshake fails).
  const served = (port: number, servername: string | undefined): ServedMaterial | undefined => {
    const entry =
      (servername ? httpSys.get(`hostnameport=${servername.toLowerCase()}:${port}`) : undefined) ??
      httpSys.get(`ipport=0.0.0.0:${port}`);
    const cert = entry ? storeOf(entry.store || 'My')?.get(entry.hash) : undefined;
    if (!cert?.keyPem || !cert.keyUsable) return undefined;
    // The leaf, then exactly the chain that came in its PFX (imported into the CA store beside it).
    if (leafOnly)
      return { id: `${cert.thumbprint}:leaf-only`, certPem: cert.certPem, keyPem: cert.keyPem, chainPems: [] };
    return { id: cert.thumbprint, certPem: cert.certPem, keyPem: cert.keyPem, chainPems: cert.chainPems };
  };
  const listeners = new HttpSysListeners(served);
  for (const port of new Set(allBindings().map((b) => b.port))) await listeners.listen(port);

  // --- what the scripts do ----------------------------------------------------------------------

  const certInfo = (store: string, thumbprint: string): Record<string, unknown> | null => {
    if (!thumbprint) return null;
    const cert = storeOf(store)?.get(thumbprint.toUpperCase());
    if (!cert) return { store, thumbprint, present: false };
    return {
      store,
      thumbprint,
      present: true,
      hasPrivateKey: cert.hasPrivateKey,
      subject: cert.subject,
      notAfter: cert.notAfter.toISOString().slice(0, 10),
      friendlyName: cert.friendlyName,
    };
  };

  /** Why committing `hash` from `store` to binding `b` fails, or undefined. A scripted failure is used up. */
  function commitProblem(b: FakeBinding, hash: string, store: string): string | undefined {
    const key = b.bindingInformation.toLowerCase();
    const scripted = commitFailures.get(key);
    if (scripted) {
      if (scripted.times <= 1) commitFailures.delete(key);
      else scripted.times--;
      return scripted.message;
    }
    if (!hash) return undefined;
    const cert = storeOf(store)?.get(hash);
    // GUESSED wording: what HTTP.sys reports for a hash that is not in the store.
    if (!cert)
      return methodException(
        'CommitChanges',
        0,
        'Cannot find object or property. (Exception from HRESULT: 0x80092004)',
      );
    // win-acme #64/#172, Certify #222 (docs/vendors/iis.md): HTTP.sys cannot use the key.
    if (!cert.hasPrivateKey || !cert.keyUsable) return LOGON_SESSION_MESSAGE;
    return undefined;
  }

  /** What a successful commit writes: the binding's certificate and flags, and HTTP.sys's SSL binding derived from them. */
  function write(b: FakeBinding, state: BindingStateOf): void {
    const oldKey = b.hash ? sslKeyOf(b) : undefined;
    b.hash = state.hash;
    b.store = state.hash ? storeName(state.store) : '';
    b.sslFlags = state.sslFlags;
    if (oldKey && !allBindings().some((o) => o.hash && sslKeyOf(o) === oldKey)) httpSys.delete(oldKey);
    if (state.hash) httpSys.set(sslKeyOf(b), { hash: state.hash, store: b.store });
    execMutations++;
  }

  /** Takes a binding out of its site, and its SSL binding out of HTTP.sys unless another binding still uses it. Returns its position. */
  function removeBinding(b: FakeBinding): number {
    const site = siteOf(b.site);
    const index = site ? site.bindings.indexOf(b) : -1;
    if (site && index >= 0) site.bindings.splice(index, 1);
    const key = b.hash ? sslKeyOf(b) : undefined;
    if (key && !allBindings().some((o) => o.hash && sslKeyOf(o) === key)) httpSys.delete(key);
    execMutations++;
    return index;
  }

  /**
   * One binding change + CommitChanges(), as the script's Set-One does it. Returns the previous
   * state, or null when nothing changed.
   * - 'replace' (CertFleet's script: Remove + Add, then CommitChanges()). When the commit fails,
   *   ASSUMPTION: the removal took effect and the new binding was not created, so the binding is
   *   missing until something adds it back; the field reports of bindings left without a
   *   certificate after a failed update (Certify #266, win-acme #1484, win-acme #2) are the reason
   *   to assume the worst. The script's Put-Back then runs: it adds the old binding back (a
   *   failCommit with times >= 2 makes that fail too and leaves the binding missing).
   * - 'in-place' (a script setting CertificateHash on the binding it read): a changed hash fails at
   *   CommitChanges() with 0x80070520, as win-acme issue #371 reports for the in-place edit (the
   *   reason for win-acme's IISClient.UpdateBinding "Replace instead of change binding because of
   *   #371"). Certify #308 reports the other outcome seen in the field (success reported, old
   *   certificate still served); the simulator models the failing one. ASSUMPTION: a flag-only
   *   change in place succeeds.
   * - 'direct': an administrator in IIS Manager (test helper).
   */
  function setOne(
    t: Record<string, unknown>,
    mode: 'replace' | 'in-place' | 'direct',
  ): (BindingStateOf & { putBack?: string }) | null {
    const site = str(t, 'site');
    const info = str(t, 'bindingInformation');
    const wanted = {
      hash: str(t, 'hash').toUpperCase(),
      store: str(t, 'store'),
      sslFlags: typeof t['sslFlags'] === 'number' ? t['sslFlags'] : 0,
    };
    const b = findBinding(site, info);
    if (!b) throw new Error(`site '${site}' has no https binding ${info}`);
    const before = { hash: b.hash, store: b.store || 'My', sslFlags: b.sslFlags };
    if (
      before.hash === wanted.hash &&
      (before.store.toLowerCase() === wanted.store.toLowerCase() || !wanted.hash) &&
      before.sslFlags === wanted.sslFlags
    )
      return null;
    if (mode === 'in-place' && before.hash !== wanted.hash) throw new Error(LOGON_SESSION_MESSAGE);
    const problem = commitProblem(b, wanted.hash, wanted.store);
    if (problem === undefined) {
      write(b, wanted);
      return before;
    }
    if (mode !== 'replace') throw new Error(problem);
    const index = removeBinding(b);
    const putBackProblem = commitProblem(b, before.hash, before.store);
    if (putBackProblem === undefined) {
      siteOf(b.site)?.bindings.splice(index, 0, b);
      b.hash = '';
      write(b, before);
    }
    throw new CommitFailure(problem, putBackProblem ?? 'ok');
  }

  const handlers: Record<
    Operation,
    (
      p: Record<string, unknown>,
      failure: { stderr: string; afterBindings?: number } | undefined,
      inPlace: boolean,
    ) => Reply
  > = {
    // Facts the probe script reads (registry, $PSVersionTable, IsInRole): answered from settings.
    probe(p) {
      return json({
        psVersion: settings.psVersion,
        os: settings.productName,
        build: settings.build,
        user: `WIN-CERTFLEET\\${username}`,
        isAdmin: settings.isAdmin,
        mwa: settings.iis !== null,
        store: storeOf(str(p, 'store')) !== undefined,
        uploadDirectory: disk.isDirectory(windowsPath(str(p, 'uploadDirectory')) ?? ''),
        iis: settings.iis ? { major: settings.iis.major, minor: settings.iis.minor } : null,
      });
    },

    // Without IIS, loading Microsoft.Web.Administration.dll fails (ASSUMPTION: the LoadFrom error
    // text). A binding is found by exact IP:port:host (Posh-ACME.Deploy Set-IISCertificate.ps1
    // matches bindingInformation the same way); case-insensitive (ASSUMPTION).
    'read-bindings'(p) {
      if (!settings.iis) return withoutIis();
      const bindings = objects(p['bindings']).map((t, i) => {
        const site = siteOf(str(t, 'site'));
        const b = findBinding(str(t, 'site'), str(t, 'bindingInformation'));
        if (!b)
          return {
            i,
            found: false,
            siteFound: site !== undefined,
            available: site ? site.bindings.map((o) => o.bindingInformation) : [],
          };
        const store = b.store || 'My';
        return { i, found: true, hash: b.hash, store, sslFlags: b.sslFlags, certificate: certInfo(store, b.hash) };
      });
      return json({
        bindings,
        sites: sites.map((s) => s.name),
        certificates: objects(p['certificates']).map((c) => certInfo(str(c, 'store'), str(c, 'thumbprint'))),
      });
    },

    // Stale-upload cleanup and the protected ACL are CertFleet's own design; the simulator logs the
    // ACL instead of modelling Windows security (ASSUMPTION: Set-Acl with a protected rule set works
    // as written).
    'stage-check'(p) {
      const cert = storeOf(str(p, 'store'))?.get(str(p, 'thumbprint').toUpperCase());
      const dir = windowsPath(str(p, 'uploadDirectory'));
      if (!dir) return failed(psError(`New-Item : The given path's format is not supported.`, 'NotSupportedException'));
      const made = !disk.isDirectory(dir) && disk.mkdirs(dir);
      if (made) disk.log.push(`${ACL_LOG} ${dir} protected: S-1-5-18, S-1-5-32-544, user`);
      const stale = disk
        .list(dir)
        .filter((f) => /\\certfleet-[^\\]*\.pfx$/i.test(f) && (disk.get(f)?.mtime ?? 0) < Date.now() - 30 * 60_000);
      for (const f of stale) disk.remove(f);
      return json({
        present: cert !== undefined,
        hasPrivateKey: cert?.hasPrivateKey === true,
        directoryCreated: made,
        staleRemoved: stale.length,
      });
    },

    // X509Certificate2(path, password, MachineKeySet|PersistKeySet) + X509Store.Add (Posh-ACME.Deploy
    // Import-PfxCertInternal.ps1, Certify CertificateManager.cs); the PFX is really opened with the
    // script's password (./pkcs12.ts). An existing certificate with its key is reused (the script's
    // FindByThumbprint). The .ctor error texts are GUESSED wordings of CryptographicException.
    import(p, failure) {
      const file = windowsPath(str(p, 'path'));
      const deleteUpload = (): void => {
        if (file && !options.keepUploads) disk.remove(file);
      };
      try {
        if (failure) return failed(failure.stderr);
        const store = storeOf(str(p, 'store'));
        if (!store)
          return failed(
            psError(methodException('Open', 1, 'The system cannot find the file specified.'), 'CryptographicException'),
          );
        const thumbprint = str(p, 'thumbprint').toUpperCase();
        const existing = store.get(thumbprint);
        if (existing?.hasPrivateKey)
          return json({ thumbprint, imported: false, hasPrivateKey: true, intermediatesAdded: 0 });
        const bytes = file ? disk.read(file) : undefined;
        const ctor = (text: string): Reply =>
          failed(
            psError(
              `New-Object : ${methodException('.ctor', 3, `${text}\r\n`)}`,
              'ConstructorInvokedThrowException,Microsoft.PowerShell.Commands.NewObjectCommand',
              5,
            ),
          );
        if (!bytes) return ctor('The system cannot find the file specified.');
        let opened;
        try {
          opened = openPfx(bytes, str(p, 'password'));
        } catch (error) {
          return ctor(
            error instanceof Pkcs12ReadError && error.problem === 'password'
              ? 'The specified network password is not correct.'
              : 'An internal error occurred.',
          );
        }
        // Windows before Server 2016 1709 cannot decrypt PBES2/AES key bags (docs/vendors/iis.md).
        if (opened.aes && settings.build < 16299) return ctor('The specified network password is not correct.');
        if (opened.thumbprint !== thumbprint) {
          return failed(
            psError(
              `certfleet: the uploaded file holds ${opened.thumbprint} (key: True) instead of ${thumbprint} with its key`,
              'RuntimeException',
            ),
          );
        }
        store.set(thumbprint, {
          thumbprint,
          store: storeName(str(p, 'store')),
          certPem: opened.leaf.toString(),
          keyPem: opened.keyPem,
          chainPems: opened.chain.map((c) => c.toString()),
          hasPrivateKey: true,
          keyUsable: !logonSession,
          friendlyName: str(p, 'friendlyName'),
          subject: opened.leaf.subject
            .split('\n')
            .map((part) => part.trim())
            .filter(Boolean)
            .join(', '),
          notAfter: new Date(opened.leaf.validTo),
        });
        execMutations++;
        let added = 0;
        // Intermediates to LocalMachine\CA, not self-signed ones, no duplicates (win-acme #1484 log:
        // "... to store CA"); ASSUMPTION: the chain is taken from the same PFX.
        const ca = storeOf('CA');
        if (typeof p['chain'] === 'number' && p['chain'] > 0 && ca) {
          for (const c of opened.chain) {
            const tp = thumbprintOfDer(c.raw);
            if (c.subject !== c.issuer && !ca.has(tp)) {
              ca.set(tp, {
                thumbprint: tp,
                store: 'CA',
                certPem: c.toString(),
                chainPems: [],
                hasPrivateKey: false,
                keyUsable: false,
                friendlyName: '',
                subject: c.subject,
                notAfter: new Date(c.validTo),
              });
              added++;
            }
          }
        }
        return json({ thumbprint, imported: true, hasPrivateKey: true, intermediatesAdded: added });
      } finally {
        deleteUpload();
      }
    },

    'set-bindings'(p, failure, inPlace) {
      const mode = inPlace ? 'in-place' : 'replace';
      if (!settings.iis) return withoutIis();
      const targets = objects(p['bindings']);
      if (failure) {
        // The script dies after switching `afterBindings` bindings: no restore, no JSON.
        for (const t of targets.slice(0, failure.afterBindings ?? 0)) setOne(t, mode);
        return failed(failure.stderr);
      }
      const done: number[] = [];
      let fail: { i: number; error: string; putBack: string | null } | null = null;
      for (const [i, t] of targets.entries()) {
        try {
          if (setOne(t, mode)) done.push(i);
        } catch (error) {
          fail = {
            i,
            error: error instanceof Error ? error.message : String(error),
            putBack: error instanceof CommitFailure ? error.putBack : null,
          };
          break;
        }
      }
      // The script stops at the first failure; the deployer puts back the ones replaced before it.
      return json({ ok: fail === null, changed: done, failure: fail });
    },

    // Deletes only unbound certificates CertFleet imported (CertFleet's own rule; Posh-ACME.Deploy
    // -RemoveOldCert deletes the old thumbprint the same way). ASSUMPTION: Remove-Item -DeleteKey
    // on Cert:\LocalMachine\<store>\<thumbprint> removes certificate and key.
    'remove-certificates'(p) {
      if (!settings.iis) return withoutIis();
      const store = storeOf(str(p, 'store'));
      const used = new Map<string, string[]>();
      for (const b of allBindings())
        if (b.hash) used.set(b.hash, [...(used.get(b.hash) ?? []), `${b.site} ${b.bindingInformation}`]);
      const removed: string[] = [];
      const inUse: { thumbprint: string; bindings: string[] }[] = [];
      const missing: string[] = [];
      const foreign: string[] = [];
      for (const raw of Array.isArray(p['thumbprints']) ? p['thumbprints'] : []) {
        const tp = String(raw).toUpperCase();
        const cert = store?.get(tp);
        if (!cert) missing.push(tp);
        else if (used.has(tp)) inUse.push({ thumbprint: tp, bindings: used.get(tp) ?? [] });
        else if (!cert.friendlyName.startsWith('CertFleet ')) foreign.push(tp);
        else {
          store?.delete(tp);
          execMutations++;
          removed.push(tp);
        }
      }
      return json({ removed, inUse, missing, foreign });
    },
  };

  function runCommand(command: string): Reply {
    commands.push(command);
    const recognised = recognise(command);
    if (!recognised.ok) return { code: recognised.code, stdout: '', stderr: recognised.stderr };
    const { operation, script, params, inPlace } = recognised.parsed;
    scripts.push({ operation, command, script, params });
    const scripted = failures.get(operation);
    failures.delete(operation);
    const failure = scripted
      ? { ...scripted, stderr: scripted.stderr.split('{password}').join(str(params, 'password')) }
      : undefined;
    if (failure && operation !== 'import' && operation !== 'set-bindings') return failed(failure.stderr);
    try {
      return handlers[operation](params, failure, inPlace);
    } catch (error) {
      return failed(psError(error instanceof Error ? error.message : String(error), 'RuntimeException'));
    }
  }

  // --- SSH ------------------------------------------------------------------------------------------

  const connections = new Set<Connection>();
  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    // Windows OpenSSH: public key (administrators_authorized_keys) or password login; the
    // username is compared exactly (ASSUMPTION: Windows compares case-insensitively).
    client.on('authentication', (ctx) => {
      if (ctx.method === 'none') return ctx.reject(['publickey', 'password']);
      auths++;
      if (ctx.username !== username) return ctx.reject(['publickey', 'password']);
      if (ctx.method === 'password')
        return ctx.password === password ? ctx.accept() : ctx.reject(['publickey', 'password']);
      if (ctx.method === 'publickey') {
        if (ctx.key.algo !== authorized.type || !ctx.key.data.equals(authorized.getPublicSSH()))
          return ctx.reject(['publickey', 'password']);
        if (!ctx.signature || !ctx.blob) return ctx.accept();
        return authorized.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true
          ? ctx.accept()
          : ctx.reject(['publickey', 'password']);
      }
      return ctx.reject(['publickey', 'password']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const channel: ServerChannel = accept();
          const reply = runCommand(info.command);
          if (reply.stdout) channel.write(reply.stdout);
          if (reply.stderr)
            channel.stderr.write(reply.code !== 0 && options.clixmlErrors ? toClixml(reply.stderr) : reply.stderr);
          channel.exit(reply.code);
          channel.end();
        });
        session.on('sftp', (accept) => disk.serve(accept()));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake IIS: no port');

  const nth = (site: string, index: number): FakeBinding => {
    const b = siteOf(site)?.bindings[index];
    if (!b) throw new Error(`fake IIS: no binding ${index} on site ${site}`);
    return b;
  };

  const fake: FakeIis = {
    host: '127.0.0.1',
    port: address.port,
    username,
    password,
    privateKey: clientKey.private,
    wrongPrivateKey: wrongKey.private,
    hostKeySha256: hostIdentity.sha256,
    hostKeyHex: hostIdentity.hex,
    initialThumbprint,
    initialFingerprintSha256: initialX509.fingerprint256.replace(/:/g, '').toLowerCase(),
    bindingInformation: (site, index = 0) => nth(site, index).bindingInformation,
    entry: (site, index = 0) => `${site}|${nth(site, index).bindingInformation}`,
    endpoint(site, index = 0) {
      const b = nth(site, index);
      return { host: '127.0.0.1', port: b.port, ...(b.host ? { servername: b.host } : {}) };
    },
    binding: (site, info) => {
      const b = findBinding(site, info);
      return b ? { ...b } : undefined;
    },
    setBinding(site, info, hash, store = 'My') {
      setOne(
        { site, bindingInformation: info, hash, store, sslFlags: findBinding(site, info)?.sslFlags ?? 0 },
        'direct',
      );
    },
    certificates: (store) => [...(storeOf(store)?.values() ?? [])].map((c) => ({ ...c })),
    certificate: (store, thumbprint) => {
      const c = storeOf(store)?.get(thumbprint.toUpperCase());
      return c ? { ...c } : undefined;
    },
    sslBindings: () => Object.fromEntries([...httpSys.entries()].map(([k, v]) => [k, v.hash])),
    disk,
    scripts: () => [...scripts],
    commands: () => [...commands],
    authAttempts: () => auths,
    logonSessionError(on) {
      logonSession = on;
    },
    failNext(operation, stderr, opts = {}) {
      failures.set(operation, { stderr, ...opts });
    },
    failCommit(bindingInformation, message, times = 1) {
      commitFailures.set(bindingInformation.toLowerCase(), { message, times });
    },
    setAdmin(isAdmin) {
      settings.isAdmin = isAdmin;
    },
    view: () => ({
      // The contract checks that every staged value names an object on the device: a stage
      // returns {thumbprint, store}, so the stores count as objects next to the certificates.
      certificateObjects: () =>
        ['My', 'WebHosting'].flatMap((s) => (storeOf(s) ? [s, ...[...(storeOf(s)?.keys() ?? [])]] : [])),
      mutatingCalls: () => execMutations + disk.mutations,
      secrets: [password, clientKey.private.split('\n')[1] ?? clientKey.private],
      serveLeafOnly: (on: boolean) => {
        leafOnly = on;
      },
    }),
    async stop() {
      for (const c of connections) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await listeners.close();
    },
  };
  return fake;
}
