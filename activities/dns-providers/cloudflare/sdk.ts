/**
 * The parts of Cloudflare's official SDK (`cloudflare`) CertFleet calls: token verification, zones and
 * DNS records, on the SDK's own client (`createClient` of `cloudflare/tree-shakable`, the SDK's way to
 * load a subset of its resources; its README, "Tree shaking").
 *
 * Why a subset: the SDK's `client.js` requires every one of its resource folders (1,166 modules), which
 * in a bare `node` with the worker's flags is +24 MiB RSS and +10 MiB of heap, held by the worker for as
 * long as it runs (docs/scaling.md, "Memory"). A CommonJS `require` cannot load part of it, so `npm run
 * build` (scripts/build.ts, `BUNDLED_SOURCES`) bundles this one file with the SDK's ES modules and drops
 * what it does not import: the compiled file is about 80 KB and +2 MiB RSS (test/unit/build.test.ts
 * runs it against the fake Cloudflare). Under tsx (tests, `npm start`) it loads the whole SDK as before,
 * with the same classes.
 *
 * The error classes are exported from here so that `instanceof` checks use the same copy as the client.
 */
import { BaseRecords } from 'cloudflare/resources/dns/records';
import { BaseTokens } from 'cloudflare/resources/user/tokens/tokens';
import { BaseZones } from 'cloudflare/resources/zones/zones';
import { createClient } from 'cloudflare/tree-shakable';

export { APIConnectionTimeoutError, APIError } from 'cloudflare/core/error';

export interface CloudflareSdkOptions {
  apiToken: string;
  baseURL?: string;
  timeout: number;
  maxRetries: number;
}

/** A client with `user.tokens`, `zones` and `dns.records` only. */
export function createCloudflareSdk(options: CloudflareSdkOptions) {
  return createClient({ ...options, resources: [BaseTokens, BaseZones, BaseRecords] });
}

export type CloudflareSdk = ReturnType<typeof createCloudflareSdk>;
