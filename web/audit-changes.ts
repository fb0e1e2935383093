import { textOf } from './text-rules';

/**
 * An audit entry's before/after as the fields that changed, for people: "name: Berlin FW → Berlin
 * FW 2", not two JSON documents. A created entity lists what it was created with, a deleted one what
 * it had. Nested objects read as dotted paths (`options.vdom`), lists as comma-separated values.
 */

/** Bookkeeping that changes with every save and says nothing about what was changed. */
const IGNORED = new Set(['updatedAt', 'updated_at']);
const MAX_VALUE = 120;
const MAX_DEPTH = 4;

function flatten(value: unknown, prefix: string, into: Map<string, string>, depth: number): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < MAX_DEPTH) {
    for (const [key, inner] of Object.entries(value)) {
      if (!IGNORED.has(key)) flatten(inner, prefix ? `${prefix}.${key}` : key, into, depth + 1);
    }
    return;
  }
  if (prefix) into.set(prefix, show(value));
}

function show(value: unknown): string {
  let text: string;
  if (value === null || value === undefined || value === '') text = '(empty)';
  else if (Array.isArray(value)) text = value.length ? value.map((v) => textOf(v)).join(', ') : '(none)';
  else if (typeof value === 'boolean') text = value ? 'yes' : 'no';
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = textOf(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

const fieldsOf = (value: unknown): Map<string, string> => {
  const fields = new Map<string, string>();
  if (value !== null && value !== undefined)
    flatten(value, typeof value === 'object' && !Array.isArray(value) ? '' : 'value', fields, 0);
  return fields;
};

/** One line per changed field: "field: before → after", or "field: value" for a creation or deletion. */
export function auditChanges(before: unknown, after: unknown): string[] {
  const was = fieldsOf(before);
  const is = fieldsOf(after);
  if (before === null || before === undefined) return [...is].map(([field, value]) => `${field}: ${value}`);
  if (after === null || after === undefined) return [...was].map(([field, value]) => `${field}: ${value}`);
  const fields = [...new Set([...was.keys(), ...is.keys()])];
  return fields
    .filter((f) => was.get(f) !== is.get(f))
    .map((f) => `${f}: ${was.get(f) ?? '(empty)'} → ${is.get(f) ?? '(empty)'}`);
}
