import type { VendorDescriptor, VendorField } from '../activities/deployers/types';

/** Vendor fields are posted with a prefix per group: cred_<name>, opt_<name>, bind_<name>. */
export type FieldGroup = 'cred' | 'opt' | 'bind';

export function pickGroup(body: Record<string, unknown>, group: FieldGroup, fields: VendorField[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    const value = body[`${group}_${field.name}`];
    if (field.kind === 'checkbox') picked[field.name] = value === 'on' || value === 'true';
    else if (field.kind === 'list') picked[field.name] = typeof value === 'string' ? value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean) : [];
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
