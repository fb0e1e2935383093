import { FailureType } from '../../../temporal/contract';
import { transportFailureText } from '../../domain/transport-failure';
import { classified, ClassifiedError } from '../../errors';
import { classifiedCalls } from '../classified-call';
import type { DnsProvider, DnsProviderFactory } from '../types';
import { CloudflareClient } from './client';
import { APIConnectionTimeoutError, APIError } from './sdk';
import type { CloudflareConfig } from './descriptor';

const TXT_TTL = 120; // lowest TTL Cloudflare accepts for non-enterprise zones
const unquote = (s: string): string => s.replace(/^"(.*)"$/, '$1');

/** The parts of the SDK's APIError we read (its generic parameters are `any`). */
interface CloudflareApiError {
  status: number | undefined;
  errors: unknown;
  message: string;
}

function apiErrorCodes(error: CloudflareApiError): string {
  const items = (Array.isArray(error.errors) ? error.errors : []) as { code?: number; message?: string }[];
  return items.map((e) => `${e.message ?? 'error'}${e.code !== undefined ? ` (code ${e.code})` : ''}`).join('; ');
}

/** Maps SDK errors to classified errors with messages a technician can act on. Never includes the token. */
export function classifyCloudflareError(error: unknown, action: string): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  if (error instanceof APIError) {
    const apiError: CloudflareApiError = {
      status: typeof error.status === 'number' ? error.status : undefined,
      errors: error.errors,
      message: error.message,
    };
    const detail = apiErrorCodes(apiError) || apiError.message;
    const status = apiError.status;
    if (status === 401 || status === 403 || (status === 400 && /auth|6003|6111|10000/i.test(detail))) {
      return classified(
        FailureType.dnsAuth,
        `cloudflare: ${action}: the API token was rejected (${detail}). Check the token and that it has Zone:DNS:Edit on this zone.`,
      );
    }
    if (status === 429)
      return classified(FailureType.dnsUnavailable, `cloudflare: ${action}: rate limited (${detail})`, 30_000);
    if (status !== undefined && status >= 500)
      return classified(FailureType.dnsUnavailable, `cloudflare: ${action}: server error ${status} (${detail})`);
    if (status === 404)
      return classified(
        FailureType.dnsZoneNotFound,
        `cloudflare: ${action}: not found (${detail}). Check the zone id.`,
      );
    if (status === undefined) {
      const why = error instanceof APIConnectionTimeoutError ? 'timed out' : transportFailureText(error);
      return classified(FailureType.dnsUnavailable, `cloudflare: ${action}: cannot reach the API: ${why}`);
    }
    return classified(FailureType.validation, `cloudflare: ${action}: request refused with ${status} (${detail})`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return classified(FailureType.dnsUnavailable, `cloudflare: ${action}: ${message}`);
}

export const createCloudflareProvider: DnsProviderFactory = ({ config, secrets }) => {
  const cfg = config as CloudflareConfig;
  const token = secrets['token'] ?? '';
  const client = new CloudflareClient({ token, ...(cfg.apiBaseUrl ? { baseUrl: cfg.apiBaseUrl } : {}) });
  const zoneIds = new Map<string, string>();

  const call = classifiedCalls(classifyCloudflareError);

  /** Walks the labels of the name upward until a zone matches, unless the zone is configured. */
  const resolveZone = async (recordName: string): Promise<{ id: string; name: string }> => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    if (cfg.zoneId && cfg.zoneName) {
      if (name !== cfg.zoneName && !name.endsWith('.' + cfg.zoneName)) {
        throw classified(
          FailureType.validation,
          `cloudflare: ${name} is not inside the configured zone ${cfg.zoneName}`,
        );
      }
      return { id: cfg.zoneId, name: cfg.zoneName };
    }
    const labels = name.split('.');
    const candidates = cfg.zoneName ? [cfg.zoneName] : labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
    for (const candidate of candidates) {
      if (cfg.zoneName && name !== candidate && !name.endsWith('.' + candidate)) break;
      const cached = zoneIds.get(candidate);
      if (cached) return { id: cached, name: candidate };
      const id = await call(`look up zone ${candidate}`, () => client.findZoneId(candidate));
      if (id) {
        zoneIds.set(candidate, id);
        return { id, name: candidate };
      }
    }
    throw classified(
      FailureType.dnsZoneNotFound,
      `cloudflare: no zone for ${name} is visible to this token. Check the zone exists in the account and the token has Zone:Zone:Read, or set the zone id.`,
    );
  };

  const provider: DnsProvider = {
    async verify() {
      const status = await call('verify token', () => client.verifyToken());
      if (status !== 'active') {
        throw classified(
          FailureType.dnsAuth,
          `cloudflare: the API token is ${status}. Create a new token with Zone:DNS:Edit.`,
        );
      }
      if (cfg.zoneName) {
        const zone = await resolveZone(cfg.zoneName);
        return { zone: zone.name, detail: `token active, zone ${zone.name} visible` };
      }
      return { zone: '', detail: 'token active' };
    },
    async zoneFor(recordName) {
      return (await resolveZone(recordName)).name;
    },
    async present(recordName, value) {
      const zone = await resolveZone(recordName);
      const existing = await call(`list TXT ${recordName}`, () => client.listTxt(zone.id, recordName));
      if (existing.some((r) => unquote(r.content) === value)) return;
      try {
        await client.createTxt(zone.id, recordName, value, TXT_TTL);
      } catch (error) {
        // 81057/81058: the identical record already exists (created by an earlier attempt)
        if (error instanceof APIError && /8105[78]/.test(JSON.stringify(error.errors ?? []))) return;
        throw classifyCloudflareError(error, `create TXT ${recordName}`);
      }
    },
    async cleanup(recordName, value) {
      const zone = await resolveZone(recordName);
      const existing = await call(`list TXT ${recordName}`, () => client.listTxt(zone.id, recordName));
      for (const record of existing.filter((r) => unquote(r.content) === value)) {
        try {
          await client.deleteRecord(zone.id, record.id);
        } catch (error) {
          if (error instanceof APIError && error.status === 404) continue;
          throw classifyCloudflareError(error, `delete TXT ${recordName}`);
        }
      }
    },
  };
  return provider;
};
