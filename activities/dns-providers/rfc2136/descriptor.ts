import { isIP } from 'node:net';
import type { DnsProviderDescriptor } from '../types';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';
export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = ['hmac-sha256', 'hmac-sha512'];

export interface Rfc2136Config {
  /** The primary server that takes updates: host, IPv4 or [IPv6], with an optional :port (default 53). */
  server: string;
  /** The zone apex; found with a SOA query at the server when empty. */
  zone?: string;
  /** The TSIG key's name as the server knows it (e.g. `certfleet.` in named.conf's `key` statement). */
  keyName: string;
  algorithm: TsigAlgorithm;
}

const NAME = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;
const HOST = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** "ns1.example.com", "192.0.2.1:5353", "[2001:db8::1]:53" → host and port; undefined when not one of those. */
export function parseServer(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+)|([0-9a-f:]+))(?::(\d{1,5}))?$/i.exec(text.trim());
  const bracketed = match?.[1];
  const plain = match?.[2]?.toLowerCase();
  const bareV6 = match?.[3];
  if (bareV6 && isIP(bareV6) === 6 && match?.[4] === undefined) return { host: bareV6.toLowerCase(), port: 53 };
  const host = bracketed ?? plain;
  const port = Number(match?.[4] ?? 53);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (bracketed !== undefined ? isIP(host) !== 6 : isIP(host) !== 4 && !HOST.test(host)) return undefined;
  return { host: host.toLowerCase(), port };
}

const text = (input: Record<string, unknown>, key: string): string =>
  typeof input[key] === 'string' ? input[key].trim() : '';

export const rfc2136Descriptor: DnsProviderDescriptor = {
  id: 'rfc2136',
  label: 'RFC 2136 (BIND, PowerDNS, Knot, Technitium)',
  fields: [
    {
      name: 'server',
      label: 'Primary server',
      required: true,
      placeholder: 'ns1.example.com or 192.0.2.53:53 or [2001:db8::53]',
      help: 'The server that accepts dynamic updates (TCP). Only admins can change it.',
      endpoint: true,
    },
    {
      name: 'zone',
      label: 'Zone',
      required: false,
      placeholder: 'example.com',
      help: 'Leave empty to ask the server which zone holds each name (a SOA query).',
    },
    { name: 'keyName', label: 'TSIG key name', required: true, placeholder: 'certfleet-key' },
    {
      name: 'algorithm',
      label: 'TSIG algorithm',
      required: false,
      placeholder: 'hmac-sha256',
      help: 'hmac-sha256 (default) or hmac-sha512.',
    },
    {
      name: 'tsigSecret',
      label: 'TSIG secret',
      required: true,
      secret: true,
      help: 'The base64 secret of the key (the `secret` line that tsig-keygen prints).',
    },
  ],
  parseConfig(input) {
    const errors: Record<string, string> = {};
    const server = parseServer(text(input, 'server'));
    if (!server) errors['server'] = 'Enter a host name, an IPv4 address or an [IPv6] address, with an optional :port.';
    const zone = text(input, 'zone').toLowerCase().replace(/\.$/, '');
    if (zone && !NAME.test(zone)) errors['zone'] = 'Enter a zone such as example.com.';
    const keyName = text(input, 'keyName').toLowerCase().replace(/\.$/, '');
    if (!NAME.test(keyName))
      errors['keyName'] = 'Enter the key name as in the server configuration, e.g. certfleet-key.';
    const algorithm = (text(input, 'algorithm') || 'hmac-sha256').toLowerCase();
    if (!TSIG_ALGORITHMS.includes(algorithm as TsigAlgorithm))
      errors['algorithm'] = `Choose ${TSIG_ALGORITHMS.join(' or ')}.`;
    const config: Rfc2136Config = {
      server: server ? `${isIP(server.host) === 6 ? `[${server.host}]` : server.host}:${server.port}` : '',
      ...(zone ? { zone } : {}),
      keyName,
      algorithm: algorithm as TsigAlgorithm,
    };
    return { config: config as unknown as Record<string, unknown>, errors };
  },
};
