import { createHash } from 'node:crypto';
import { FailureType } from '../temporal/contract';
import { openBoundOr, openDnsSecrets } from './crypto/bound-secrets';
import { getDnsProvider, providerServesCustomer, type DnsProviderRecord } from './db/repositories/dns-providers';
import type { ActivityDeps } from './deps';
import type { DnsProvider, DnsProviderFactory } from './dns-providers/types';
import { classified } from './errors';
import { BoundedCache } from './bounded-cache';

/** How long a built provider (its API client and the zone ids it looked up) is reused by this worker. */
const PROVIDER_TTL_MS = 5 * 60_000;
/** How long a successful pre-order token check stands for the next runs on the same provider. */
const VERIFIED_TTL_MS = 60_000;
const MAX_CACHED = 200;

interface CachedProvider {
  provider: DnsProvider;
  verifiedAt?: number;
}

/**
 * Built providers per factory, keyed by the row's id, sealed secrets and config: an edited secret or
 * zone builds a new one at once. A fleet renewing a thousand names on one Cloudflare account then
 * looks the zone up once, not twice per name (Cloudflare allows 1,200 API requests per 5 minutes).
 */
const cache = new WeakMap<DnsProviderFactory, BoundedCache<CachedProvider>>();

/** The secrets, opened with the provider's endpoint as it is now: a secret sealed for another address is never sent. */
function secretsOf(deps: ActivityDeps, record: DnsProviderRecord): Record<string, string> {
  return openBoundOr(
    () => openDnsSecrets(deps.box, record),
    () => {
      throw classified(
        FailureType.dnsAuth,
        `${record.kind}: the stored credentials of DNS provider "${record.name}" belong to another API address; edit the provider and enter them again`,
      );
    },
  );
}

/** A certificate's use of a provider: the provider must be shared or its customer's own. */
export interface ProviderUse {
  providerId: string;
  /** The certificate's customer; absent for the console's credential check of the provider itself. */
  customerId?: string;
}

async function cachedProvider(deps: ActivityDeps, use: ProviderUse): Promise<CachedProvider> {
  const record = await getDnsProvider(deps.db, use.providerId);
  if (!record) throw classified(FailureType.notFound, `dns: provider ${use.providerId} no longer exists`);
  if (use.customerId !== undefined && !providerServesCustomer(record, use.customerId))
    throw classified(
      FailureType.validation,
      `dns: DNS provider "${record.name}" belongs to another customer than the certificate; choose a shared provider or one of the certificate's customer`,
    );
  const factory = deps.dnsProviders[record.kind];
  if (!factory)
    throw classified(FailureType.validation, `dns: provider kind "${record.kind}" is not supported by this version`);
  let built = cache.get(factory);
  if (!built) cache.set(factory, (built = new BoundedCache<CachedProvider>(MAX_CACHED, PROVIDER_TTL_MS)));
  const key = createHash('sha256')
    .update(JSON.stringify([record.id, record.secretsSealed, record.config]))
    .digest('hex');
  const hit = built.get(key);
  if (hit) return hit;
  const entry: CachedProvider = { provider: factory({ config: record.config, secrets: secretsOf(deps, record) }) };
  built.set(key, entry);
  return entry;
}

/** Builds (or reuses) the provider of a stored row, unsealing its token only in memory. */
export async function loadDnsProvider(deps: ActivityDeps, use: ProviderUse): Promise<{ provider: DnsProvider }> {
  const { provider } = await cachedProvider(deps, use);
  return { provider };
}

/**
 * The pre-order check: the provider's token works. A success within the last minute stands (a fleet
 * renewal checks the same token once, not once per certificate); a failure is never cached.
 */
export async function verifyDnsProviderRecently(deps: ActivityDeps, use: ProviderUse): Promise<DnsProvider> {
  const entry = await cachedProvider(deps, use);
  if (entry.verifiedAt === undefined || Date.now() - entry.verifiedAt >= VERIFIED_TTL_MS) {
    await entry.provider.verify();
    entry.verifiedAt = Date.now();
  }
  return entry.provider;
}
