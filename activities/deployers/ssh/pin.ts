/**
 * SSH host-key pins (web-safe: no ssh2). A pin is the SHA-256 of the server's public host key blob,
 * written as OpenSSH prints it (`ssh-keygen -lf key.pub -E sha256`: "SHA256:" + unpadded base64) or
 * as 64 hex digits (colons allowed). Stored normalised to the OpenSSH form.
 */
import { createHash } from 'node:crypto';

const HEX = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/_-]{43}=?$/;

/** The 32-byte digest a pin stands for, or undefined when the text is not a SHA-256 fingerprint. */
export function hostKeyPinDigest(text: string): Buffer | undefined {
  const trimmed = text.trim().replace(/^SHA256:/i, '');
  const hex = trimmed.replace(/[:\s]/g, '').toLowerCase();
  if (HEX.test(hex)) return Buffer.from(hex, 'hex');
  if (!BASE64.test(trimmed)) return undefined;
  const digest = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return digest.length === 32 ? digest : undefined;
}

/** OpenSSH form of a digest: "SHA256:" + unpadded base64. */
export function formatHostKeyDigest(digest: Buffer): string {
  return `SHA256:${digest.toString('base64').replace(/=+$/, '')}`;
}

/** A pin in its stored form, or undefined when invalid. */
export function normalizeHostKeyPin(text: string): string | undefined {
  const digest = hostKeyPinDigest(text);
  return digest ? formatHostKeyDigest(digest) : undefined;
}

export interface HostKeyIdentity {
  /** "SHA256:…" as OpenSSH prints it. */
  sha256: string;
  /** The same digest as 64 lowercase hex digits. */
  hex: string;
  /** Key algorithm named in the blob, e.g. "ssh-ed25519". */
  keyType: string;
}

/** Fingerprint of a public host key blob (SSH wire format: string type, then key data). */
export function identifyHostKey(blob: Buffer): HostKeyIdentity {
  const digest = createHash('sha256').update(blob).digest();
  let keyType = 'unknown';
  if (blob.length >= 4) {
    const length = blob.readUInt32BE(0);
    if (length > 0 && length < 64 && blob.length >= 4 + length)
      keyType = blob.subarray(4, 4 + length).toString('latin1');
  }
  return { sha256: formatHostKeyDigest(digest), hex: digest.toString('hex'), keyType };
}

/** The name part of OpenSSH's host key files for a key algorithm (ssh_host_<name>_key.pub). */
export const hostKeyFileName = (keyType: string): string =>
  keyType.includes('ed25519')
    ? 'ed25519'
    : keyType.startsWith('ecdsa')
      ? 'ecdsa'
      : keyType.includes('rsa')
        ? 'rsa'
        : '*';
