import { Context } from '@temporalio/activity';
import { FailureType, type DnsDelegationCheckInput, type DnsDelegationCheckResult } from '../temporal/contract';
import { setOrderTxtTarget } from './db/repositories/acme-orders';
import { getOrderContext } from './db/repositories/order-context';
import { getCertificate } from './db/repositories/certificates';
import type { ActivityDeps } from './deps';
import { resolveChallengeTarget } from './dns-delegation';
import { nameServersFor, waitForTxtPropagation } from './dns-propagation';
import { challengeRecordName } from './domain/certificate-name';
import type { DnsProvider } from './dns-providers/types';
import { classified, ClassifiedError } from './errors';
import { loadDnsProvider, verifyDnsProviderRecently } from './load-dns-provider';
import { BoundedCache } from './bounded-cache';
import { getDnsProvider } from './db/repositories/dns-providers';
import { guardedCallsOf, type DependencyRef } from './dependency-guard';
import { asStep } from './step-failure';

export function createDnsActivities(deps: ActivityDeps) {
  // Every call to a DNS provider's API runs within the account's share and circuit breaker (dependency-guard/).
  const guarded = guardedCallsOf(deps.guard);
  const providerNames = new BoundedCache<string>(256, 5 * 60_000);
  const accountOf = async (providerId: string): Promise<DependencyRef> => {
    let name = providerNames.get(providerId);
    if (name === undefined) {
      name = (await getDnsProvider(deps.db, providerId))?.name ?? `DNS provider ${providerId}`;
      providerNames.set(providerId, name);
    }
    return { kind: 'dns-provider', id: providerId, label: name };
  };

  /** The order and its certificate, read in one statement once per activity (a missing one is reported outside any breaker). */
  const orderAndCertificate = async (orderId: string) => {
    const { order, certificate: cert } = await getOrderContext(deps.db, orderId);
    if (!order) throw classified(FailureType.notFound, `dns: order ${orderId} not found`);
    if (!cert)
      throw classified(FailureType.notFound, `dns: certificate ${order.certificateId} was deleted during issuance`);
    return { order, cert };
  };

  /**
   * The order's challenge values, the provider of its certificate, and the name the TXT record is
   * written to: the CNAME target of `_acme-challenge.<name>` when it is delegated. Resolved once and
   * kept on the order, so the propagation check and the cleanup use the name the record went to.
   */
  const challengeOf = async ({ order, cert }: Awaited<ReturnType<typeof orderAndCertificate>>) => {
    const { provider } = await loadDnsProvider(deps, { providerId: cert.dnsProviderId, customerId: cert.customerId });
    const challengeName = order.txtRecordName ?? '';
    const recordName =
      order.txtTargetName ??
      (await setOrderTxtTarget(
        deps.db,
        order.id,
        (await resolveChallengeTarget(cert, provider, challengeName, deps.propagation.resolvers)).writeTo,
      ));
    return { recordName, values: order.txtValues, provider };
  };

  /** The order's challenge and `work` on it, within the provider account's share and breaker. */
  const guardedChallenge = async <T>(
    orderId: string,
    work: (challenge: Awaited<ReturnType<typeof challengeOf>>) => Promise<T>,
  ): Promise<T> => {
    const loaded = await orderAndCertificate(orderId);
    return guarded(await accountOf(loaded.cert.dnsProviderId), async () => work(await challengeOf(loaded)));
  };

  /** The worker's resolvers (DNS_PROPAGATION_RESOLVERS), else the zone's authoritative nameservers. */
  const propagationServers = async (provider: DnsProvider, recordName: string) => {
    const resolvers = deps.propagation.resolvers;
    const zone = resolvers.length > 0 ? '' : await provider.zoneFor(recordName);
    return nameServersFor(zone, resolvers);
  };

  /** One round of the propagation check: visible at every server, or what was missing. */
  const lookOnce = async (
    provider: DnsProvider,
    recordName: string,
    values: string[],
  ): Promise<{ propagated: boolean; detail?: string }> => {
    const servers = await propagationServers(provider, recordName);
    try {
      await waitForTxtPropagation(recordName, values, servers, { intervalMs: 0, timeoutMs: 0 });
      return { propagated: true };
    } catch (error) {
      if (error instanceof ClassifiedError && error.type === FailureType.propagationTimeout)
        return { propagated: false, detail: error.message };
      throw error;
    }
  };

  return {
    /**
     * Checks the certificate's DNS provider (token, zone) before an ACME order is spent on it:
     * Let's Encrypt limits new orders, and a bad token is found here in a second.
     */
    async checkDnsProvider(input: { certificateId: string }): Promise<{ zone: string }> {
      const cert = await getCertificate(deps.db, input.certificateId);
      if (!cert) throw classified(FailureType.notFound, `dns: certificate ${input.certificateId} no longer exists`);
      return guarded(await accountOf(cert.dnsProviderId), async () => {
        const provider = await verifyDnsProviderRecently(deps, {
          providerId: cert.dnsProviderId,
          customerId: cert.customerId,
        });
        const target = await resolveChallengeTarget(
          cert,
          provider,
          challengeRecordName(cert.commonName),
          deps.propagation.resolvers,
        );
        return { zone: await provider.zoneFor(target.writeTo) };
      });
    },

    /**
     * "Check the CNAME" on the certificate page: is `_acme-challenge.<name>` delegated as this
     * certificate needs? Reads public DNS and asks the provider which zone it writes; changes nothing.
     */
    async checkDnsDelegation(input: DnsDelegationCheckInput): Promise<DnsDelegationCheckResult> {
      const cert = await getCertificate(deps.db, input.certificateId);
      if (!cert) throw classified(FailureType.notFound, `dns: certificate ${input.certificateId} no longer exists`);
      const { provider } = await loadDnsProvider(deps, { providerId: cert.dnsProviderId, customerId: cert.customerId });
      const outcome = await resolveChallengeTarget(
        cert,
        provider,
        challengeRecordName(cert.commonName),
        deps.propagation.resolvers,
      );
      return { ok: true, detail: outcome.detail, ...(outcome.found ? { found: outcome.found } : {}) };
    },

    /** "Verify token" from the console: the provider's token is active and sees its zone. Changes nothing. */
    async verifyDnsProvider(input: { providerId: string }): Promise<{ zone: string; detail: string }> {
      const { provider } = await loadDnsProvider(deps, { providerId: input.providerId });
      return provider.verify();
    },

    /** Publishes the TXT value(s). Idempotent. */
    async presentDnsChallenge(input: { orderId: string }): Promise<{ recordName: string; count: number }> {
      return guardedChallenge(input.orderId, async ({ recordName, values, provider }) => {
        for (const value of values) await provider.present(recordName, value);
        return { recordName, count: values.length };
      });
    },

    /**
     * Waits until every authoritative nameserver (or configured resolver) serves the TXT values.
     * Heartbeats each round, so a dead worker is noticed within the heartbeat timeout.
     */
    async waitForDnsPropagation(input: { orderId: string }): Promise<{ nameservers: string[]; elapsedMs: number }> {
      const { recordName, values, provider } = await challengeOf(await orderAndCertificate(input.orderId));
      const servers = await propagationServers(provider, recordName);
      const ctx = Context.current();
      const result = await waitForTxtPropagation(recordName, values, servers, {
        intervalMs: deps.propagation.intervalMs,
        timeoutMs: deps.propagation.timeoutMs,
        onPoll: (pending) => ctx.heartbeat({ pending: pending.length }),
        signal: ctx.cancellationSignal,
      });
      return { nameservers: servers.map((s) => s.address), elapsedMs: result.elapsedMs };
    },

    /**
     * One round of the propagation check, for a local activity before the patient wait: with
     * authoritative nameservers that answer at once (most of the time), the run needs no wait at all.
     */
    async checkDnsPropagationOnce(input: { orderId: string }): Promise<{ propagated: boolean; detail?: string }> {
      const { recordName, values, provider } = await challengeOf(await orderAndCertificate(input.orderId));
      return lookOnce(provider, recordName, values);
    },

    /**
     * Publishes the TXT value(s) and takes the first propagation look, in ONE activity (both DNS: the
     * provider's API within its account's share and breaker, then one round at the nameservers): one
     * activity task and one workflow task fewer per renewal. Idempotent (publishing is). `publishedAt`
     * ends the run's "present" step and starts "propagate"; not `propagated`: the patient wait follows.
     */
    async prepareDnsChallenge(input: { orderId: string }): Promise<{
      recordName: string;
      count: number;
      publishedAt: string;
      propagated: boolean;
      detail?: string;
    }> {
      const loaded = await orderAndCertificate(input.orderId);
      const { recordName, values, provider } = await guarded(await accountOf(loaded.cert.dnsProviderId), async () => {
        const challenge = await challengeOf(loaded);
        for (const value of challenge.values) await challenge.provider.present(challenge.recordName, value);
        return challenge;
      });
      const publishedAt = new Date().toISOString();
      const look = await asStep('propagate', () => lookOnce(provider, recordName, values));
      return { recordName, count: values.length, publishedAt, ...look };
    },

    /** Removes the TXT value(s). Idempotent; runs in every outcome. */
    async removeDnsChallenge(input: { orderId: string }): Promise<{ removed: number }> {
      return guardedChallenge(input.orderId, async ({ recordName, values, provider }) => {
        for (const value of values) await provider.cleanup(recordName, value);
        return { removed: values.length };
      });
    },
  };
}
