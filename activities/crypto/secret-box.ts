import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const TAG_BYTES = 16;

/** Thrown when a sealed value cannot be opened: wrong master key, wrong purpose or endpoint, or tampered data. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/**
 * AES-256-GCM under the master key. Sealed values look like `v1.<iv>.<tag>.<ciphertext>` (base64url).
 * `purpose` is bound as additional authenticated data, so a DNS token cannot be swapped into a key column.
 * Secrets that are sent somewhere (device credentials, DNS tokens, the SMTP password) also bind the
 * `endpoint` they may be sent to (see activities/domain/secret-endpoints.ts): opened with the endpoint
 * of an edited row, they fail, so a re-pointed address never receives them.
 */
export interface SecretBox {
  seal(plaintext: string | Buffer, purpose: string, endpoint?: string): string;
  open: (sealed: string, purpose: string, endpoint?: string) => Buffer;
  openText(sealed: string, purpose: string, endpoint?: string): string;
  /** A key derived from the master key for another use (e.g. signing session cookies). */
  derive(label: string, length?: number): Buffer;
}

export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== 32) throw new SecretBoxError('master key must be 32 bytes (AES-256)');
  const key = Buffer.from(masterKey);
  // NUL cannot occur in a purpose constant, so purpose and endpoint cannot be shifted into each other.
  const aad = (purpose: string, endpoint: string | undefined): Buffer =>
    Buffer.from(endpoint === undefined ? purpose : `${purpose}\0${endpoint}`, 'utf8');
  const open = (sealed: string, purpose: string, endpoint?: string): Buffer => {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError(`not a sealed value (${purpose})`);
    const [, iv, tag, data] = parts as [string, string, string, string];
    const authTag = Buffer.from(tag, 'base64url');
    // A full 16-byte tag only: GCM would otherwise accept truncated tags, which are far easier to forge.
    if (authTag.length !== TAG_BYTES)
      throw new SecretBoxError(`cannot decrypt ${purpose}: malformed authentication tag`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(purpose, endpoint));
      decipher.setAuthTag(authTag);
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
    } catch {
      throw new SecretBoxError(
        endpoint === undefined
          ? `cannot decrypt ${purpose}: the master key does not match the one it was sealed with`
          : `cannot decrypt ${purpose}: it was sealed for another endpoint (address, port or trust) or with another master key`,
      );
    }
  };
  return {
    seal(plaintext, purpose, endpoint) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(purpose, endpoint));
      const data = Buffer.concat([
        cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
        cipher.final(),
      ]);
      return [
        VERSION,
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        data.toString('base64url'),
      ].join('.');
    },
    open,
    openText: (sealed, purpose, endpoint) => open(sealed, purpose, endpoint).toString('utf8'),
    derive: (label, length = 32) =>
      Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from(`certfleet:${label}`, 'utf8'), length)),
  };
}

/** AAD purposes, one per sealed column. */
export const SecretPurpose = {
  masterKeyCheck: 'settings.master_key_check',
  dnsProviderToken: 'dns_providers.token',
  /** Every other secret field of a DNS provider: this prefix + the field name. */
  dnsProviderSecretPrefix: 'dns_providers.secrets.',
  acmeAccountKey: 'acme_accounts.key',
  /** External Account Binding HMAC key of an ACME directory, bound to the directory URL. */
  acmeEabHmacKey: 'acme_directories.eab_hmac_key',
  orderKey: 'acme_orders.key',
  versionKey: 'certificate_versions.key',
  smtpPassword: 'settings.smtp_password',
  targetCredentials: 'targets.credentials',
  targetSessionKey: 'targets.session_key',
  mfaSecret: 'users.mfa_secret',
  /** A new API token between its POST and the one page that shows it (the session row). */
  newApiToken: 'web_sessions.new_api_token',
} as const;
