import type { VendorDescriptor, VendorField } from '../activities/deployers/types';

/** Vendor fields are posted with a prefix per group: cred_<name>, opt_<name>, bind_<name>. */
export type FieldGroup = 'cred' | 'opt' | 'bind';

export function pickGroup(body: Record<string, unknown>, group: FieldGroup, fields: VendorField[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    const value = body[`${group}_${field.name}`];
    if (field.kind === 'checkbox') picked[field.name] = value === 'on' || value === 'true';
    // Lists go to the descriptor as typed: it knows its separators (IIS site names contain spaces).
    else if (field.kind === 'list') picked[field.name] = typeof value === 'string' ? value : [];
    else if (typeof value === 'string') picked[field.name] = value;
  }
  return picked;
}

export interface RenderedField extends VendorField {
  inputName: string;
  value: string;
  checked: boolean;
  error: string | undefined;
}

/** Fields ready for the `vendor-field` partial (secrets never get their value back). */
export function renderFields(group: FieldGroup, fields: VendorField[], values: Record<string, unknown>, errors: Record<string, string>): RenderedField[] {
  return fields.map((field) => {
    const raw = values[field.name];
    return {
      ...field,
      inputName: `${group}_${field.name}`,
      value: field.kind === 'secret' ? '' : Array.isArray(raw) ? raw.join(', ') : raw === undefined || raw === null ? '' : String(raw),
      checked: raw === true,
      error: errors[field.name],
    };
  });
}

export function vendorList(descriptors: Record<string, VendorDescriptor>): { id: string; label: string }[] {
  return Object.values(descriptors).map((d) => ({ id: d.id, label: d.label }));
}

/**
 * A vendor field group from a JSON body (`credentials`, `options`, `binding`): lists as arrays or
 * comma-separated text, checkboxes as booleans. Anything that is not an object is an empty group.
 */
export function groupFromJson(value: unknown, fields: VendorField[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const input = value as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = input[field.name];
    if (raw === undefined || raw === null) continue;
    if (field.kind === 'checkbox') picked[field.name] = raw === true || raw === 'true' || raw === 'on';
    else if (field.kind === 'list') {
      picked[field.name] = Array.isArray(raw) ? raw.filter((s): s is string | number => typeof s === 'string' || typeof s === 'number') : typeof raw === 'string' ? raw : [];
    } else if (typeof raw === 'string') picked[field.name] = raw;
    else if (typeof raw === 'number' && Number.isFinite(raw)) picked[field.name] = String(raw);
    else picked[field.name] = '';
  }
  return picked;
}
