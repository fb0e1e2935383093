/**
 * The worker's check of a target's address at connect time, after DNS resolution: every address the
 * host name resolves to must pass the network policy (activities/domain/network-policy.ts) with the
 * admin's allowed networks, so a host name pointed at a metadata service or outside the allowed
 * networks is refused before any credential is sent.
 * - checkTargetAddress: once per device session, in activities/deploy.ts (deployerFor and the verify
 *   step), for every vendor alike (HTTPS, SSH, TLS handshakes); before each drift-watch handshake; and
 *   before the management-trust handshake after a verified deploy (activities/management-trust.ts).
 * - guardedLookup: the `lookup` of the devices' HTTPS and SSH connections (deployers/device-http.ts,
 *   deployers/ssh/session.ts), so the address a connection actually uses is checked too, even when
 *   DNS answers differently by then.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { FailureType } from '../temporal/contract';
import type { Queryable } from './db/pool';
import { allowedTargetNetworks } from './db/repositories/settings';
import { addressRefusal } from './domain/network-policy';
import { classified, type ClassifiedError } from './errors';

function refused(component: string, host: string, address: string, refusal: string): ClassifiedError {
  const via = address === host ? '' : `${host} resolves to ${address}: `;
  return classified(
    FailureType.targetAddressRefused,
    `${component}: refused to connect: ${via}${refusal}. Point the target at the device's own address, or ask an admin to allow its network.`,
  );
}

/** Throws TARGET_ADDRESS_REFUSED (not retryable) when the host is, or resolves to, a refused address; returns the allowed networks it checked against. */
export async function checkTargetAddress(db: Queryable, component: string, host: string): Promise<string[]> {
  return checkTargetAddressAgainst(await allowedTargetNetworks(db), component, host);
}

/** checkTargetAddress with the allowed networks already read (a deploy step has them from its run context). */
export async function checkTargetAddressAgainst(allowed: string[], component: string, host: string): Promise<string[]> {
  if (!host) return allowed;
  // A name that does not resolve is left to the connection, which reports it as unreachable (and retries).
  const addresses = isIP(host)
    ? [host]
    : (await lookup(host, { all: true, verbatim: true }).catch(() => [])).map((a) => a.address);
  for (const address of addresses) {
    const refusal = addressRefusal(address, allowed);
    if (refusal) throw refused(component, host, address, refusal);
  }
  return allowed;
}

/** A dns.lookup for net/tls connections that fails with TARGET_ADDRESS_REFUSED when any address the name resolves to is refused. */
export function guardedLookup(component: string, allowed: readonly string[]): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      for (const { address } of addresses) {
        const refusal = addressRefusal(address, allowed);
        if (refusal) return callback(refused(component, hostname, address, refusal), '', 0);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 0);
      return callback(null, first.address, first.family);
    });
  };
}
