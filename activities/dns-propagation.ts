import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailureType } from '../temporal/contract';
import { classified } from './errors';

export interface NameServer {
  /** Host name of the nameserver, or the address when configured directly. */
  name: string;
  /** ip or ip:port queried directly. */
  address: string;
}

export interface PropagationOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Heartbeat hook, called once per polling round. */
  onPoll?: (pending: string[]) => void;
  signal?: AbortSignal;
}

function resolverFor(address: string): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([address]);
  return resolver;
}

/** How the authoritative nameservers are found and asked (tests point both at a real server on a loopback port). */
export interface NameServerLookup {
  /** Resolvers for the NS and address lookups; default: the system resolver. */
  via?: string[];
  /** The port the nameservers are asked on; default 53. */
  port?: number;
}

/** ip (or ip:port, [v6]:port) as dns.Resolver#setServers takes it. */
const serverAddress = (ip: string, port: number | undefined): string =>
  port === undefined ? ip : isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;

/**
 * The servers to ask: configured resolvers if any, else the zone's authoritative nameservers (NS
 * looked up, then every IPv4 and IPv6 address of each: an IPv6-only nameserver is asked over IPv6).
 */
export async function nameServersFor(
  zone: string,
  configured: string[],
  lookup: NameServerLookup = {},
): Promise<NameServer[]> {
  if (configured.length > 0) return configured.map((address) => ({ name: address, address }));
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
  if (lookup.via?.length) resolver.setServers(lookup.via);
  let hosts: string[];
  try {
    hosts = await resolver.resolveNs(zone);
  } catch (error) {
    throw classified(
      FailureType.dnsUnavailable,
      `dns: cannot look up the nameservers of ${zone}: ${(error as Error).message}`,
    );
  }
  const servers: NameServer[] = [];
  for (const host of hosts.sort()) {
    const addresses = isIP(host)
      ? [host]
      : [
          ...(await resolver.resolve4(host).catch(() => [] as string[])),
          ...(await resolver.resolve6(host).catch(() => [] as string[])),
        ];
    for (const ip of addresses) servers.push({ name: host, address: serverAddress(ip, lookup.port) });
  }
  if (servers.length === 0)
    throw classified(
      FailureType.dnsUnavailable,
      `dns: the nameservers of ${zone} (${hosts.join(', ')}) have no IPv4 or IPv6 addresses`,
    );
  return servers;
}

async function txtValues(server: NameServer, recordName: string): Promise<string[] | Error> {
  try {
    return (await resolverFor(server.address).resolveTxt(recordName)).map((chunks) => chunks.join(''));
  } catch (error) {
    return error as Error;
  }
}

/**
 * Polls every server until each returns all `values` for `recordName`. On timeout, throws a
 * non-retryable error naming every server that never showed the record, with what it answered.
 */
export async function waitForTxtPropagation(
  recordName: string,
  values: string[],
  servers: NameServer[],
  options: PropagationOptions,
): Promise<{ elapsedMs: number; rounds: number }> {
  const started = Date.now();
  const pending = new Map(servers.map((s) => [s.address, s]));
  const lastAnswer = new Map<string, string>();
  let rounds = 0;
  for (;;) {
    rounds += 1;
    await Promise.all(
      [...pending.values()].map(async (server) => {
        const answer = await txtValues(server, recordName);
        if (answer instanceof Error) {
          lastAnswer.set(server.address, `error ${(answer as NodeJS.ErrnoException).code ?? answer.message}`);
        } else if (values.every((v) => answer.includes(v))) {
          pending.delete(server.address);
        } else {
          lastAnswer.set(server.address, answer.length ? `other values (${answer.length})` : 'no TXT record');
        }
      }),
    );
    if (pending.size === 0) return { elapsedMs: Date.now() - started, rounds };
    options.onPoll?.([...pending.keys()]);
    const elapsed = Date.now() - started;
    if (elapsed >= options.timeoutMs) {
      const names = [...pending.values()].map(
        (s) =>
          `${s.name === s.address ? s.address : `${s.name} (${s.address})`}: ${lastAnswer.get(s.address) ?? 'no answer'}`,
      );
      throw classified(
        FailureType.propagationTimeout,
        `dns: TXT ${recordName} was not visible after ${Math.round(elapsed / 1000)}s at ${pending.size} of ${servers.length} nameservers: ${names.join('; ')}`,
      );
    }
    await sleep(
      Math.min(options.intervalMs, Math.max(0, options.timeoutMs - elapsed)),
      undefined,
      options.signal ? { signal: options.signal } : undefined,
    );
  }
}
