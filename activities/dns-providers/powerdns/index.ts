import { FailureType } from '../../../temporal/contract';
import { transportFailureText } from '../../domain/transport-failure';
import { classified, ClassifiedError } from '../../errors';
import { classifiedCalls } from '../classified-call';
import type { DnsProvider, DnsProviderFactory } from '../types';
import { PowerDnsClient, PowerDnsHttpError } from './client';
import type { PowerDnsConfig } from './descriptor';

const TXT_TTL = 60;
/** TXT content as PowerDNS stores it: one quoted character-string (ACME values are base64url, no quotes to escape). */
const quoted = (value: string): string => `"${value}"`;
const unquoted = (content: string): string => content.replace(/^"(.*)"$/, '$1').replace(/" "/g, '');

/** Maps an API or transport failure to a classified error a technician can act on. Never includes the key. */
export function classifyPowerDnsError(error: unknown, action: string): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  if (error instanceof PowerDnsHttpError) {
    const { status, detail } = error;
    if (status === 401 || status === 403)
      return classified(
        FailureType.dnsAuth,
        `powerdns: ${action}: the API key was rejected (${status} ${detail}). Check the provider's API key against the server's api-key setting.`,
      );
    if (status === 404)
      return classified(
        FailureType.dnsZoneNotFound,
        `powerdns: ${action}: not found (${detail}). Check the server id and zone.`,
      );
    if (status === 429 || status >= 500)
      return classified(FailureType.dnsUnavailable, `powerdns: ${action}: server error ${status} (${detail})`);
    return classified(FailureType.validation, `powerdns: ${action}: request refused with ${status} (${detail})`);
  }
  const why = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : transportFailureText(error);
  return classified(FailureType.dnsUnavailable, `powerdns: ${action}: cannot reach the API: ${why}`);
}

export const createPowerDnsProvider: DnsProviderFactory = ({ config, secrets }) => {
  const cfg = config as unknown as PowerDnsConfig;
  const client = new PowerDnsClient({ apiUrl: cfg.apiUrl, serverId: cfg.serverId, apiKey: secrets['apiKey'] ?? '' });
  const zones = new Map<string, string>();

  const call = classifiedCalls(classifyPowerDnsError);

  /** The configured zone, or the longest suffix of the name that the server has as a zone. */
  const zoneFor = async (recordName: string): Promise<string> => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    const inside = (zone: string) => name === zone || name.endsWith(`.${zone}`);
    if (cfg.zoneName) {
      if (!inside(cfg.zoneName))
        throw classified(FailureType.validation, `powerdns: ${name} is not inside the configured zone ${cfg.zoneName}`);
      return cfg.zoneName;
    }
    const cached = zones.get(name);
    if (cached) return cached;
    const labels = name.split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const candidate = labels.slice(i).join('.');
      if (await call(`look up zone ${candidate}`, () => client.zoneExists(candidate))) {
        zones.set(name, candidate);
        return candidate;
      }
    }
    throw classified(
      FailureType.dnsZoneNotFound,
      `powerdns: no zone on server "${cfg.serverId}" holds ${name}. Create the zone in PowerDNS, or check the server id.`,
    );
  };

  /** Reads the name's TXT values and writes them back with `change` applied (REPLACE carries the whole RRSet). */
  const rewrite = async (recordName: string, change: (values: string[]) => string[], verb: string) => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    const zone = await zoneFor(name);
    const current = await call(`read TXT ${name}`, () => client.txtRecords(zone, name));
    const values = current.contents.map(unquoted);
    const next = change(values);
    if (next.length === values.length && next.every((v, i) => v === values[i])) return;
    await call(`${verb} TXT ${name}`, () => client.replaceTxt(zone, name, next.map(quoted), current.ttl ?? TXT_TTL));
  };

  const provider: DnsProvider = {
    async verify() {
      const info = await call('read server info', () => client.serverInfo());
      if (cfg.zoneName) {
        if (!(await call(`look up zone ${cfg.zoneName}`, () => client.zoneExists(cfg.zoneName ?? ''))))
          throw classified(
            FailureType.dnsZoneNotFound,
            `powerdns: the zone ${cfg.zoneName} does not exist on server "${cfg.serverId}"`,
          );
        return {
          zone: cfg.zoneName,
          detail: `API key accepted by PowerDNS ${info.version}, zone ${cfg.zoneName} found`,
        };
      }
      return { zone: '', detail: `API key accepted by PowerDNS ${info.version}` };
    },
    zoneFor,
    present: (recordName, value) =>
      rewrite(recordName, (values) => (values.includes(value) ? values : [...values, value]), 'add'),
    cleanup: (recordName, value) => rewrite(recordName, (values) => values.filter((v) => v !== value), 'remove'),
  };
  return provider;
};
