/**
 * Which addresses targets may point to (web-safe, pure). Always refused: "this network" 0.0.0.0/8,
 * link-local 169.254.0.0/16 and fe80::/10, and the cloud metadata services (169.254.169.254, AWS's
 * IPv6 fd00:ec2::254): a target there would make the worker send device credentials to, or read from,
 * the host's own metadata service. Loopback (127.0.0.0/8, ::1) stays allowed: single-machine installs,
 * the demo and the tests run devices there. An admin may list allowed networks (CIDR, Settings →
 * Networks): then every target address must be in one of them, besides not being refused.
 */
import { BlockList, isIP } from 'node:net';

export const ALWAYS_REFUSED_NETWORKS = [
  '0.0.0.0/8',
  '169.254.0.0/16',
  '169.254.169.254/32',
  'fe80::/10',
  'fd00:ec2::254/128',
] as const;
/** At most this many allowed networks. */
export const MAX_ALLOWED_NETWORKS = 200;

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** "10.0.0.0/8", "2001:db8::/32", or a single address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  const version = match ? isIP(match[1] ?? '') : 0;
  if (!match || version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = match[2] === undefined ? max : Number(match[2]);
  if (prefix > max) return undefined;
  return { address: (match[1] ?? '').toLowerCase(), prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** CIDRs one per line (or separated by commas or spaces): the normalised list, or the first bad entry. */
export function checkNetworkList(text: string): { ok: true; networks: string[] } | { ok: false; error: string } {
  const entries = [...new Set(text.split(/[\s,;]+/).filter(Boolean))];
  if (entries.length > MAX_ALLOWED_NETWORKS) return { ok: false, error: `At most ${MAX_ALLOWED_NETWORKS} networks.` };
  const networks: string[] = [];
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (!cidr)
      return {
        ok: false,
        error: `"${entry.slice(0, 60)}" is not a network: write an address with its prefix length, e.g. 10.20.0.0/16 or 2001:db8::/48.`,
      };
    networks.push(`${cidr.address}/${cidr.prefix}`);
  }
  return { ok: true, networks };
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

const refused = blockListOf(ALWAYS_REFUSED_NETWORKS);

/** An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is checked as the IPv4 address it is. */
function unmapped(ip: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const version = isIP(ip);
  if (version === 4) return { address: ip, family: 'ipv4' };
  if (version !== 6) return undefined;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1]) return { address: mapped[1], family: 'ipv4' };
  return { address: ip, family: 'ipv6' };
}

/** Why a target may not use this IP address, or undefined when it may. */
export function addressRefusal(ip: string, allowedNetworks: readonly string[]): string | undefined {
  const a = unmapped(ip);
  if (!a) return `${ip} is not an IP address`;
  if (refused.check(a.address, a.family))
    return `${ip} is a link-local, metadata-service or "this network" address, which targets may never use`;
  if (allowedNetworks.length > 0 && !blockListOf(allowedNetworks).check(a.address, a.family)) {
    return `${ip} is not in the networks targets may point to (Settings → Networks)`;
  }
  return undefined;
}
