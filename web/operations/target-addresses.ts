import { isIP } from 'node:net';
import type { Queryable } from '../../activities/db/pool';
import { allowedTargetNetworks } from '../../activities/db/repositories/settings';
import { addressRefusal } from '../../activities/domain/network-policy';

/**
 * Why one of these hosts may not be used by a target or a verify endpoint, when one is an IP address
 * the network policy refuses (host names are checked by the worker once resolved).
 */
export async function refusedAddress(db: Queryable, hosts: readonly string[]): Promise<string | undefined> {
  const ips = hosts.filter((host) => isIP(host) !== 0);
  if (ips.length === 0) return undefined;
  const allowed = await allowedTargetNetworks(db);
  for (const ip of ips) {
    const refusal = addressRefusal(ip, allowed);
    if (refusal) return `Refused: ${refusal}.`;
  }
  return undefined;
}
