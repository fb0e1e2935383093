import type { Request } from 'express';

/** A form body or a JSON body: every value is unknown until checked. */
export type Body = Record<string, unknown>;

/** Field errors keyed by field name, each a sentence the user can act on. */
export type FieldErrors = Record<string, string>;

/** What an operation returns to the console (re-render the form) and to the API (a 400 with fields). */
export type OpResult<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

export const done = <T>(value: T): OpResult<T> => ({ ok: true, value });
export const invalid = <T>(errors: FieldErrors): OpResult<T> => ({ ok: false, errors });

/** Who acts, and from where: the signed-in user (session or API token) and the client's address. */
export type Actor = Pick<Request, 'user' | 'ip'>;

/** A trimmed string field; anything else (a number, an array, an object) is empty, so it fails validation. */
export function text(body: Body, key: string): string {
  const value = body[key];
  return typeof value === 'string' ? value.trim() : '';
}

/** A reference to a row: JSON clients may send the id as a number. Not validated here. */
export function refText(body: Body, key: string): string {
  const value = body[key];
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return text(body, key);
}

/** A checkbox (form "on") or a JSON boolean. */
export function flag(body: Body, key: string): boolean {
  const value = body[key];
  return value === true || value === 'on' || value === 'true';
}

/** A database id given as text or a number. */
export function idOf(body: Body, key: string): string {
  const value = refText(body, key);
  return /^\d{1,18}$/.test(value) ? value : '';
}

/** Printable text: no control characters (tabs and newlines only where `multiline`). */
export function printable(value: string, multiline = false): boolean {
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    const control = code < 0x20 || code === 0x7f;
    if (control && !(multiline && (char === '\n' || char === '\r' || char === '\t'))) return false;
  }
  return true;
}
