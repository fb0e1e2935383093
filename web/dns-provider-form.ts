/**
 * The DNS provider forms, generated from the provider descriptors (as the target forms are from the
 * vendor descriptors): one input per descriptor field, secrets as write-only password inputs.
 */
import type { CustomerRecord } from '../activities/db/repositories/customers';
import type { DnsProviderRecord } from '../activities/db/repositories/dns-providers';
import { dnsProviderDescriptors } from '../activities/dns-providers/descriptors';
import type { DnsProviderDescriptor } from '../activities/dns-providers/types';
import { textOf } from './text-rules';

/** A field ready for the `vendor-field` partial (a secret never gets its value back). */
export interface RenderedProviderField {
  kind: 'secret' | 'text';
  inputName: string;
  label: string;
  help: string | undefined;
  placeholder: string | undefined;
  required: boolean;
  value: string;
  error: string | undefined;
}

export function renderProviderFields(
  descriptor: DnsProviderDescriptor,
  values: Record<string, unknown>,
  errors: Record<string, string>,
  options: { editing?: boolean; stored?: Record<string, string> } = {},
): RenderedProviderField[] {
  return descriptor.fields.map((field) => {
    const keep = options.editing && field.secret && options.stored && Object.hasOwn(options.stored, field.name);
    return {
      kind: field.secret ? 'secret' : 'text',
      inputName: field.name,
      label: keep
        ? `New ${/^[A-Z][a-z]/.test(field.label) ? field.label.charAt(0).toLowerCase() + field.label.slice(1) : field.label}`
        : field.label,
      help: keep ? 'Leave empty to keep the stored value.' : field.help,
      placeholder: field.placeholder,
      // An edit never requires a stored secret again (unless the API address moves: the server says so).
      required: keep ? false : field.required,
      value: field.secret ? '' : textOf(values[field.name]),
      error: errors[field.name],
    };
  });
}

/** The kinds offered in the "Add a provider" chooser, in registry order. */
export const providerKinds = (): { id: string; label: string }[] =>
  Object.values(dnsProviderDescriptors).map((d) => ({ id: d.id, label: d.label }));

/** The descriptor of a kind asked for by the user, or the first one (an unknown kind is never trusted). */
export function descriptorOrFirst(kind: unknown): DnsProviderDescriptor {
  const asked = typeof kind === 'string' && Object.hasOwn(dnsProviderDescriptors, kind) ? kind : undefined;
  const descriptor = dnsProviderDescriptors[asked ?? Object.keys(dnsProviderDescriptors)[0] ?? ''];
  if (!descriptor) throw new Error('no DNS provider is registered');
  return descriptor;
}

/** A provider row for the list and detail pages: label, customer name and the descriptor's summary. */
export function providerView(p: DnsProviderRecord, customers: CustomerRecord[]): Record<string, unknown> {
  const descriptor = Object.hasOwn(dnsProviderDescriptors, p.kind) ? dnsProviderDescriptors[p.kind] : undefined;
  return {
    id: p.id,
    name: p.name,
    kind: p.kind,
    kindLabel: descriptor?.label ?? p.kind,
    customerId: p.customerId,
    customerName: p.customerId ? (customers.find((c) => c.id === p.customerId)?.name ?? '(deleted)') : undefined,
    summary: descriptor?.summary?.(p.config) ?? '',
    secretFields: Object.keys(p.secretsSealed).join(', '),
  };
}
