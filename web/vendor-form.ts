import { textOf } from './text-rules';
import { vendorDescriptors } from '../activities/deployers/descriptors';
import type { VendorDescriptor, VendorField } from '../activities/deployers/types';

/** Vendor fields are posted with a prefix per group: cred_<name>, opt_<name>, bind_<name>. */
export type FieldGroup = 'cred' | 'opt' | 'bind';

export function pickGroup(
  body: Record<string, unknown>,
  group: FieldGroup,
  fields: VendorField[],
): Record<string, unknown> {
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

/** The field errors of one group (`cred_token` → `token`), for that group's rendered fields. */
export function pickErrors(errors: Record<string, string>, group: FieldGroup): Record<string, string> {
  return Object.fromEntries(
    Object.entries(errors)
      .filter(([k]) => k.startsWith(`${group}_`))
      .map(([k, v]) => [k.slice(group.length + 1), v]),
  );
}

export interface RenderedField extends VendorField {
  inputName: string;
  value: string;
  checked: boolean;
  error: string | undefined;
}

/** Fields ready for the `vendor-field` partial (secrets never get their value back). */
export function renderFields(
  group: FieldGroup,
  fields: VendorField[],
  values: Record<string, unknown>,
  errors: Record<string, string>,
): RenderedField[] {
  return fields.map((field) => {
    const raw = values[field.name];
    return {
      ...field,
      inputName: `${group}_${field.name}`,
      value: field.kind === 'secret' ? '' : Array.isArray(raw) ? raw.join(', ') : textOf(raw),
      checked: raw === true,
      error: errors[field.name],
    };
  });
}

export function vendorList(descriptors: Record<string, VendorDescriptor>): { id: string; label: string }[] {
  return Object.values(descriptors).map((d) => ({ id: d.id, label: d.label }));
}

/** Every device kind the console offers, as the target and deployment forms list them. */
export const consoleVendors = vendorList(vendorDescriptors);

/**
 * A vendor field group from a JSON body (`credentials`, `options`, `binding`): the vendor's keys only
 * (others are ignored), null as left out, finite numbers in text fields as their decimal text (as
 * documented). Every other value goes on as sent, so `groupTypeErrors` can refuse it by its field.
 */
export function groupFromJson(value: Record<string, unknown>, fields: VendorField[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = Object.hasOwn(value, field.name) ? value[field.name] : undefined;
    if (raw === undefined || raw === null) continue;
    const textField = field.kind === 'text' || field.kind === 'secret' || field.kind === 'number';
    picked[field.name] = textField && typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
  }
  return picked;
}

/**
 * Values of a vendor field group that have the wrong type for their field, by field name: a
 * checkbox is a boolean, a list an array of strings (or numbers) or one string, any other field a
 * string or a finite number (as stored options hold them). The console's groups (pickGroup) always
 * pass; JSON groups may not.
 */
export function groupTypeErrors(group: Record<string, unknown>, fields: VendorField[]): Record<string, string> {
  const errors: Record<string, string> = {};
  const scalar = (value: unknown) => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
  for (const field of fields) {
    const value = Object.hasOwn(group, field.name) ? group[field.name] : undefined;
    if (value === undefined) continue;
    if (field.kind === 'checkbox') {
      if (typeof value !== 'boolean') errors[field.name] = `"${field.name}" must be true or false.`;
    } else if (field.kind === 'list') {
      if (!(Array.isArray(value) ? value : [value]).every(scalar))
        errors[field.name] = `"${field.name}" must be a list of strings.`;
    } else if (!scalar(value)) {
      errors[field.name] = `"${field.name}" must be ${field.kind === 'number' ? 'a number' : 'a string'}.`;
    }
  }
  return errors;
}
