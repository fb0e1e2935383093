/**
 * The worker's check of a target's address at connect time, after DNS resolution: every address the
 * host name resolves to must pass the network policy (activities/domain/network-policy.ts) with the
 * admin's allowed networks, so a host name pointed at a metadata service or outside the allowed
 * networks is refused before any credential is sent. Called once per device session, by
 * activities/deploy.ts (deployerFor and the verify step), for every vendor alike.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { FailureType } from '../temporal/contract';
import type { Queryable } from './db/pool';
import { allowedTargetNetworks } from './db/repositories/settings';
import { addressRefusal } from './domain/network-policy';
import { classified } from './errors';

export async function checkTargetAddress(db: Queryable, component: string, host: string): Promise<void> {
  if (!host) return;
  const allowed = await allowedTargetNetworks(db);
  // A name that does not resolve is left to the connection, which reports it as unreachable (and retries).
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true }).catch(() => [])).map((a) => a.address);
  for (const address of addresses) {
    const refusal = addressRefusal(address, allowed);
    if (refusal) {
      const via = address === host ? '' : `${host} resolves to ${address}: `;
      throw classified(FailureType.targetAddressRefused, `${component}: refused to connect: ${via}${refusal}. Point the target at the device's own address, or ask an admin to allow its network.`);
    }
  }
}
