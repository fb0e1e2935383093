import type { Queryable } from '../pool';

export async function getSetting<T>(db: Queryable, key: string): Promise<T | undefined> {
  const rows = await db.query<{ value: T }>('SELECT value FROM settings WHERE key = $1', [key]);
  return rows[0]?.value;
}

export async function putSetting(db: Queryable, key: string, value: unknown): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}

/** SMTP settings as stored (password sealed). Env SMTP_URL is the fallback, see activities/notify.ts. */
export interface StoredSmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  username?: string;
  passwordSealed?: string;
  /** An admin's explicit choice to send the password over a connection without TLS (off unless true). */
  allowPasswordWithoutTls?: boolean;
  from: string;
  recipients: string[];
}
export const SMTP_SETTING_KEY = 'smtp';

/** What a new certificate gets unless the form (or API call) says otherwise. */
export interface RenewalDefaults {
  acmeDirectoryId: string | null;
  keyType: string;
  renewalMode: string;
  renewalValue: number | null;
}
export const RENEWAL_DEFAULTS_KEY = 'renewal_defaults';

/** Sign-in security. Left out (installs from before it existed): MFA is not required. */
export interface SecuritySettings {
  requireAdminMfa: boolean;
}
export const SECURITY_SETTING_KEY = 'security';
/** Networks (CIDR) targets may point to; empty = any address except the always-refused ones (activities/domain/network-policy.ts). */
export interface TargetNetworks {
  allowed: string[];
}
export const TARGET_NETWORKS_KEY = 'target_networks';

export async function allowedTargetNetworks(db: Queryable): Promise<string[]> {
  return (await getSetting<TargetNetworks>(db, TARGET_NETWORKS_KEY))?.allowed ?? [];
}
