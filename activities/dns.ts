import { Context } from '@temporalio/activity';
import { FailureType } from '../temporal/contract';
import { getOrder } from './db/repositories/acme-orders';
import { getCertificate } from './db/repositories/certificates';
import type { ActivityDeps } from './deps';
import { nameServersFor, parseResolverList, waitForTxtPropagation } from './dns-propagation';
import { challengeRecordName } from './domain/certificate-name';
import { classified } from './errors';
import { loadDnsProvider } from './load-dns-provider';

export function createDnsActivities(deps: ActivityDeps) {
  /** The order's challenge record and the provider of its certificate. */
  const challengeOf = async (orderId: string) => {
    const order = await getOrder(deps.db, orderId);
    if (!order) throw classified(FailureType.notFound, `dns: order ${orderId} not found`);
    const cert = await getCertificate(deps.db, order.certificateId);
    if (!cert) throw classified(FailureType.notFound, `dns: certificate ${order.certificateId} was deleted during issuance`);
    const { provider, config } = await loadDnsProvider(deps, cert.dnsProviderId);
    return { recordName: order.txtRecordName ?? '', values: order.txtValues, provider, config };
  };

  return {
    /**
     * Checks the certificate's DNS provider (token, zone) before an ACME order is spent on it:
     * Let's Encrypt limits new orders, and a bad token is found here in a second.
     */
    async checkDnsProvider(input: { certificateId: string }): Promise<{ zone: string }> {
      const cert = await getCertificate(deps.db, input.certificateId);
      if (!cert) throw classified(FailureType.notFound, `dns: certificate ${input.certificateId} no longer exists`);
      const { provider } = await loadDnsProvider(deps, cert.dnsProviderId);
      await provider.verify();
      return { zone: await provider.zoneFor(challengeRecordName(cert.commonName)) };
    },

    /** "Verify token" from the console: the provider's token is active and sees its zone. Changes nothing. */
    async verifyDnsProvider(input: { providerId: string }): Promise<{ zone: string; detail: string }> {
      const { provider } = await loadDnsProvider(deps, input.providerId);
      return provider.verify();
    },

    /** Publishes the TXT value(s). Idempotent. */
    async presentDnsChallenge(input: { orderId: string }): Promise<{ recordName: string; count: number }> {
      const { recordName, values, provider } = await challengeOf(input.orderId);
      for (const value of values) await provider.present(recordName, value);
      return { recordName, count: values.length };
    },

    /**
     * Waits until every authoritative nameserver (or configured resolver) serves the TXT values.
     * Heartbeats each round, so a dead worker is noticed within the heartbeat timeout.
     */
    async waitForDnsPropagation(input: { orderId: string }): Promise<{ nameservers: string[]; elapsedMs: number }> {
      const { recordName, values, provider, config } = await challengeOf(input.orderId);
      const configured = parseResolverList(typeof config['resolvers'] === 'string' ? config['resolvers'] : undefined);
      const resolvers = configured.length > 0 ? configured : deps.propagation.resolvers;
      const zone = resolvers.length > 0 ? '' : await provider.zoneFor(recordName);
      const servers = await nameServersFor(zone, resolvers);
      const ctx = Context.current();
      const result = await waitForTxtPropagation(recordName, values, servers, {
        intervalMs: deps.propagation.intervalMs,
        timeoutMs: deps.propagation.timeoutMs,
        onPoll: (pending) => ctx.heartbeat({ pending: pending.length }),
        signal: ctx.cancellationSignal,
      });
      return { nameservers: servers.map((s) => s.address), elapsedMs: result.elapsedMs };
    },

    /** Removes the TXT value(s). Idempotent; runs in every outcome. */
    async removeDnsChallenge(input: { orderId: string }): Promise<{ removed: number }> {
      const { recordName, values, provider } = await challengeOf(input.orderId);
      for (const value of values) await provider.cleanup(recordName, value);
      return { removed: values.length };
    },
  };
}
