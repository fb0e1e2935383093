/**
 * Rules for the ACME options of a directory and a certificate, shared by the console (validation) and
 * the worker (what it reads from a directory): profile names, the `meta` of a directory document
 * (RFC 8555 §7.1.1, `profiles` from draft-ietf-acme-profiles), and External Account Binding input
 * (RFC 8555 §7.3.4).
 */

/** Profiles as a directory offers them: name → description. */
export type AcmeProfiles = Record<string, string>;

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const isProfileName = (value: unknown): value is string => typeof value === 'string' && PROFILE_NAME.test(value);

/** What CertFleet keeps of a directory document's `meta`. */
export interface DirectoryMeta {
  profiles: AcmeProfiles;
  /** `meta.externalAccountRequired`: new accounts need External Account Binding. */
  eabRequired: boolean;
}

/** Reads `meta` of a directory document; odd profile names or descriptions are left out, never trusted. */
export function directoryMetaOf(document: unknown): DirectoryMeta {
  const meta = typeof document === 'object' && document !== null ? (document as { meta?: unknown }).meta : undefined;
  const fields = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
  const profiles: AcmeProfiles = {};
  const offered = fields['profiles'];
  if (typeof offered === 'object' && offered !== null && !Array.isArray(offered)) {
    for (const [name, description] of Object.entries(offered as Record<string, unknown>)) {
      if (isProfileName(name)) profiles[name] = typeof description === 'string' ? description.slice(0, 500) : '';
    }
  }
  return { profiles, eabRequired: fields['externalAccountRequired'] === true };
}

export type ProfileCheck = { ok: true; profile: string | null } | { ok: false; error: string };

/**
 * A profile chosen for a directory (empty: none). Refused when the directory does not offer it, or
 * when its profiles have not been read yet.
 */
export function checkProfileChoice(value: unknown, offered: AcmeProfiles | null, directoryName: string): ProfileCheck {
  if (value === undefined || value === null || value === '') return { ok: true, profile: null };
  if (!isProfileName(value)) return { ok: false, error: 'Choose a profile from the list.' };
  if (!offered)
    return {
      ok: false,
      error: `The profiles of ${directoryName} have not been read yet: press "Read profiles" under Settings → ACME directories.`,
    };
  if (!(value in offered)) {
    const names = Object.keys(offered);
    return {
      ok: false,
      error: names.length
        ? `${directoryName} does not offer the profile "${value}" (it offers ${names.join(', ')}).`
        : `${directoryName} offers no profiles.`,
    };
  }
  return { ok: true, profile: value };
}

export type EabCheck =
  | { ok: true; change: 'keep' | 'remove' }
  | { ok: true; change: 'set'; keyId: string; hmacKey: string }
  | { ok: false; errors: { eabKeyId?: string; eabHmacKey?: string } };

const KEY_ID = /^[\x21-\x7e]{1,256}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * External Account Binding fields of a directory form. The HMAC key is write-only: empty keeps the
 * stored one (unless the key id is emptied too, which removes the binding). A key is base64url as the
 * CAs show it (ZeroSSL, Google Trust Services, Sectigo, HARICA); padding is dropped.
 */
export function checkEabInput(keyIdValue: unknown, hmacValue: unknown, stored: { keyId: string | null }): EabCheck {
  const keyId = typeof keyIdValue === 'string' ? keyIdValue.trim() : '';
  const hmac = typeof hmacValue === 'string' ? hmacValue.trim() : '';
  if (!keyId && !hmac) return { ok: true, change: stored.keyId ? 'remove' : 'keep' };
  const errors: { eabKeyId?: string; eabHmacKey?: string } = {};
  if (!KEY_ID.test(keyId)) errors.eabKeyId = 'Enter the EAB key id (KID) the CA shows: 1 to 256 visible characters.';
  // A key id and its HMAC key come as a pair: a new key id needs its key.
  if (!hmac && keyId !== stored.keyId) errors.eabHmacKey = 'Enter the EAB HMAC key the CA shows with this key id.';
  else if (hmac && (!BASE64URL.test(hmac) || Buffer.from(hmac.replace(/=+$/, ''), 'base64url').length < 16))
    errors.eabHmacKey =
      'The HMAC key is base64url text (A–Z, a–z, 0–9, - and _) of at least 16 bytes, as the CA shows it.';
  if (errors.eabKeyId || errors.eabHmacKey) return { ok: false, errors };
  return hmac ? { ok: true, change: 'set', keyId, hmacKey: hmac.replace(/=+$/, '') } : { ok: true, change: 'keep' };
}
