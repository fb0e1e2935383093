/**
 * IIS preflight (docs/vendors/iis.md): connects (shows the host key when none is pinned), reads
 * PowerShell, Windows and IIS versions, administrator rights, the store, the upload directory and
 * the listed bindings. Changes nothing.
 */
import type { SshCredentials } from '../ssh/options';
import type { PreflightReport } from '../types';
import {
  centralStoreMessage,
  describeBinding,
  describeCertificate,
  FIRST_IIS_WITH_SNI,
  SSL_FLAG_CENTRAL_CERT_STORE,
  SSL_FLAG_SNI,
  type IisBindings,
} from './bindings';
import type { IisBinding, IisOptions, SiteBinding } from './descriptor';
import { isObject, num, str } from './replies';
import type { IisSession } from './session';

/** Windows before Server 2016 1709 cannot read AES-256 PFX files (docs/vendors/iis.md). */
export const FIRST_BUILD_WITH_AES_PFX = 16299;

export interface IisPreflightContext {
  options: IisOptions;
  login: SshCredentials;
  binding: IisBinding;
  sites: SiteBinding[];
  session: IisSession;
  bindings: IisBindings;
}

export async function iisPreflight({
  options,
  login,
  binding,
  sites,
  session,
  bindings,
}: IisPreflightContext): Promise<PreflightReport> {
  const changes: string[] = [];
  const { checks, ssh } = await session.identityChecks();
  if (!ssh) return { checks, changes };
  const sftp = await ssh.sftp();
  checks.push({
    name: 'SFTP',
    ok: sftp !== undefined,
    detail: sftp
      ? 'the SFTP subsystem answers (the PFX is uploaded with it)'
      : 'no SFTP subsystem: enable "Subsystem sftp sftp-server.exe" in sshd_config',
  });

  const probe = await session.run(
    'probe',
    { store: options.store, uploadDirectory: options.uploadDirectory },
    'reading the server facts',
  );
  const iis = isObject(probe['iis']) ? probe['iis'] : undefined;
  const iisMajor = iis ? num(iis, 'major') : -1;
  const iisVersion = iis ? `${num(iis, 'major')}.${num(iis, 'minor')}` : '';
  const psVersion = str(probe, 'psVersion');
  const build = num(probe, 'build');
  const os = str(probe, 'os') || 'Windows';
  const firmware = `${iis ? `IIS ${iisVersion}` : 'no IIS'} on ${os} (build ${build}), PowerShell ${psVersion || '?'}`;
  const psMajor = Number(psVersion.split('.')[0]);
  checks.push({
    name: 'PowerShell',
    ok: psMajor >= 3,
    detail:
      psMajor >= 3
        ? `Windows PowerShell ${psVersion}`
        : `PowerShell ${psVersion || '?'} is too old: 3.0 or later is needed (ConvertFrom-Json)`,
  });
  checks.push({
    name: 'IIS',
    ok: iis !== undefined,
    detail: iis
      ? `IIS ${iisVersion} (HKLM:\\SOFTWARE\\Microsoft\\InetStp)`
      : 'IIS is not installed: HKLM:\\SOFTWARE\\Microsoft\\InetStp is missing',
  });
  const mwa = probe['mwa'] === true;
  if (iis)
    checks.push({
      name: 'IIS configuration API',
      ok: mwa,
      detail: mwa
        ? 'Microsoft.Web.Administration.dll is present'
        : 'Microsoft.Web.Administration.dll is missing from %windir%\\System32\\inetsrv (install the IIS Management Scripts and Tools)',
    });
  const admin = probe['isAdmin'] === true;
  checks.push({
    name: 'Administrator',
    ok: admin,
    detail: admin
      ? `${str(probe, 'user')} is an administrator`
      : `${str(probe, 'user') || login.username} is not an administrator (or the token is filtered): importing into LocalMachine and changing IIS bindings need one`,
  });
  const store = probe['store'] === true;
  checks.push({
    name: 'Certificate store',
    ok: store,
    detail: store
      ? `Cert:\\LocalMachine\\${options.store} exists`
      : `Cert:\\LocalMachine\\${options.store} does not exist${options.store === 'WebHosting' ? ' (IIS 8 and later create it): choose My' : ''}`,
  });
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
    detail:
      probe['uploadDirectory'] === true
        ? `${options.uploadDirectory} exists`
        : `${options.uploadDirectory} will be created (SYSTEM, Administrators and ${login.username} only)`,
  });
  if (binding.sni) {
    const sniOk = iisMajor >= FIRST_IIS_WITH_SNI;
    checks.push({
      name: 'SNI',
      ok: sniOk,
      detail: sniOk
        ? `IIS ${iisVersion} supports SNI bindings`
        : `"Require SNI" needs IIS 8 or later; this is ${iis ? `IIS ${iisVersion}` : 'no IIS'}`,
    });
  }
  if (iis && mwa) {
    const read = await bindings.readBindings(sites, []);
    const missing = bindings.missingMessage(sites, read.states, read.sites);
    sites.forEach((site, i) => {
      const state = read.states[i];
      if (!state?.found) return;
      const sni = (state.sslFlags & SSL_FLAG_SNI) !== 0;
      const flagNote = binding.sni && !sni ? ' (Require SNI turned on)' : '';
      checks.push({
        name: `binding ${site.site} ${site.bindingInformation}`,
        ok: true,
        detail: `serves ${describeCertificate(state.hash, state.certificate)}${state.hash ? ` from ${state.store}` : ''}${sni ? ', SNI' : ''}`,
      });
      changes.push(
        `${describeBinding(site)}: ${describeCertificate(state.hash, state.certificate)} → new certificate${flagNote}`,
      );
    });
    if (missing) checks.push({ name: 'site bindings', ok: false, detail: missing });
    const central = sites.filter(
      (_, i) => read.states[i]?.found && ((read.states[i]?.sslFlags ?? 0) & SSL_FLAG_CENTRAL_CERT_STORE) !== 0,
    );
    if (central.length > 0)
      checks.push({ name: 'Centralized Certificate Store', ok: false, detail: centralStoreMessage(central) });
    if (changes.length > 0)
      changes.unshift(
        `import the new certificate into Cert:\\LocalMachine\\${options.store} (PFX uploaded to ${options.uploadDirectory}, deleted right after)`,
      );
  }
  return { firmware, checks, changes };
}
