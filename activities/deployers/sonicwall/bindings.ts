/**
 * SonicWall bindings (docs/vendors/sonicwall.md): the web management (`administration/global`) and
 * SSL-VPN (`ssl-vpn/server/base`) certificates, read and changed read-modify-write, both in ONE
 * commit so they change together or not at all; a previous `use_self_signed` is restored as such.
 * Binding state: `webManagement` / `sslVpn` (a certificate name) or `webManagementSelfSigned` /
 * `sslVpnSelfSigned` = 'true'.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import type { ActivateHooks, BindingState } from '../types';
import type { SonicWallClient } from './client';
import { COMPONENT, type SonicFailures } from './failures';
import type { SonicSession } from './session';

export type Service = 'webManagement' | 'sslVpn';
/** SSL-VPN first: the web management change replaces the certificate this very API presents. */
export const SERVICES: Service[] = ['sslVpn', 'webManagement'];
export const LABEL: Record<Service, string> = { webManagement: 'web management', sslVpn: 'SSL-VPN' };
/** Where each service keeps its certificate reference in the OpenAPI bodies. */
export const CERT_PATH: Record<Service, string[]> = {
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

const refBody = (ref: CertificateRef): Record<string, unknown> =>
  'name' in ref ? { name: ref.name } : { use_self_signed: true };
export const describeRef = (ref: CertificateRef | undefined): string =>
  !ref ? '(none)' : 'name' in ref ? ref.name : 'self-signed';
export const sameRef = (a: CertificateRef | undefined, b: CertificateRef | undefined): boolean =>
  !!a && !!b && ('name' in a ? 'name' in b && a.name === b.name : 'selfSigned' in b);
export const nameOf = (ref: CertificateRef | undefined): string | undefined =>
  ref && 'name' in ref ? ref.name : undefined;

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

export interface ServiceState {
  /** The whole object as read, for read-modify-write. */
  body: Record<string, unknown>;
  ref?: CertificateRef;
  /** ssl_vpn.server.port, when reported. */
  port?: number;
}

export interface SonicBindings {
  /** The service's settings; undefined for an SSL-VPN the firewall lacks (404) when not `required`. */
  readService: (service: Service, required: boolean) => Promise<ServiceState | undefined>;
  /**
   * Puts every service in `wanted` on its certificate and commits once. Returns what was bound
   * before. Nothing changes when a step fails: the staged changes are discarded (and die with the
   * session anyway). When the commit's answer is lost, a new session checks what the firewall has.
   */
  bind: (
    wanted: Partial<Record<Service, CertificateRef>>,
    what: string,
    hooks?: ActivateHooks,
  ) => Promise<BindingState>;
}

export function sonicBindings(
  client: SonicWallClient,
  { expect }: SonicFailures,
  { session, commit, discardQuietly }: SonicSession,
): SonicBindings {
  async function readService(service: Service, required: boolean): Promise<ServiceState | undefined> {
    const r = service === 'webManagement' ? await client.getAdministration() : await client.getSslVpnServer();
    if (r.status === 404 && service === 'sslVpn' && !required) return undefined;
    if (r.status === 404 && service === 'sslVpn') {
      throw classified(
        FailureType.targetRejected,
        `${COMPONENT}: SSL-VPN is not available on this firewall (ssl-vpn/server/base answered 404). Untick the SSL-VPN binding.`,
      );
    }
    expect(r, `read the ${LABEL[service]} settings`);
    const body = r.body ?? {};
    const ref = certificateRef(getIn(body, CERT_PATH[service]));
    const port = service === 'sslVpn' ? getIn(body, ['ssl_vpn', 'server', 'port']) : undefined;
    return { body, ...(ref ? { ref } : {}), ...(typeof port === 'number' ? { port } : {}) };
  }

  async function bind(
    wanted: Partial<Record<Service, CertificateRef>>,
    what: string,
    hooks?: ActivateHooks,
  ): Promise<BindingState> {
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
      await hooks?.beforeChange?.(toBindingState(previous));
      let changed = false;
      try {
        for (const service of SERVICES) {
          const ref = wanted[service];
          const state = states[service];
          if (!ref || !state || sameRef(state.ref, ref)) continue;
          const body = withValue(state.body, CERT_PATH[service], refBody(ref));
          const put =
            service === 'webManagement' ? await client.putAdministration(body) : await client.putSslVpnServer(body);
          expect(put, `set the ${LABEL[service]} certificate to ${describeRef(ref)}`);
          changed = true;
        }
        if (changed) await commit(what);
      } catch (error) {
        if (
          changed &&
          error instanceof ClassifiedError &&
          error.type === FailureType.targetUnreachable &&
          client.hasSession
        ) {
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

  return { readService, bind };
}
