import { AuthenticationError, AuthenticationRequiredError, CredentialUnavailableError } from '@azure/identity';
import { FailureType } from '../../../temporal/contract';
import { transportFailureText } from '../../domain/transport-failure';
import { classified, ClassifiedError } from '../../errors';
import { requireSecrets, withoutSecrets, zoneCandidates } from '../provider-secrets';
import type { DnsProvider, DnsProviderFactory, DnsProviderFactoryInput } from '../types';
import { AzureDnsClient, type AzureTxtSet } from './client';
import type { AzureDnsConfig } from './descriptor';

const TXT_TTL = 60;
/** Read-modify-write rounds before giving up when other writers keep changing the same TXT set. */
const CHANGE_ROUNDS = 5;

/** For tests: the fake's CA and short SDK retries; the registry uses the defaults. */
export interface AzureTransport {
  trustedCaPem?: string;
  maxRetries?: number;
  retryDelayMs?: number;
}

/** The parts of @azure/core-rest-pipeline's RestError we read (duck-typed: it is not a direct dependency). */
interface RestErrorLike {
  name: string;
  message: string;
  statusCode?: number;
  code?: string;
  response?: { headers: { get(name: string): string | undefined } };
}

const isRestError = (e: unknown): e is RestErrorLike => e instanceof Error && e.name === 'RestError';
const statusOf = (e: unknown): number | undefined => (isRestError(e) ? e.statusCode : undefined);

const entraRefused = (action: string, detail: string): ClassifiedError =>
  classified(
    FailureType.dnsAuth,
    `azure: ${action}: Microsoft Entra refused the service principal (${detail}). Check the tenant id, client id and client secret value (not its id), and that the secret has not expired.`,
  );

/** Maps SDK and identity errors to classified errors a technician can act on; never includes the client secret. */
export function classifyAzureError(error: unknown, action: string, secrets: readonly string[]): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  const clean = (text: string): string => withoutSecrets(text, secrets);
  if (error instanceof AuthenticationError) {
    const detail = clean(
      `${error.errorResponse.error}: ${error.errorResponse.errorDescription.split(/\r?\n/)[0] ?? ''}`,
    );
    if (error.statusCode >= 500)
      return classified(
        FailureType.dnsUnavailable,
        `azure: ${action}: sign-in service error ${error.statusCode} (${detail})`,
      );
    return entraRefused(action, detail);
  }
  // MSAL's refusals (invalid_client, unauthorized_client, invalid_tenant) reach us as these two.
  if (error instanceof AuthenticationRequiredError || error instanceof CredentialUnavailableError) {
    const detail = clean(error.message.split(/\r?\n/)[0] ?? error.name);
    // Only an answer from Entra (an AADSTS code, an OAuth error) is a refusal; "endpoints cannot be resolved" is not.
    if (/AADSTS\d+|invalid_client|unauthorized_client|invalid_tenant|invalid_request|invalid_scope/.test(detail))
      return entraRefused(action, detail);
    return classified(
      FailureType.dnsUnavailable,
      `azure: ${action}: cannot reach the sign-in service (${detail}). Check the tenant id and authority host: MSAL reports an unknown tenant the same way as an unreachable one.`,
    );
  }
  if (!isRestError(error) || error.statusCode === undefined) {
    const why = error instanceof Error ? transportFailureText(error) : String(error);
    return classified(FailureType.dnsUnavailable, `azure: ${action}: cannot reach the API: ${clean(why)}`);
  }
  const status = error.statusCode;
  const detail = clean(`${error.code ?? status}: ${error.message}`);
  if (status === 401)
    return classified(FailureType.dnsAuth, `azure: ${action}: the access token was refused (${detail}).`);
  if (status === 403)
    return classified(
      FailureType.dnsAuth,
      `azure: ${action}: not allowed (${detail}). Give the service principal the DNS Zone Contributor role on the zone or its resource group.`,
    );
  if (status === 429) {
    const seconds = Number(error.response?.headers.get('retry-after'));
    return classified(
      FailureType.dnsUnavailable,
      `azure: ${action}: throttled (${detail})`,
      Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 30_000,
    );
  }
  if (status >= 500)
    return classified(FailureType.dnsUnavailable, `azure: ${action}: server error ${status} (${detail})`);
  if (status === 404)
    return classified(
      FailureType.dnsZoneNotFound,
      `azure: ${action}: not found (${detail}). Check the subscription, resource group and zone.`,
    );
  return classified(FailureType.validation, `azure: ${action}: refused with ${status} (${detail})`);
}

export function buildAzureDnsProvider(input: DnsProviderFactoryInput, transport: AzureTransport = {}): DnsProvider {
  const cfg = input.config as unknown as AzureDnsConfig;
  const { clientSecret } = requireSecrets('azure', input.secrets ?? {}, { clientSecret: 'client secret' });
  const secrets = [clientSecret];
  const client = new AzureDnsClient({
    tenantId: cfg.tenantId,
    clientId: cfg.clientId,
    clientSecret,
    subscriptionId: cfg.subscriptionId,
    resourceGroup: cfg.resourceGroup,
    ...(cfg.authorityHost ? { authorityHost: cfg.authorityHost } : {}),
    ...(cfg.resourceManagerUrl ? { resourceManagerUrl: cfg.resourceManagerUrl } : {}),
    ...transport,
  });
  const zones = new Map<string, string>();

  const call = async <T>(action: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw classifyAzureError(error, action, secrets);
    }
  };

  /** The configured zone, or the longest zone of the resource group named like a parent of the name. */
  const resolveZone = async (recordName: string): Promise<string> => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    const candidates = cfg.zoneName ? [cfg.zoneName] : zoneCandidates(name);
    for (const candidate of candidates) {
      if (name !== candidate && !name.endsWith(`.${candidate}`))
        throw classified(FailureType.validation, `azure: ${name} is not inside the configured zone ${candidate}`);
      const cached = zones.get(candidate);
      if (cached) return cached;
      try {
        const found = await client.zone(candidate);
        zones.set(candidate, found);
        return found;
      } catch (error) {
        // ResourceNotFound: no such zone, try the parent. ResourceGroupNotFound and the rest: stop here.
        if (statusOf(error) === 404 && (error as RestErrorLike).code === 'ResourceNotFound' && !cfg.zoneName) continue;
        throw classifyAzureError(error, `read zone ${candidate}`, secrets);
      }
    }
    throw classified(
      FailureType.dnsZoneNotFound,
      `azure: no DNS zone for ${name} in resource group ${cfg.resourceGroup} of subscription ${cfg.subscriptionId}. Check the zone exists there, or set the zone.`,
    );
  };

  const relative = (name: string, zone: string): string => (name === zone ? '@' : name.slice(0, -(zone.length + 1)));

  /**
   * Writes the TXT set with the etag it read (If-Match), or create-only (If-None-Match: *) when there
   * was none: if another writer (the other half of a wildcard and its base name) changed the set in
   * between, Azure answers 412 and nothing changed: read again and retry.
   */
  const rewrite = async (
    recordName: string,
    next: (set: AzureTxtSet | undefined) => string[] | undefined,
  ): Promise<void> => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    const zone = await resolveZone(name);
    const rel = relative(name, zone);
    for (let round = 1; ; round++) {
      const set = await call(`read TXT ${name}`, () => client.txtSet(zone, rel));
      const values = next(set);
      if (values === undefined) return;
      try {
        if (values.length === 0 && set) await client.deleteTxt(zone, rel, set.etag);
        else await client.putTxt(zone, rel, set?.ttl ?? TXT_TTL, values, set?.etag);
        return;
      } catch (error) {
        if (statusOf(error) === 412 && round < CHANGE_ROUNDS) continue;
        throw classifyAzureError(error, `write TXT ${name}`, secrets);
      }
    }
  };

  return {
    async verify() {
      if (cfg.zoneName) {
        const zone = await resolveZone(cfg.zoneName);
        return { zone, detail: `service principal signed in, zone ${zone} visible` };
      }
      await call(`list zones of resource group ${cfg.resourceGroup}`, () => client.firstZone());
      return { zone: '', detail: 'service principal signed in' };
    },
    zoneFor: resolveZone,
    async present(recordName, value) {
      await rewrite(recordName, (set) => (set?.values.includes(value) ? undefined : [...(set?.values ?? []), value]));
    },
    async cleanup(recordName, value) {
      await rewrite(recordName, (set) =>
        set?.values.includes(value) ? set.values.filter((v) => v !== value) : undefined,
      );
    },
  };
}

export const createAzureDnsProvider: DnsProviderFactory = (input) => buildAzureDnsProvider(input);
