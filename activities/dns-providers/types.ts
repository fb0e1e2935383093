/** A DNS-01 provider: the two-method contract every provider implements (lego style) plus a credential check. */
export interface DnsProvider {
  /** Proves the credentials work and can see the zone. Throws a ClassifiedError otherwise. */
  verify(): Promise<{ zone: string; detail: string }>;
  /** The zone apex that holds `recordName` (for the authoritative nameserver lookup). */
  zoneFor(recordName: string): Promise<string>;
  /**
   * Publishes a TXT value. Idempotent: an identical existing record counts as success. Other values
   * on the same name (a wildcard and its base name at once) are kept.
   */
  present(recordName: string, value: string): Promise<void>;
  /** Removes this TXT value only (other values on the name stay). Idempotent: an absent record counts as success. */
  cleanup(recordName: string, value: string): Promise<void>;
}

/** One field of a provider's configuration form, for the web and the API (kept free of provider code). */
export interface ProviderField {
  /** The form input and JSON key; never one of RESERVED_PROVIDER_FIELDS. */
  name: string;
  label: string;
  help?: string;
  required: boolean;
  /** Sealed on its own (AES-256-GCM, bound to the provider's endpoint), write-only, never shown again. */
  secret?: boolean;
  placeholder?: string;
  /** Decides where the secrets are sent (an API base URL, a server address): part of the provider's secret endpoint; admin-only to change. */
  endpoint?: boolean;
  /** A secret's shape check (the value is never echoed); returns an error message or undefined. */
  checkSecret?(value: string): string | undefined;
}

/** Names the provider form itself uses: a provider's field may not take them. */
export const RESERVED_PROVIDER_FIELDS = ['name', 'kind', 'customerId', 'config', 'secrets', '_csrf'] as const;

export interface DnsProviderDescriptor {
  id: string;
  label: string;
  /** The secret fields plus plain config fields, in form order. */
  fields: ProviderField[];
  /** Validates form input (the plain fields) into stored config; returns field errors keyed by field name. */
  parseConfig(input: Record<string, unknown>): { config: Record<string, unknown>; errors: Record<string, string> };
  /** One line for the provider list (e.g. "zone example.com"); plain config only. */
  summary?(config: Record<string, unknown>): string;
}

export interface DnsProviderFactoryInput {
  /** The plain fields, parsed by the descriptor's parseConfig. */
  config: Record<string, unknown>;
  /** Every field with `secret: true`, by field name, opened from its seal (in memory only). */
  secrets: Record<string, string>;
}

export type DnsProviderFactory = (input: DnsProviderFactoryInput) => DnsProvider;

/** The secret fields of a descriptor. */
export const secretFields = (d: DnsProviderDescriptor): ProviderField[] => d.fields.filter((f) => f.secret === true);
/** The plain (config) fields of a descriptor. */
export const configFields = (d: DnsProviderDescriptor): ProviderField[] => d.fields.filter((f) => f.secret !== true);
