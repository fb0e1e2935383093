/**
 * TSIG (RFC 8945, "Secret Key Transaction Authentication for DNS") with HMAC-SHA256 and HMAC-SHA512
 * (RFC 8945 §6: both "mandatory to implement"). Signs a request and verifies the server's signed reply.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TsigAlgorithm } from './descriptor';
import { DnsClass, DnsType, encodeName, encodeRecord, lastAdditionalOffset, readName } from './wire';

export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** RFC 8945 §5.2.3: the server checks Time Signed within Fudge; 300 s is the recommended fudge. */
const FUDGE_SECONDS = 300;
/** RFC 8945 §3 (TSIG RR error field) and RFC 2845: the TSIG-specific error codes. */
export const TsigError = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

const digestOf: Record<TsigAlgorithm, string> = { 'hmac-sha256': 'sha256', 'hmac-sha512': 'sha512' };

function uint48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(seconds, 0, 6);
  return b;
}

/** RFC 8945 §4.3.3 "TSIG Variables": everything of the TSIG record the MAC covers. */
function tsigVariables(key: TsigKey, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(DnsClass.ANY, 0);
  fixed.writeUInt32BE(0, 2);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(fudge, 0);
  tail.writeUInt16BE(error, 2);
  tail.writeUInt16BE(other.length, 4);
  return Buffer.concat([encodeName(key.name), fixed, encodeName(key.algorithm), uint48(timeSigned), tail, other]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac(digestOf[key.algorithm], key.secret);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** Appends a TSIG record (RFC 8945 §4.2) to an unsigned message. Returns the message and its MAC. */
export function signMessage(message: Buffer, key: TsigKey, now: Date = new Date()): { signed: Buffer; mac: Buffer } {
  const timeSigned = Math.floor(now.getTime() / 1000);
  const mac = hmac(key, message, tsigVariables(key, timeSigned, FUDGE_SECONDS, 0, Buffer.alloc(0)));
  const fields = Buffer.alloc(2);
  fields.writeUInt16BE(FUDGE_SECONDS, 0);
  const macSize = Buffer.alloc(2);
  macSize.writeUInt16BE(mac.length, 0);
  const trailer = Buffer.alloc(6);
  trailer.writeUInt16BE(message.readUInt16BE(0), 0); // original id
  // error 0, other len 0
  const rdata = Buffer.concat([encodeName(key.algorithm), uint48(timeSigned), fields, macSize, mac, trailer]);
  const record = encodeRecord({ name: key.name, type: DnsType.TSIG, class: DnsClass.ANY, ttl: 0, rdata });
  const signed = Buffer.concat([message, record]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10); // ARCOUNT
  return { signed, mac };
}

export interface ReplyTsig {
  /** The TSIG error field (0, BADSIG, BADKEY, BADTIME, …). */
  error: number;
  /** Whether the reply's MAC is valid for our key and request. */
  valid: boolean;
}

/**
 * Reads and checks the TSIG record of a reply (RFC 8945 §5.3: the MAC covers the request MAC, the
 * reply without its TSIG record with the original id and ARCOUNT less one, then the TSIG variables).
 * Undefined when the reply carries none.
 */
export function checkReply(reply: Buffer, key: TsigKey, requestMac: Buffer): ReplyTsig | undefined {
  const offset = lastAdditionalOffset(reply);
  if (offset === undefined) return undefined;
  const owner = readName(reply, offset);
  if (reply.readUInt16BE(owner.next) !== DnsType.TSIG) return undefined;
  let at = owner.next + 10;
  const algorithm = readName(reply, at);
  at = algorithm.next;
  const timeSigned = reply.readUIntBE(at, 6);
  const fudge = reply.readUInt16BE(at + 6);
  const macSize = reply.readUInt16BE(at + 8);
  const mac = reply.subarray(at + 10, at + 10 + macSize);
  at += 10 + macSize;
  const originalId = reply.readUInt16BE(at);
  const error = reply.readUInt16BE(at + 2);
  const otherLength = reply.readUInt16BE(at + 4);
  const other = reply.subarray(at + 6, at + 6 + otherLength);
  if (owner.name !== key.name.replace(/\.$/, '').toLowerCase() || algorithm.name !== key.algorithm || macSize === 0)
    return { error, valid: false };
  const unsigned = Buffer.from(reply.subarray(0, offset));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const requestMacSize = Buffer.alloc(2);
  requestMacSize.writeUInt16BE(requestMac.length, 0);
  const expected = hmac(key, requestMacSize, requestMac, unsigned, tsigVariables(key, timeSigned, fudge, error, other));
  return { error, valid: expected.length === mac.length && timingSafeEqual(expected, mac) };
}
