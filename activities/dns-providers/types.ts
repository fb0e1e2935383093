/** A DNS-01 provider: the two-method contract every provider implements (lego style) plus a token check. */
export interface DnsProvider {
  /** Proves the credentials work and can see the zone. Throws a ClassifiedError otherwise. */
  verify(): Promise<{ zone: string; detail: string }>;
  /** The zone apex that holds `recordName` (for the authoritative nameserver lookup). */
  zoneFor(recordName: string): Promise<string>;
  /** Publishes a TXT value. Idempotent: an identical existing record counts as success. */
  present(recordName: string, value: string): Promise<void>;
  /** Removes a TXT value. Idempotent: an absent record counts as success. */
  cleanup(recordName: string, value: string): Promise<void>;
}

/** One field of a provider's configuration form, for the web (kept free of provider code). */
export interface ProviderField {
  name: string;
  label: string;
  help?: string;
  required: boolean;
  secret?: boolean;
  placeholder?: string;
  /** Decides where the token is sent (an API base URL): part of the provider's secret endpoint; admin-only to change. */
  endpoint?: boolean;
}

export interface DnsProviderDescriptor {
  id: string;
  label: string;
  /** The secret (token) field plus plain config fields. */
  fields: ProviderField[];
  /** Validates form input into stored config; returns field errors keyed by field name. */
  parseConfig(input: Record<string, unknown>): { config: Record<string, unknown>; errors: Record<string, string> };
}

export interface DnsProviderFactoryInput {
  config: Record<string, unknown>;
  /** The single secret of a one-secret provider (Cloudflare's API token). */
  token: string;
  /** Every field with `secret: true`, by field name, opened from its seal (the agreed issue-16 shape). */
  secrets?: Record<string, string>;
}

export type DnsProviderFactory = (input: DnsProviderFactoryInput) => DnsProvider;
