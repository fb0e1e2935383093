/**
 * What text the web accepts at all. Pure: used by the input readers, the request-body guard and
 * the list filters.
 */

/** C0 and C1 control characters and DEL, except tab and line breaks. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
const TAB_OR_LINE_BREAK = /[\t\n\r]/;
/** A UTF-16 surrogate that is not half of a pair (ill-formed text; PostgreSQL's JSON refuses it). */
const LONE_SURROGATE = /\p{Cs}/u;
/** Bidirectional controls that make text display in another order than it reads ("Trojan Source"). */
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Why a string can never be stored, whatever the field: a NUL (PostgreSQL text cannot hold it) or a
 * lone surrogate. Undefined when it can.
 */
export function unstorable(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'is not well-formed Unicode (it contains a lone surrogate)';
  return undefined;
}

/** Why a string is not printable text (tabs and line breaks only where `multiline`); undefined when it is. */
export function textProblem(value: string, multiline = false): string | undefined {
  const never = unstorable(value);
  if (never) return never;
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (!multiline && TAB_OR_LINE_BREAK.test(value)) return 'must be one line (no tabs or line breaks)';
  return undefined;
}

/** Printable text: no control characters (tabs and line breaks only where `multiline`), well-formed. */
export const printable = (value: string, multiline = false): boolean => textProblem(value, multiline) === undefined;

/** A name people read (customer, token, directory): printable, one line, no bidirectional controls. */
export const displayable = (value: string): boolean => printable(value) && !BIDI_CONTROL.test(value);

/** A primitive as text (strings as they are, numbers, booleans and bigints by toString); objects as JSON; anything else empty. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return '';
}
