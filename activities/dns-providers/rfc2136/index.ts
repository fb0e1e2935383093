import { FailureType } from '../../../temporal/contract';
import { transportFailureText } from '../../domain/transport-failure';
import { classified, ClassifiedError } from '../../errors';
import type { DnsProvider, DnsProviderFactory } from '../types';
import { Rcode, rcodeName, Rfc2136Client, type DnsReply } from './client';
import { parseServer, type Rfc2136Config } from './descriptor';
import { TsigError } from './tsig';

/** Short TTL: the record lives minutes, and a negative-cache entry for it should not outlive the run. */
const TXT_TTL = 60;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const tsigErrorName = (code: number): string =>
  Object.entries(TsigError).find(([, value]) => value === code)?.[0] ?? `TSIG error ${code}`;

const inside = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);

export const createRfc2136Provider: DnsProviderFactory = ({ config, secrets }) => {
  const cfg = config as unknown as Rfc2136Config;
  const token = secrets['tsigSecret'] ?? '';
  const server = parseServer(cfg.server);
  if (!server) throw classified(FailureType.validation, `rfc2136: the server "${cfg.server}" is not host[:port]`);
  if (!BASE64.test(token) || token.length < 16)
    throw classified(
      FailureType.dnsAuth,
      `rfc2136: the TSIG secret of key ${cfg.keyName} is not a base64 key; paste the secret that tsig-keygen printed`,
    );
  const client = new Rfc2136Client({
    ...server,
    key: { name: cfg.keyName, algorithm: cfg.algorithm, secret: Buffer.from(token, 'base64') },
  });
  const at = `the server ${client.address}`;
  const zones = new Map<string, string>();

  const call = async <T extends DnsReply>(action: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ClassifiedError) throw error;
      throw classified(
        FailureType.dnsUnavailable,
        `rfc2136: ${action}: cannot reach ${at}: ${transportFailureText(error)}`,
      );
    }
  };

  /** RFC 8945 §5.2 errors and RFC 2136 §2.2 RCODEs as failures a technician can act on. Never the secret. */
  const check = (reply: DnsReply, action: string, zone: string | undefined): void => {
    const tsigError = reply.tsig?.error ?? 0;
    if (tsigError === TsigError.BADTIME)
      throw classified(
        FailureType.dnsAuth,
        `rfc2136: ${action}: ${at} refused the signature time (BADTIME): this machine's clock and the server's differ by more than 5 minutes`,
      );
    if (tsigError !== 0)
      throw classified(
        FailureType.dnsAuth,
        `rfc2136: ${action}: ${at} rejected TSIG key "${cfg.keyName}" (${tsigErrorName(tsigError)}). Check the key name, the algorithm (${cfg.algorithm}) and the secret.`,
      );
    const where = zone ? `zone ${zone}` : 'this name';
    switch (reply.rcode) {
      case Rcode.NOERROR:
      case Rcode.NXDOMAIN:
        break;
      case Rcode.REFUSED:
        if (zone === undefined)
          throw classified(
            FailureType.dnsZoneNotFound,
            `rfc2136: ${action}: ${at} refused the query (REFUSED): it serves no zone for this name`,
          );
        throw classified(
          FailureType.dnsAuth,
          `rfc2136: ${action}: ${at} refused key "${cfg.keyName}" on ${where} (REFUSED). Allow it in the zone's allow-update or update-policy (TXT records).`,
        );
      case Rcode.NOTAUTH:
      case Rcode.NOTZONE:
        throw classified(
          FailureType.dnsZoneNotFound,
          `rfc2136: ${action}: ${at} is not the primary server of ${where} (${rcodeName(reply.rcode)}). Check the server and the zone.`,
        );
      case Rcode.SERVFAIL:
        throw classified(FailureType.dnsUnavailable, `rfc2136: ${action}: ${at} answered SERVFAIL`);
      default:
        throw classified(
          FailureType.validation,
          `rfc2136: ${action}: ${at} answered ${rcodeName(reply.rcode)}; does it accept dynamic updates (RFC 2136)?`,
        );
    }
    if (!reply.tsig?.valid)
      throw classified(
        FailureType.dnsAuth,
        `rfc2136: ${action}: the answer from ${at} is not signed with key "${cfg.keyName}" (RFC 8945 §5.3); refusing to trust it`,
      );
  };

  /** The configured zone, else the zone whose SOA the server names for `name` (as nsupdate finds it). */
  const zoneFor = async (recordName: string): Promise<string> => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    if (cfg.zone) {
      if (!inside(name, cfg.zone))
        throw classified(FailureType.dnsZoneNotFound, `rfc2136: ${name} is not inside the configured zone ${cfg.zone}`);
      return cfg.zone;
    }
    const cached = zones.get(name);
    if (cached) return cached;
    const reply = await call(`find the zone of ${name}`, () => client.querySoa(name));
    check(reply, `find the zone of ${name}`, undefined);
    if (!reply.zone || !reply.packet.flag_aa || !inside(name, reply.zone))
      throw classified(
        FailureType.dnsZoneNotFound,
        `rfc2136: ${at} is not authoritative for any zone holding ${name}. Check the server, or set the zone.`,
      );
    zones.set(name, reply.zone);
    return reply.zone;
  };

  const update = async (action: string, recordName: string, change: { add?: string[]; remove?: string[] }) => {
    const name = recordName.replace(/\.$/, '').toLowerCase();
    const zone = await zoneFor(name);
    const reply = await call(action, () => client.updateTxt(zone, name, { ...change, ttl: TXT_TTL }));
    check(reply, action, zone);
  };

  const provider: DnsProvider = {
    async verify() {
      if (!cfg.zone) {
        // A signed query proves the key (name, algorithm, secret); REFUSED for the root is expected.
        const reply = await call('check the TSIG key', () => client.querySoa('.'));
        if (reply.rcode === Rcode.REFUSED && reply.tsig?.error === 0 && reply.tsig.valid)
          return { zone: '', detail: `TSIG key ${cfg.keyName} accepted by ${client.address}` };
        check(reply, 'check the TSIG key', undefined);
        return { zone: '', detail: `TSIG key ${cfg.keyName} accepted by ${client.address}` };
      }
      const zone = await zoneFor(cfg.zone);
      const soa = await call(`check zone ${zone}`, () => client.querySoa(zone));
      check(soa, `check zone ${zone}`, undefined);
      if (soa.zone !== zone || !soa.packet.flag_aa)
        throw classified(FailureType.dnsZoneNotFound, `rfc2136: ${at} is not authoritative for zone ${zone}`);
      // An update with no changes (RFC 2136 §3.4: nothing to apply) proves the key may update the zone.
      await update(`check updates to zone ${zone}`, zone, {});
      return { zone, detail: `TSIG key ${cfg.keyName} may update zone ${zone} at ${client.address}` };
    },
    zoneFor,
    /** RFC 2136 §3.4.2.2: adding an RR identical to an existing one changes nothing, so a retry is harmless. */
    async present(recordName, value) {
      await update(`add TXT ${recordName}`, recordName, { add: [value] });
    },
    /** RFC 2136 §2.5.4 deletes exactly this value; other values (a wildcard and its base name) stay. */
    async cleanup(recordName, value) {
      await update(`delete TXT ${recordName}`, recordName, { remove: [value] });
    },
  };
  return provider;
};
