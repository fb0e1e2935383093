/**
 * The places a FortiGate can serve or use the certificate ("slots"): how to read what is bound now,
 * whether this firmware/VDOM offers the slot at all, and how to bind a certificate there. Each slot's
 * key is its key in BindingState. Facts and sources: docs/vendors/fortigate.md ("Bindings").
 */
import type { FortiGateClient, FortiResponse } from './client';
import { fortigateFailure, ok, referencedName, referencedNames, resultList } from './failures';
import { vipEndpointOf, type FortiGateBinding, type FortiGateOptions, type FortiGateVipEndpoint } from './descriptor';

export interface SlotReading {
  /** False where the firmware, model or VDOM does not have it (SSL-VPN 404, no such phase-1 or VIP). */
  offered: boolean;
  /** The certificate bound now ('' for none). */
  current: string;
  /** Why the certificate cannot be bound here: a deploy refuses it before changing anything. A sentence naming the slot. */
  problem?: string;
  /** Why the check after a deploy would look at the wrong place: preflight fails the check, a deploy goes on. */
  verifyProblem?: string;
  /** Facts for the preflight report (ports, addresses, firmware notes). */
  facts?: string;
  /** The VIP's `ssl-certificate` is a list `[{name}]` (FortiOS ≥ 7.4.2) rather than a name. */
  listShape?: boolean;
}

export interface BindingSlot {
  /** The BindingState key: adminGui, sslVpn, authPortal, ipsec:<name>, vip:<name>. */
  key: string;
  /** How messages and the preflight report name it. */
  label: string;
  read(): Promise<SlotReading>;
  write(certificate: string, reading: SlotReading): Promise<FortiResponse>;
  /** The admin GUI: the HTTPS daemon restarts, so a failed write may still have applied. */
  restartsListener?: boolean;
}

export const SSL_VPN_ABSENT =
  'SSL-VPN is not available on this FortiGate (vpn.ssl/settings answered 404: FortiOS 7.6.0 removed it on 2 GB models, and a VDOM may have none). Untick the SSL-VPN binding.';

/** Server types of a server-load-balance VIP on which FortiGate terminates TLS (terraform-provider-fortios fortios_firewall_vip `server_type`). */
const TLS_SERVER_TYPES = new Set(['https', 'ssl', 'imaps', 'pop3s', 'smtps']);

/** `v7.6.3` → true when at least major.minor.patch. */
export function firmwareAtLeast(version: string | undefined, wanted: [number, number, number]): boolean {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return false;
  const have = [Number(match[1]), Number(match[2]), Number(match[3])];
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0;
    const b = wanted[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

const numberOf = (value: unknown): number | undefined => {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
};

/** The single certificate of a list-valued reference, or a problem when it lists several. */
function singleOf(label: string, names: string[]): { current: string; problem?: string } {
  if (names.length <= 1) return { current: names[0] ?? '' };
  return {
    current: names.join(', '),
    problem: `${label} lists ${names.length} certificates (${names.join(', ')}); CertFleet replaces one certificate and will not guess which. Reduce it to one, or bind the others by hand.`,
  };
}

/** What an IPsec phase-1 interface has bound, and whether its certificate is used at all. */
function phase1Reading(label: string, item: Record<string, unknown>): SlotReading {
  const single = singleOf(label, referencedNames(item['certificate']));
  const authmethod = typeof item['authmethod'] === 'string' ? item['authmethod'] : '';
  const problem =
    single.problem ??
    (authmethod === 'psk'
      ? `${label} authenticates with a pre-shared key (authmethod psk): its certificate is used only with signature authentication. Switch it to signature first.`
      : undefined);
  return {
    offered: true,
    current: single.current,
    ...(problem ? { problem } : {}),
    facts: 'IPsec has no TLS endpoint: not checked by a handshake after a deploy',
  };
}

/** What a VIP has bound, whether FortiGate terminates TLS on it, and whether the check after a deploy reaches it. */
function vipReading(label: string, item: Record<string, unknown>, vipEndpoints: FortiGateVipEndpoint[]): SlotReading {
  const type = typeof item['type'] === 'string' ? item['type'] : '';
  const serverType = typeof item['server-type'] === 'string' ? item['server-type'] : '';
  const value = item['ssl-certificate'];
  const single = singleOf(label, referencedNames(value));
  const terminatesTls = (type === 'server-load-balance' && TLS_SERVER_TYPES.has(serverType)) || type === 'access-proxy';
  const problem =
    single.problem ??
    (terminatesTls
      ? undefined
      : `${label} is of type ${type || '(unknown)'}${serverType ? ` with server type ${serverType}` : ''}: FortiGate does not terminate TLS on it, so an ssl-certificate is not used. Name a server-load-balance VIP with server type https or ssl.`);
  const extip = typeof item['extip'] === 'string' ? item['extip'] : '';
  // extport may be a range ("443-444"); 0 or none means the VIP does not say (port forwarding off).
  const extport =
    numberOf(typeof item['extport'] === 'string' ? item['extport'].split('-')[0] : item['extport']) || undefined;
  const where = `${extip || '?'}:${extport ?? '?'}`;
  let verifyProblem: string | undefined;
  let facts = `answers on ${where}`;
  if (vipEndpoints.length === 0)
    facts += ` (not checked after a deploy: add ${where} to the VIP TLS endpoints to check it)`;
  else if (extport !== undefined && !vipEndpoints.some((e) => e.port === extport)) {
    verifyProblem = `${label} answers on port ${extport}, which none of the VIP TLS endpoints (${vipEndpoints.map((e) => `${e.host}:${e.port}`).join(', ')}) uses: the check after a deploy would not reach it`;
  }
  return {
    offered: true,
    current: single.current,
    listShape: Array.isArray(value),
    facts,
    ...(problem ? { problem } : {}),
    ...(verifyProblem ? { verifyProblem } : {}),
  };
}

export interface SlotContext {
  client: FortiGateClient;
  vdom: string;
  options: FortiGateOptions;
  /** The VIP endpoints the deployment verifies (from the binding). */
  vipEndpoints: FortiGateVipEndpoint[];
}

/** The binding's VIP endpoint texts, read. */
export const vipEndpointsOf = (texts: string[]): FortiGateVipEndpoint[] =>
  texts.map(vipEndpointOf).filter((e): e is FortiGateVipEndpoint => e !== undefined);

export function createSlot(key: string, ctx: SlotContext): BindingSlot | undefined {
  const { client, vdom, options } = ctx;
  const read = async (
    request: Promise<FortiResponse>,
    what: string,
  ): Promise<{ item?: Record<string, unknown>; version?: string }> => {
    const r = await request;
    if (r.status === 404) return {};
    if (!ok(r)) throw fortigateFailure(r, what, 'read');
    return { item: resultList(r.envelope)[0] ?? {}, ...(r.envelope?.version ? { version: r.envelope.version } : {}) };
  };

  /** A slot the device does not offer (here), and why. */
  const notOffered = (problem: string) => ({ offered: false, current: '', problem });
  /** A named object the binding lists that the VDOM does not have; `where`: the GUI menu that lists them. */
  const missing = (label: string, where: string) =>
    notOffered(`${label} does not exist in VDOM ${vdom}. Check the name (${where}) and the VDOM option.`);

  if (key === 'adminGui') {
    return {
      key,
      label: 'admin GUI',
      restartsListener: true,
      async read() {
        const { item } = await read(client.getSettings('system/global'), 'read system global settings');
        if (!item) return notOffered(`the system global settings are not readable in VDOM ${vdom} (HTTP 404)`);
        return { offered: true, current: referencedName(item['admin-server-cert']) ?? '' };
      },
      write: (name) => client.setSettingsCertificate('system/global', name),
    };
  }

  if (key === 'sslVpn') {
    return {
      key,
      label: `SSL-VPN (VDOM ${vdom})`,
      async read() {
        const { item, version } = await read(
          client.getSettings('vpn.ssl/settings'),
          `read SSL-VPN settings in VDOM ${vdom}`,
        );
        if (!item) return notOffered(SSL_VPN_ABSENT);
        const port = numberOf(item['port']);
        const agentless = firmwareAtLeast(version, [7, 6, 3])
          ? ' (Agentless VPN: FortiOS 7.6.3 removed tunnel mode)'
          : '';
        return {
          offered: true,
          current: referencedName(item['servercert']) ?? '',
          ...(port !== undefined
            ? { facts: `portal on port ${port}${agentless}` }
            : agentless
              ? { facts: agentless.trim() }
              : {}),
          ...(port !== undefined && port !== options.sslVpnPort
            ? {
                verifyProblem: `the portal listens on port ${port} but the target's SSL-VPN port is ${options.sslVpnPort}: the TLS check after a deploy would look at the wrong port`,
              }
            : {}),
        };
      },
      write: (name) => client.setSettingsCertificate('vpn.ssl/settings', name),
    };
  }

  if (key === 'authPortal') {
    return {
      key,
      label: `auth portal (VDOM ${vdom})`,
      async read() {
        const { item } = await read(
          client.getSettings('user/setting'),
          `read user settings (auth portal) in VDOM ${vdom}`,
        );
        if (!item)
          return notOffered(`the auth portal settings (user/setting) are not readable in VDOM ${vdom} (HTTP 404)`);
        const global = await read(client.getSettings('system/global'), 'read system global settings');
        const port = numberOf(global.item?.['auth-https-port']);
        return {
          offered: true,
          current: referencedName(item['auth-cert']) ?? '',
          ...(port !== undefined ? { facts: `HTTPS authentication on port ${port}` } : {}),
          ...(port !== undefined && port !== options.authPortalPort
            ? {
                verifyProblem: `auth-https-port is ${port} but the target's auth portal port is ${options.authPortalPort}: the TLS check after a deploy would look at the wrong port`,
              }
            : {}),
        };
      },
      write: (name) => client.setSettingsCertificate('user/setting', name),
    };
  }

  /** A slot on an object the binding names: the VDOM may lack it (`where`: the GUI menu that lists them). */
  const objectSlot = (
    label: string,
    where: string,
    slot: {
      get: () => Promise<FortiResponse>;
      inspect: (label: string, item: Record<string, unknown>) => SlotReading;
      write: BindingSlot['write'];
    },
  ): BindingSlot => ({
    key,
    label,
    async read() {
      const { item } = await read(slot.get(), `read ${label} in VDOM ${vdom}`);
      return item ? slot.inspect(label, item) : missing(label, where);
    },
    write: slot.write,
  });

  if (key.startsWith('ipsec:')) {
    const name = key.slice('ipsec:'.length);
    return objectSlot(`IPsec phase-1 "${name}"`, 'VPN → IPsec Tunnels', {
      get: () => client.getPhase1Interface(name),
      inspect: phase1Reading,
      write: (certificate) => client.setPhase1Certificates(name, certificate ? [certificate] : []),
    });
  }

  if (key.startsWith('vip:')) {
    const name = key.slice('vip:'.length);
    return objectSlot(`VIP "${name}"`, 'Policy & Objects → Virtual IPs', {
      get: () => client.getVip(name),
      inspect: (label, item) => vipReading(label, item, ctx.vipEndpoints),
      write: (certificate, reading) => client.setVipSslCertificate(name, certificate, reading.listShape === true),
    });
  }
  return undefined;
}

/** The BindingState keys a binding asks for, in the order preflight lists them (the admin GUI is written last: see bind). */
export function slotKeysOf(binding: FortiGateBinding): string[] {
  return [
    ...(binding.adminGui ? ['adminGui'] : []),
    ...(binding.sslVpn ? ['sslVpn'] : []),
    ...(binding.authPortal ? ['authPortal'] : []),
    ...binding.ipsecPhase1.map((n) => `ipsec:${n}`),
    ...binding.vips.map((n) => `vip:${n}`),
  ];
}
