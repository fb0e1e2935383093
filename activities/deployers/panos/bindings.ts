/**
 * Reading and changing what uses a certificate (docs/vendors/panos.md "The calls"): SSL/TLS service
 * profiles (running via `show`, candidate via `get`) and the profile the management web interface
 * uses (`deviceconfig/system/ssl-tls-service-profile`).
 */
import { X509Certificate } from 'node:crypto';
import { FailureType } from '../../../temporal/contract';
import { classified } from '../../errors';
import type { ActivateHooks, BindingState } from '../types';
import { childOf, childrenOf, textAt, type PanosClient, type PanReply } from './client';
import type { PanosKeySession } from './api-key';
import { PANOS_OBJECT_NAME } from './descriptor';
import { ensureSuccess } from './failures';
import { certificateXpath, DEVICE, escapeText, MANAGEMENT_PROFILE, profileXpath, type PanosScope } from './xpaths';

/** The BindingState key of the management web interface's profile (profile names never start with '@'). */
export const ADMIN_GUI_KEY = '@admin-gui';

export interface CertificateObject {
  fingerprint?: string;
  hasKey: boolean;
}

export interface ProfileState {
  exists: boolean;
  certificate: string;
}

type Config = 'running' | 'candidate';

const fingerprintOfPem = (pem: string): string | undefined => {
  try {
    return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  } catch {
    return undefined;
  }
};

const objectOf = (entry: Parameters<typeof textAt>[0]): CertificateObject => {
  const pem = textAt(entry, 'public-key');
  const fingerprint = pem ? fingerprintOfPem(`${pem}\n`) : undefined;
  return { ...(fingerprint ? { fingerprint } : {}), hasKey: textAt(entry, 'private-key') !== '' };
};

export function createPanosBindings(client: PanosClient, session: PanosKeySession, scope: () => PanosScope) {
  const read = async (xpath: string, config: Config): Promise<PanReply> =>
    (
      await session.keyed(async (key) => ({
        reply: config === 'running' ? await client.showConfig(key, xpath) : await client.getConfig(key, xpath),
      }))
    ).reply;

  const readCertificates = async (): Promise<Map<string, CertificateObject>> => {
    const reply = await read(scope().certificates, 'candidate');
    const objects = new Map<string, CertificateObject>();
    if (reply.code === '7') return objects; // no certificate container yet
    for (const entry of childrenOf(childOf(ensureSuccess('read certificates', reply).result, 'certificate'), 'entry'))
      objects.set(entry.attrs['name'] ?? '', objectOf(entry));
    return objects;
  };

  const readCertificate = async (name: string): Promise<CertificateObject | undefined> => {
    const reply = await read(certificateXpath(scope(), name), 'candidate');
    if (reply.code === '7') return undefined;
    const entry = childOf(ensureSuccess(`read certificate ${name}`, reply).result, 'entry');
    return entry ? objectOf(entry) : undefined;
  };

  const readProfile = async (name: string, config: Config): Promise<ProfileState> => {
    if (!PANOS_OBJECT_NAME.test(name))
      throw classified(FailureType.validation, `panos: "${name}" is not a valid SSL/TLS service profile name`);
    const reply = await read(profileXpath(scope(), name), config);
    if (reply.code === '7') return { exists: false, certificate: '' }; // get: success + code 7; show: "No such node"
    const entry = childOf(ensureSuccess(`read SSL/TLS service profile ${name}`, reply).result, 'entry');
    return entry ? { exists: true, certificate: textAt(entry, 'certificate') } : { exists: false, certificate: '' };
  };

  /** The profile's certificate as services use it now (running), or as configured when it is not committed yet. */
  const currentCertificate = async (name: string): Promise<ProfileState> => {
    const running = await readProfile(name, 'running');
    return running.exists ? running : readProfile(name, 'candidate');
  };

  /** The profile the management web interface uses ('' = none: the device's own certificate). */
  const readAdminGui = async (config: Config): Promise<string> => {
    const reply = await read(MANAGEMENT_PROFILE, config);
    if (reply.code === '7') return '';
    return textAt(ensureSuccess('read the management interface profile', reply).result, 'ssl-tls-service-profile');
  };

  const setAdminGui = async (profile: string): Promise<void> => {
    if (profile === '')
      await session.request('reset the management interface profile', (key) =>
        client.deleteConfig(key, MANAGEMENT_PROFILE),
      );
    else
      await session.request(`make ${profile} the management interface profile`, (key) =>
        client.setConfig(
          key,
          `${DEVICE}/deviceconfig/system`,
          `<ssl-tls-service-profile>${escapeText(profile)}</ssl-tls-service-profile>`,
        ),
      );
  };

  /**
   * Points each profile at a certificate name ('' removes the reference) and, with ADMIN_GUI_KEY, the
   * management interface at a profile; returns what was in use before (running, else candidate).
   */
  const bind = async (targets: [name: string, value: string][], hooks?: ActivateHooks): Promise<BindingState> => {
    // Everything is read before anything changes, so the caller can record the rollback target first.
    const previous: BindingState = {};
    const changes: [profile: string, certificate: string][] = [];
    for (const [profile, certificate] of targets) {
      if (profile === ADMIN_GUI_KEY) {
        const [running, candidate] = [await readAdminGui('running'), await readAdminGui('candidate')];
        previous[ADMIN_GUI_KEY] = running;
        if (candidate !== certificate) changes.push([profile, certificate]);
        continue;
      }
      const running = await readProfile(profile, 'running');
      const candidate = await readProfile(profile, 'candidate');
      if (!running.exists && !candidate.exists)
        throw classified(
          FailureType.targetRejected,
          `panos: SSL/TLS service profile "${profile}" does not exist in ${scope().label}`,
        );
      previous[profile] = running.exists ? running.certificate : candidate.certificate;
      if (candidate.exists && candidate.certificate === certificate) continue;
      changes.push([profile, certificate]);
    }
    await hooks?.beforeChange?.(previous);
    for (const [profile, certificate] of changes) {
      if (profile === ADMIN_GUI_KEY) {
        await setAdminGui(certificate);
        continue;
      }
      const xpath = profileXpath(scope(), profile);
      if (certificate === '')
        await session.request(`unbind profile ${profile}`, (key) => client.deleteConfig(key, `${xpath}/certificate`));
      else
        await session.request(`bind profile ${profile} to ${certificate}`, (key) =>
          client.setConfig(key, xpath, `<certificate>${escapeText(certificate)}</certificate>`),
        );
    }
    return previous;
  };

  /** Certificate names any profile of the scope references, in the candidate or the running configuration. */
  const referencedCertificates = async (): Promise<Set<string>> => {
    const referenced = new Set<string>();
    for (const xpath of scope().referencingProfiles) {
      for (const config of ['candidate', 'running'] as const) {
        const reply = await read(xpath, config);
        if (reply.code === '7') continue;
        for (const entry of childrenOf(
          childOf(ensureSuccess('read SSL/TLS service profiles', reply).result, 'ssl-tls-service-profile'),
          'entry',
        )) {
          referenced.add(textAt(entry, 'certificate'));
        }
      }
    }
    return referenced;
  };

  /** Names of the entries at a container xpath (templates, template stacks); empty when there is none. */
  const entryNames = async (xpath: string, container: string): Promise<string[]> => {
    const reply = await read(xpath, 'candidate');
    if (reply.code === '7') return [];
    return childrenOf(childOf(ensureSuccess(`read ${container}`, reply).result, container), 'entry').map(
      (e) => e.attrs['name'] ?? '',
    );
  };

  return {
    readCertificates,
    readCertificate,
    readProfile,
    currentCertificate,
    readAdminGui,
    bind,
    referencedCertificates,
    entryNames,
  };
}

export type PanosBindings = ReturnType<typeof createPanosBindings>;
