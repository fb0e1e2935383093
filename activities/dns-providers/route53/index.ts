import { setTimeout as sleep } from 'node:timers/promises';
import { FailureType } from '../../../temporal/contract';
import { transportFailureText } from '../../domain/transport-failure';
import { classified, ClassifiedError } from '../../errors';
import { requireSecrets, withoutSecrets, zoneCandidates } from '../provider-secrets';
import type { DnsProvider, DnsProviderFactory, DnsProviderFactoryInput } from '../types';
import { Route53Client, txtChange, type Route53TxtSet } from './client';
import type { Route53Config } from './descriptor';

const TXT_TTL = 60;
/** Read-modify-write rounds before giving up when other writers keep changing the same TXT set. */
const CHANGE_ROUNDS = 5;

export interface Route53Timing {
  /** Between GetChange polls; default 5 s (AWS: changes usually reach every Route 53 server within 60 s). */
  pollIntervalMs: number;
  /** How long present waits for INSYNC before a retryable failure; default 150 s. */
  maxWaitMs: number;
  /** SDK attempts per call; default 3. */
  maxAttempts: number;
}

const DEFAULT_TIMING: Route53Timing = { pollIntervalMs: 5_000, maxWaitMs: 150_000, maxAttempts: 3 };

/** The parts of an SDK ServiceException we read. */
interface AwsError {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
}

const isAwsError = (error: unknown): error is AwsError =>
  error instanceof Error && typeof (error as { $metadata?: unknown }).$metadata === 'object';

const AUTH_CODES = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'IncompleteSignature',
  'ExpiredToken',
  'InvalidSignatureException',
]);
const BUSY_CODES = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete', 'RequestLimitExceeded']);

/** Maps SDK errors to classified errors a technician can act on; never includes the keys. */
export function classifyRoute53Error(error: unknown, action: string, secrets: readonly string[]): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  if (!isAwsError(error) || error.$metadata?.httpStatusCode === undefined) {
    const why = error instanceof Error ? transportFailureText(error) : String(error);
    return classified(
      FailureType.dnsUnavailable,
      `route53: ${action}: cannot reach the API: ${withoutSecrets(why, secrets)}`,
    );
  }
  const status = error.$metadata.httpStatusCode;
  const detail = withoutSecrets(`${error.name}: ${error.message}`, secrets);
  if (AUTH_CODES.has(error.name) || status === 401 || status === 403) {
    return classified(
      FailureType.dnsAuth,
      `route53: ${action}: the access key was refused (${detail}). Check the key pair and that the IAM policy allows the Route 53 actions in docs/dns-providers/route53.md.`,
    );
  }
  if (BUSY_CODES.has(error.name))
    return classified(FailureType.dnsUnavailable, `route53: ${action}: ${detail}`, 10_000);
  if (status >= 500)
    return classified(FailureType.dnsUnavailable, `route53: ${action}: server error ${status} (${detail})`);
  if (error.name === 'NoSuchHostedZone')
    return classified(FailureType.dnsZoneNotFound, `route53: ${action}: ${detail}. Check the hosted zone id.`);
  return classified(FailureType.validation, `route53: ${action}: refused with ${status} (${detail})`);
}

const quoted = (value: string): string => `"${value}"`;

/** Builds the provider; `timing` is for tests (short polls), the registry uses the defaults. */
export function buildRoute53Provider(input: DnsProviderFactoryInput, timing: Partial<Route53Timing> = {}): DnsProvider {
  const cfg = input.config as Route53Config;
  const t = { ...DEFAULT_TIMING, ...timing };
  const keys = requireSecrets('route53', input.secrets ?? {}, {
    accessKeyId: 'access key id',
    secretAccessKey: 'secret access key',
  });
  const secrets = [keys.accessKeyId, keys.secretAccessKey];
  const client = new Route53Client({
    ...keys,
    maxAttempts: t.maxAttempts,
    ...(cfg.apiEndpoint ? { endpoint: cfg.apiEndpoint } : {}),
  });
  const zones = new Map<string, { id: string; name: string }>();

  const call = async <T>(action: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw classifyRoute53Error(error, action, secrets);
    }
  };

  const configuredZone = async (): Promise<{ id: string; name: string }> => {
    const id = cfg.hostedZoneId ?? '';
    const cached = zones.get(`id:${id}`);
    if (cached) return cached;
    const zone = await call(`read hosted zone ${id}`, () => client.hostedZone(id));
    zones.set(`id:${id}`, zone);
    return zone;
  };

  /** The public hosted zone holding the name: the configured one, or the longest public zone named like a parent. */
  const resolveZone = async (recordName: string): Promise<{ id: string; name: string }> => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    if (cfg.hostedZoneId) {
      const zone = await configuredZone();
      if (name !== zone.name && !name.endsWith(`.${zone.name}`))
        throw classified(
          FailureType.validation,
          `route53: ${name} is not inside the hosted zone ${zone.name} (${zone.id})`,
        );
      return zone;
    }
    for (const candidate of zoneCandidates(name)) {
      const cached = zones.get(candidate);
      if (cached) return cached;
      const found = await call(`look up zone ${candidate}`, () => client.zonesNamed(candidate));
      // A private zone of the same name answers only inside its VPCs: the CA never sees it.
      const publicZone = found.find((z) => !z.privateZone);
      if (publicZone) {
        zones.set(candidate, publicZone);
        return publicZone;
      }
    }
    throw classified(
      FailureType.dnsZoneNotFound,
      `route53: no public hosted zone for ${name} is visible to this access key. Check the zone exists in the account, or set the hosted zone id.`,
    );
  };

  const waitInSync = async (changeId: string, recordName: string): Promise<void> => {
    const deadline = Date.now() + t.maxWaitMs;
    for (;;) {
      const status = await call(`read change ${changeId}`, () => client.changeStatus(changeId));
      if (status === 'INSYNC') return;
      if (Date.now() + t.pollIntervalMs > deadline)
        throw classified(
          FailureType.dnsUnavailable,
          `route53: change ${changeId} for ${recordName} is still ${status} after ${Math.round(t.maxWaitMs / 1000)} s`,
        );
      await sleep(t.pollIntervalMs);
    }
  };

  /**
   * Replaces the TXT set by one transactional batch that DELETEs the exact set it read and CREATEs the
   * new one (API_ChangeResourceRecordSets: all or nothing). If another writer changed the set in between
   * (the other half of a wildcard and its base name), the DELETE no longer matches, Route 53 answers
   * InvalidChangeBatch and nothing changed: read again and retry. UPSERT would silently drop its value.
   */
  const rewrite = async (
    zone: string,
    name: string,
    next: (set: Route53TxtSet | undefined) => string[] | undefined,
  ): Promise<string | undefined> => {
    for (let round = 1; ; round++) {
      const set = await call(`list TXT ${name}`, () => client.txtSet(zone, name));
      const values = next(set);
      if (values === undefined) return undefined;
      const changes = [
        ...(set ? [txtChange('DELETE', name, set.ttl, set.values)] : []),
        ...(values.length ? [txtChange('CREATE', name, set?.ttl ?? TXT_TTL, values)] : []),
      ];
      try {
        return await client.changeBatch(zone, changes, `certfleet ACME challenge ${name}`);
      } catch (error) {
        if (isAwsError(error) && error.name === 'InvalidChangeBatch' && round < CHANGE_ROUNDS) continue;
        throw classifyRoute53Error(error, `change TXT ${name}`, secrets);
      }
    }
  };

  return {
    async verify() {
      if (cfg.hostedZoneId) {
        const zone = await configuredZone();
        return { zone: zone.name, detail: `access key accepted, hosted zone ${zone.name} (${zone.id}) visible` };
      }
      await call('list hosted zones', () => client.listFirstZone());
      return { zone: '', detail: 'access key accepted' };
    },
    async zoneFor(recordName) {
      return (await resolveZone(recordName)).name;
    },
    async present(recordName, value) {
      const zone = await resolveZone(recordName);
      const name = recordName.replace(/\.$/, '').toLowerCase();
      const changeId = await rewrite(zone.id, name, (set) =>
        set?.values.includes(quoted(value)) ? undefined : [...(set?.values ?? []), quoted(value)],
      );
      if (changeId) await waitInSync(changeId, name);
    },
    async cleanup(recordName, value) {
      const zone = await resolveZone(recordName);
      const name = recordName.replace(/\.$/, '').toLowerCase();
      await rewrite(zone.id, name, (set) =>
        set?.values.includes(quoted(value)) ? set.values.filter((v) => v !== quoted(value)) : undefined,
      );
    },
  };
}

export const createRoute53Provider: DnsProviderFactory = (input) => buildRoute53Provider(input);
