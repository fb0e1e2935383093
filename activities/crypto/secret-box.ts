import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const TAG_BYTES = 16;

/** Thrown when a sealed value cannot be opened: wrong master key, wrong purpose or tampered data. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/**
 * AES-256-GCM under the master key. Sealed values look like `v1.<iv>.<tag>.<ciphertext>` (base64url).
 * `purpose` is bound as additional authenticated data, so a DNS token cannot be swapped into a key column.
 */
export interface SecretBox {
  seal(plaintext: string | Buffer, purpose: string): string;
  open(sealed: string, purpose: string): Buffer;
  openText(sealed: string, purpose: string): string;
  /** A key derived from the master key for another use (e.g. signing session cookies). */
  derive(label: string, length?: number): Buffer;
}

export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== 32) throw new SecretBoxError('master key must be 32 bytes (AES-256)');
  const key = Buffer.from(masterKey);
  const open = (sealed: string, purpose: string): Buffer => {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError(`not a sealed value (${purpose})`);
    const [, iv, tag, data] = parts as [string, string, string, string];
    const authTag = Buffer.from(tag, 'base64url');
    // A full 16-byte tag only: GCM would otherwise accept truncated tags, which are far easier to forge.
    if (authTag.length !== TAG_BYTES) throw new SecretBoxError(`cannot decrypt ${purpose}: malformed authentication tag`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(purpose, 'utf8'));
      decipher.setAuthTag(authTag);
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
    } catch {
      throw new SecretBoxError(`cannot decrypt ${purpose}: the master key does not match the one it was sealed with`);
    }
  };
  return {
    seal(plaintext, purpose) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(purpose, 'utf8'));
      const data = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
    },
    open,
    openText: (sealed, purpose) => open(sealed, purpose).toString('utf8'),
    derive: (label, length = 32) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from(`certfleet:${label}`, 'utf8'), length)),
  };
}

/** AAD purposes, one per sealed column. */
export const SecretPurpose = {
  masterKeyCheck: 'settings.master_key_check',
  dnsProviderToken: 'dns_providers.token',
  acmeAccountKey: 'acme_accounts.key',
  orderKey: 'acme_orders.key',
  versionKey: 'certificate_versions.key',
  smtpPassword: 'settings.smtp_password',
  targetCredentials: 'targets.credentials',
  targetSessionKey: 'targets.session_key',
  /** A new API token between its POST and the one page that shows it (the session row). */
  newApiToken: 'web_sessions.new_api_token',
} as const;
