import { createHash } from 'node:crypto';
import { FailureType } from '../temporal/contract';
import { openBoundOr, openDnsToken } from './crypto/bound-secrets';
import { getDnsProvider, type DnsProviderRecord } from './db/repositories/dns-providers';
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
 * Built providers per factory, keyed by the row's id, sealed token and config: an edited token or
 * zone builds a new one at once. A fleet renewing a thousand names on one Cloudflare account then
 * looks the zone up once, not twice per name (Cloudflare allows 1,200 API requests per 5 minutes).
 */
const cache = new WeakMap<DnsProviderFactory, BoundedCache<CachedProvider>>();

/** The token, opened with the provider's API address as it is now: a token sealed for another address is never sent. */
function tokenOf(deps: ActivityDeps, record: DnsProviderRecord): string {
  return openBoundOr(
    () => openDnsToken(deps.box, record),
    () => {
      throw classified(
        FailureType.dnsAuth,
        `${record.kind}: the stored API token of DNS provider "${record.name}" belongs to another API address; edit the provider and enter the token again`,
      );
    },
  );
}

async function cachedProvider(deps: ActivityDeps, providerId: string): Promise<CachedProvider> {
  const record = await getDnsProvider(deps.db, providerId);
  if (!record) throw classified(FailureType.notFound, `dns: provider ${providerId} no longer exists`);
  const factory = deps.dnsProviders[record.kind];
  if (!factory)
    throw classified(FailureType.validation, `dns: provider kind "${record.kind}" is not supported by this version`);
  let built = cache.get(factory);
  if (!built) cache.set(factory, (built = new BoundedCache<CachedProvider>(MAX_CACHED, PROVIDER_TTL_MS)));
  const key = createHash('sha256')
    .update(JSON.stringify([record.id, record.tokenSealed, record.config]))
    .digest('hex');
  const hit = built.get(key);
  if (hit) return hit;
  const token = tokenOf(deps, record);
  const entry: CachedProvider = { provider: factory({ config: record.config, token, secrets: { token } }) };
  built.set(key, entry);
  return entry;
}

/** Builds (or reuses) the provider of a stored row, unsealing its token only in memory. */
export async function loadDnsProvider(deps: ActivityDeps, providerId: string): Promise<{ provider: DnsProvider }> {
  const { provider } = await cachedProvider(deps, providerId);
  return { provider };
}

/**
 * The pre-order check: the provider's token works. A success within the last minute stands (a fleet
 * renewal checks the same token once, not once per certificate); a failure is never cached.
 */
export async function verifyDnsProviderRecently(deps: ActivityDeps, providerId: string): Promise<DnsProvider> {
  const entry = await cachedProvider(deps, providerId);
  if (entry.verifiedAt === undefined || Date.now() - entry.verifiedAt >= VERIFIED_TTL_MS) {
    await entry.provider.verify();
    entry.verifiedAt = Date.now();
  }
  return entry.provider;
}
