/**
 * Thin wire client for one authoritative server: a SOA query (which zone holds a name) and an RFC 2136
 * UPDATE, both TSIG-signed (RFC 8945) and sent over TCP (RFC 1035 §4.2.2: two-octet length prefix;
 * RFC 2136 §6 allows TCP for updates, and TCP needs no truncation handling). No business logic.
 */
import { randomInt } from 'node:crypto';
import * as net from 'node:net';
import dnsPacket from 'dns-packet';
import { checkReply, signMessage, type ReplyTsig, type TsigKey } from './tsig';
import { DnsClass, DnsType, encodeQuery, encodeUpdate, txtRdata, type ResourceRecord } from './wire';

/** RFC 1035 §4.1.1 and RFC 2136 §2.2 RCODEs. */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
} as const;
export const rcodeName = (code: number): string =>
  Object.entries(Rcode).find(([, value]) => value === code)?.[0] ?? `RCODE ${code}`;

export interface DnsReply {
  rcode: number;
  /** The reply's TSIG record, checked against our key; undefined when the server sent none. */
  tsig: ReplyTsig | undefined;
  packet: dnsPacket.DecodedPacket;
}

export interface Rfc2136ClientOptions {
  host: string;
  port: number;
  key: TsigKey;
  timeoutMs?: number;
}

export class Rfc2136Client {
  constructor(private readonly options: Rfc2136ClientOptions) {}

  /** Where the server is, for messages (never the key). */
  get address(): string {
    const { host, port } = this.options;
    return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** QUERY name SOA (RFC 1035 §4.1.2): the answer, or the authority section of a negative answer, names the zone. */
  async querySoa(name: string): Promise<DnsReply & { zone: string | undefined }> {
    const reply = await this.exchange(encodeQuery(randomInt(0x10000), name, DnsType.SOA));
    const soa = [...(reply.packet.answers ?? []), ...(reply.packet.authorities ?? [])].find((rr) => rr.type === 'SOA');
    return { ...reply, zone: soa ? soa.name.replace(/\.$/, '').toLowerCase() : undefined };
  }

  /** UPDATE (RFC 2136 §2.5.1 add, §2.5.4 delete one RR) of TXT values on one name in `zone`. */
  async updateTxt(zone: string, name: string, change: { add?: string[]; remove?: string[]; ttl?: number }) {
    const records: ResourceRecord[] = [
      ...(change.remove ?? []).map((value) => ({
        name,
        type: DnsType.TXT,
        class: DnsClass.NONE,
        ttl: 0,
        rdata: txtRdata(value),
      })),
      ...(change.add ?? []).map((value) => ({
        name,
        type: DnsType.TXT,
        class: DnsClass.IN,
        ttl: change.ttl ?? 60,
        rdata: txtRdata(value),
      })),
    ];
    return this.exchange(encodeUpdate(randomInt(0x10000), zone, records));
  }

  private async exchange(message: Buffer): Promise<DnsReply> {
    const { signed, mac } = signMessage(message, this.options.key);
    const raw = await this.sendTcp(signed);
    if (raw.length < 12 || raw.readUInt16BE(0) !== message.readUInt16BE(0))
      throw new Error(`the reply from ${this.address} does not answer our request`);
    return {
      rcode: raw.readUInt16BE(2) & 0xf,
      tsig: checkReply(raw, this.options.key, mac),
      packet: dnsPacket.decode(raw),
    };
  }

  private sendTcp(message: Buffer): Promise<Buffer> {
    const { host, port } = this.options;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const chunks: Buffer[] = [];
      let received = 0;
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        const all = Buffer.concat(chunks, received);
        if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
          socket.end();
          resolve(all.subarray(2, 2 + all.readUInt16BE(0)));
        }
      });
      socket.once('end', () => reject(new Error('the server closed the connection without an answer')));
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length, 0);
      socket.write(Buffer.concat([length, message]));
    });
  }
}
