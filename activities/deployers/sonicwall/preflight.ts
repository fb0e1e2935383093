/**
 * SonicWall preflight (docs/vendors/sonicwall.md): login and logout without pre-empting anyone,
 * firmware and import path, session security, both bindings, the certificate list, and the FTP drop
 * (a test file uploaded and deleted). Changes nothing on the firewall. A busy firewall is a failed
 * check, not an error: the FTP side is still checked.
 */
import { randomBytes } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { ClassifiedError } from '../../errors';
import type { DeployerTarget, PreflightCheck, PreflightReport } from '../types';
import { describeRef, type SonicBindings } from './bindings';
import type { SonicWallClient } from './client';
import type { SonicWallBinding, SonicWallOptions } from './descriptor';
import { COMPONENT } from './failures';
import type { FtpDrop } from './ftp-drop';
import type { ImportPath, SonicImports } from './import';
import type { SonicSession } from './session';

export interface SonicPreflightContext {
  target: DeployerTarget;
  client: SonicWallClient;
  username: string;
  options: SonicWallOptions;
  /** The deployment's binding; undefined for "Test connection" before any deployment exists. */
  binding: SonicWallBinding | undefined;
  session: SonicSession;
  bindings: SonicBindings;
  imports: SonicImports;
  ftp: FtpDrop | undefined;
  filePrefix: string;
}

export async function sonicPreflight({
  target,
  client,
  username,
  options,
  binding,
  session: sessions,
  bindings,
  imports,
  ftp,
  filePrefix,
}: SonicPreflightContext): Promise<PreflightReport> {
  const { session } = sessions;
  const { readService } = bindings;
  const { firmwareOf, listCertificates, noFtpFor65 } = imports;
  const hasBinding = binding !== undefined;
  const asked: SonicWallBinding = binding ?? { webManagement: false, sslVpn: false };
  const checks: PreflightCheck[] = [];
  const changes: string[] = [];
  let firmware: string | undefined;
  let path: ImportPath | undefined;
  const trustDetail =
    'caPem' in target.trust ? 'verified against the configured CA' : 'matches the pinned SHA-256 fingerprint';

  const tlsCheck = (): void => {
    if (!checks.some((c) => c.name === 'management TLS')) {
      checks.push({
        name: 'management TLS',
        ok: true,
        detail: `the management certificate of ${target.host}:${target.port} ${trustDetail}`,
      });
    }
  };
  try {
    await session(async () => {
      tlsCheck();
      checks.push({
        name: 'login',
        ok: true,
        detail: `logged in as ${username} (${options.authMethod === 'chap' ? 'CHAP' : 'Basic'}, without pre-empting anyone); logged out again`,
      });

      const found = await firmwareOf();
      firmware = found.firmware;
      path = found.path;
      checks.push({
        name: 'firmware',
        ok: firmware !== undefined,
        detail: firmware
          ? `${firmware}${found.model ? ` on ${found.model}` : ''}`
          : 'the firewall did not report its version (treated as SonicOS 7)',
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
          ? {
              name: 'import path',
              ok: true,
              detail: `upload: ${firmware ?? 'this firmware'} takes the certificate in the API call itself (PUT import/certificates/cert-key-pair); no FTP server is needed${ftp ? ' (the FTP server on this target is not used)' : ''}`,
            }
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
        checks.push({
          name: 'web management binding',
          ok: true,
          detail: `web management uses ${describeRef(web?.ref)}`,
        });
        changes.push(`web management: ${describeRef(web?.ref)} → new certificate`);
      }
      const vpn = await readService('sslVpn', false);
      if (!vpn) {
        checks.push({
          name: 'SSL-VPN',
          ok: !asked.sslVpn,
          detail: asked.sslVpn
            ? 'SSL-VPN is not available on this firewall (404). Untick the SSL-VPN binding.'
            : 'not available on this firewall (not part of this binding)',
        });
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
        checks.push({
          name: 'SSL-VPN',
          ok: true,
          detail: `SSL-VPN uses ${describeRef(vpn.ref)} (not part of this binding)`,
        });
      }
      const certificates = await listCertificates();
      checks.push({
        name: 'certificate store',
        ok: true,
        detail: `${certificates.length} imported certificate(s) listed`,
      });
    }, false);
  } catch (error) {
    if (!(error instanceof ClassifiedError && error.type === FailureType.deviceSessionBusy)) throw error;
    // Busy is a state, not a fault of the target's settings: report it as a failed check and
    // still check the FTP side. (Deploy steps throw DEVICE_SESSION_BUSY and are retried.)
    tlsCheck();
    checks.push({
      name: 'login',
      ok: false,
      detail: `the firewall is busy: ${error.message.replace(`${COMPONENT}: `, '')}`,
    });
  }
  if (!hasBinding)
    checks.push({
      name: 'bindings',
      ok: true,
      detail: 'no deployment names a service yet: a deploy would change nothing',
    });

  if (ftp && path !== 'upload') {
    try {
      await ftp.probe(`${filePrefix}probe-${randomBytes(4).toString('hex')}.txt`);
      checks.push({
        name: 'FTP drop',
        ok: true,
        detail: `uploaded and deleted a test file in ${ftp.describe()} (this changes nothing on the firewall). The firewall downloads certificates from ${ftp.describe(options.ftpUrlHost)}; whether it can reach that address shows at the first deploy.`,
      });
    } catch (error) {
      checks.push({
        name: 'FTP drop',
        ok: false,
        detail: error instanceof Error ? error.message.replace(`${COMPONENT}: `, '') : String(error),
      });
    }
  }
  return { ...(firmware ? { firmware } : {}), checks, changes };
}
