/**
 * SonicWall deployer (SonicOS API 6.5 / 7.x; the calls, sources and assumptions are listed in
 * docs/vendors/sonicwall.md).
 *
 * SonicOS allows a single API session, and only one administrator in config mode (docs/vendors/sonicwall.md). So:
 * - every method logs in, does its work, commits, and logs out again, also when it fails (a session
 *   left open blocks everyone, human or CertFleet, until the idle timeout); methods of one instance
 *   never overlap (./session.ts);
 * - a login refused because someone else is logged in is DEVICE_SESSION_BUSY (retried later), with
 *   what the firewall says about the holder (./failures.ts). CertFleet only pre-empts (`override: true`)
 *   when the target's "override" option is on; it is off by default;
 * - every change is staged by SonicOS until `POST config/pending`, and dropped at logout or timeout
 *   (docs/vendors/sonicwall.md), so each logical step commits before it returns.
 *
 * - sessions are not cookies (docs/vendors/sonicwall.md): the client answers SonicOS' per-request Digest "session
 *   security" when the firewall asks for it, and works without it where the admin turned it off;
 * - before the first login of an attempt, a session a crashed attempt left behind is ended
 *   (`DELETE /api/sonicos/auth` with our credentials, SonicWallClient.endLeftoverSession); the
 *   workflow's per-device lease makes sure no live attempt of ours holds it then.
 *
 * preflight: ./preflight.ts. stage: the firmware decides the path (./import.ts: upload on SonicOS 7,
 * the FTP drop on 6.5).
 * activate / rollback: both bindings changed in ONE commit (./bindings.ts).
 * removeSuperseded: deletes certificates only the superseded versions used and that nothing binds.
 *
 * The configuration is parsed once by the descriptor's typed parsers (../config-check.ts).
 */
import { createHash } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import { checkDeployerConfig, refusingDeployer } from '../config-check';
import { createDeviceHttp } from '../device-http';
import type { Activation, Deployer, DeployerFactory } from '../types';
import { fromBindingState, nameOf, SERVICES, sonicBindings, type CertificateRef, type Service } from './bindings';
import { SonicWallClient } from './client';
import { sonicwallParsers } from './descriptor';
import { COMPONENT, ok, sonicFailures } from './failures';
import { FtpDrop } from './ftp-drop';
import { sonicImports } from './import';
import { sonicPreflight } from './preflight';
import { createSonicSession } from './session';

export { isSessionBusy } from './failures';
export { chapDigest } from './session';
export { SONICWALL_NAME_RULES } from './import';

export interface SonicWallDeployerSettings {
  /** Retry hint for DEVICE_SESSION_BUSY. Default 60 s. */
  busyRetryAfterMs?: number;
  /** The import call returns after the firewall has downloaded the file. Default 120 s. */
  importTimeoutMs?: number;
  /** Per FTP operation. Default 30 s. */
  ftpTimeoutMs?: number;
}

export function createSonicWallDeployerWith(settings: SonicWallDeployerSettings = {}): DeployerFactory {
  const busyRetryAfterMs = settings.busyRetryAfterMs ?? 60_000;
  const importTimeoutMs = settings.importTimeoutMs ?? 120_000;

  return (ctx) => {
    const config = checkDeployerConfig(COMPONENT, sonicwallParsers, ctx);
    /** "Test connection" runs before any deployment exists, so preflight and cleanup need no binding. */
    if (!config.targetValid) return refusingDeployer(config);
    const { credentials, options } = config.target();
    const { username, password } = credentials;

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
            password: credentials.ftpPassword,
            directory: options.ftpDirectory,
            urlHost: options.ftpUrlHost,
            ...(settings.ftpTimeoutMs !== undefined ? { timeoutMs: settings.ftpTimeoutMs } : {}),
          },
          COMPONENT,
        );
    /** Files this target uploads start with this, so a later attempt can remove leftovers of its own only. */
    const filePrefix = `certfleet-${createHash('sha256').update(ctx.target.id).digest('hex').slice(0, 8)}-`;
    const secrets = [password, credentials.ftpPassword].filter((s) => s.length >= 4);
    const scrub = (message: string): string => secrets.reduce((m, s) => m.split(s).join('***'), message);

    const failures = sonicFailures({ client, username, options, busyRetryAfterMs, scrub });
    const sessions = createSonicSession({ client, username, password, options, busyRetryAfterMs, failures });
    const { session, exclusive, logoutQuietly, commit, discardQuietly } = sessions;
    const { failure } = failures;
    const bindings = sonicBindings(client, failures, sessions);
    const { readService, bind } = bindings;
    const imports = sonicImports({ client, options, failures, session: sessions, ftp, filePrefix, importTimeoutMs });
    const { listCertificates } = imports;

    const deployer: Deployer = {
      preflight: () =>
        sonicPreflight({
          target: ctx.target,
          client,
          username,
          options,
          binding: config.binding,
          session: sessions,
          bindings,
          imports,
          ftp,
          filePrefix,
        }),

      async stage(material) {
        config.all();
        return imports.stage(material);
      },

      async activate(staged, hooks) {
        const { binding } = config.all();
        const name = staged['cert'];
        if (!name)
          throw classified(FailureType.validation, `${COMPONENT}: nothing staged to activate (no "cert" object)`);
        const wanted: Partial<Record<Service, CertificateRef>> = {};
        if (binding.sslVpn) wanted.sslVpn = { name };
        if (binding.webManagement) wanted.webManagement = { name };
        return { previous: await bind(wanted, `bind ${name}`, hooks) };
      },

      async activationStatus() {
        return { state: 'done' };
      },

      async rollback(previous): Promise<Activation> {
        const wanted = fromBindingState(previous);
        if (Object.keys(wanted).length === 0)
          throw classified(FailureType.validation, `${COMPONENT}: the rollback state names no binding`);
        return { previous: await bind(wanted, 'restore the previous binding') };
      },

      async removeSuperseded(keep, candidates) {
        const kept = new Set(keep.flatMap((s) => Object.values(s)));
        const wanted = [...new Set(candidates.map((s) => s['cert']).filter((n): n is string => !!n))].filter(
          (n) => !kept.has(n),
        );
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
              else if (
                r.status === 404 ||
                (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 403 && r.info)
              )
                continue; // gone, or still used by something else
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
