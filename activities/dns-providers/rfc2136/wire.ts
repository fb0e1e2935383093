/**
 * DNS messages in wire format (RFC 1035 §4.1), only what RFC 2136 dynamic update needs: a SOA query,
 * an UPDATE (RFC 2136 §2: zone, prerequisite, update and additional sections) with TXT adds and deletes,
 * and a reader for the parts of a reply we act on. Names are written uncompressed, lower-cased.
 * dns-packet decodes replies elsewhere; it cannot write class NONE (254), which a delete needs.
 */

export const DnsClass = { IN: 1, NONE: 254, ANY: 255 } as const;
export const DnsType = { SOA: 6, CNAME: 5, TXT: 16, TSIG: 250 } as const;
/** RFC 1035 §4.1.1 opcode 0 (QUERY), RFC 2136 §1.3 opcode 5 (UPDATE). */
export const Opcode = { QUERY: 0, UPDATE: 5 } as const;

/** RFC 1035 §3.1: a name as length-prefixed labels ending with the root label; at most 255 octets. */
export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '').toLowerCase();
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63) throw new Error(`rfc2136: invalid DNS name ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const encoded = Buffer.concat(parts);
  if (encoded.length > 255) throw new Error(`rfc2136: DNS name too long: ${name}`);
  return encoded;
}

/** RFC 1035 §3.3.14: TXT RDATA is one or more <character-string>s of at most 255 octets. */
export function txtRdata(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer;
}

export function encodeRecord(rr: ResourceRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(rr.class, 2);
  fixed.writeUInt32BE(rr.ttl, 4);
  fixed.writeUInt16BE(rr.rdata.length, 8);
  return Buffer.concat([encodeName(rr.name), fixed, rr.rdata]);
}

function header(id: number, opcode: number, flags: number, counts: [number, number, number, number]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(((opcode & 0xf) << 11) | flags, 2);
  counts.forEach((count, i) => h.writeUInt16BE(count, 4 + i * 2));
  return h;
}

function question(name: string, type: number, klass: number): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  return Buffer.concat([encodeName(name), fixed]);
}

/** A non-recursive query (RD=0: we ask the authoritative server itself). */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  return Buffer.concat([header(id, Opcode.QUERY, 0, [1, 0, 0, 0]), question(name, type, DnsClass.IN)]);
}

/**
 * RFC 2136 §2.3 zone section (ZOCOUNT 1, the zone's SOA), no prerequisites, then the updates:
 * §2.5.1 "Add To An RRset" (class IN) and §2.5.4 "Delete An RR From An RRset" (class NONE, TTL 0).
 */
export function encodeUpdate(id: number, zone: string, updates: ResourceRecord[]): Buffer {
  return Buffer.concat([
    header(id, Opcode.UPDATE, 0, [1, 0, updates.length, 0]),
    question(zone, DnsType.SOA, DnsClass.IN),
    ...updates.map(encodeRecord),
  ]);
}

/** Skips a possibly compressed name (RFC 1035 §4.1.4) and returns the offset after it. */
function skipName(message: Buffer, offset: number): number {
  let at = offset;
  for (;;) {
    const length = message.readUInt8(at);
    if ((length & 0xc0) === 0xc0) return at + 2;
    at += 1 + length;
    if (length === 0) return at;
  }
}

/** Reads an uncompressed name (TSIG owner and algorithm names are never compressed: RFC 8945 §4.2). */
export function readName(message: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    const length = message.readUInt8(at);
    if ((length & 0xc0) !== 0) throw new Error('rfc2136: compressed name where none is allowed');
    at += 1;
    if (length === 0) break;
    labels.push(message.toString('ascii', at, at + length).toLowerCase());
    at += length;
  }
  return { name: labels.join('.'), next: at };
}

/** Offset of the last additional record (where a TSIG record sits: RFC 8945 §5.1), or undefined if none. */
export function lastAdditionalOffset(message: Buffer): number | undefined {
  const counts = [4, 6, 8, 10].map((o) => message.readUInt16BE(o));
  const [qd = 0, an = 0, ns = 0, ar = 0] = counts;
  if (ar === 0) return undefined;
  let at = 12;
  for (let i = 0; i < qd; i++) at = skipName(message, at) + 4;
  let last = at;
  for (let i = 0; i < an + ns + ar; i++) {
    last = at;
    at = skipName(message, at);
    at += 10 + message.readUInt16BE(at + 8);
  }
  return last;
}
