import type { Request } from 'express';
import type { WebDeps } from '../deps';
import { textProblem, unstorable } from '../text-rules';

export { displayable, printable } from '../text-rules';

/** A form body or a JSON body: every value is unknown until checked. */
export type Body = Record<string, unknown>;

/** Field errors keyed by field name, each a sentence the user can act on. */
export type FieldErrors = Record<string, string>;

/** What an operation returns to the console (re-render the form) and to the API (a 400 with fields). */
export type OpResult<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

export const done = <T>(value: T): OpResult<T> => ({ ok: true, value });
export const invalid = <T>(errors: FieldErrors): OpResult<T> => ({ ok: false, errors });

/**
 * A deletion is confirmed by typing the name of what goes (certificates, targets, DNS providers):
 * the error to show at the `confirm` field, or undefined when it matches.
 */
export function confirmationErrors(body: Body, name: string, what: string): FieldErrors | undefined {
  return new FieldReader(body).text('confirm') === name
    ? undefined
    : { confirm: `Type the ${what} name (${name}) to confirm the deletion.` };
}

/** Who acts, and from where: the signed-in user (session or API token) and the client's address. */
export type Actor = Pick<Request, 'user' | 'ip'>;

/**
 * A change to one stored object named by the request's `id` (not yet checked: the operation loads it,
 * which is a 404 when it is gone or not the actor's to see), with the checked input.
 */
export type ObjectChange<Input, Out> = (
  deps: WebDeps,
  actor: Actor,
  id: unknown,
  input: Input,
) => Promise<OpResult<Out>>;

/** A deletion of one stored object; the console sends the form that confirms it, the API's DELETE is explicit. */
export type ObjectDeletion = (deps: WebDeps, actor: Actor, id: unknown, confirmation?: Body) => Promise<OpResult<void>>;

/** A form checkbox: sent (as "on") when ticked, left out when not. Console routes turn theirs into booleans. */
export function checkbox(body: Body, key: string): boolean {
  const value = Object.hasOwn(body, key) ? body[key] : undefined;
  return value === 'on' || value === 'true';
}

/**
 * Reads the fields of a form or a JSON body strictly. A member left out (or null) reads as absent:
 * '' or undefined, whatever the field documents for that. A value of the wrong type, or text with
 * characters the field cannot hold, is recorded as that field's error and reads as absent too.
 * The first error of a field wins, so the checks that follow (and see '') do not bury it.
 *
 * Forms send every value as a string: their checkboxes are turned into booleans by their route,
 * and a field sent twice is refused before any route runs (middleware/form-body.ts). JSON sends
 * typed values, so a number where text belongs is an error, never an empty field.
 */
export class FieldReader {
  readonly errors: FieldErrors = {};

  constructor(private readonly body: Body) {}

  /** Whether the member was sent (neither left out nor null). */
  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** Records an error of a field unless it has one already. */
  fail(key: string, message: string): void {
    this.errors[key] ??= message;
  }

  get ok(): boolean {
    return Object.keys(this.errors).length === 0;
  }

  /** Text, trimmed; '' when absent. One line unless `multiline` (tabs and line breaks). */
  text(key: string, options: { multiline?: boolean } = {}): string {
    const value = this.raw(key);
    if (value === undefined) return '';
    if (typeof value !== 'string') return this.wrongType(key, 'a string');
    return this.checked(key, value, options.multiline)?.trim() ?? '';
  }

  /** A password, token or other secret, as sent (not trimmed); '' when absent. Its own checks are the caller's. */
  secret(key: string): string {
    const value = this.raw(key);
    if (value === undefined) return '';
    if (typeof value !== 'string') return this.wrongType(key, 'a string');
    const problem = unstorable(value);
    if (problem) return this.failed(key, `"${key}" ${problem}.`);
    return value;
  }

  /** A reference to a row: an id as text or a JSON integer; '' when absent. Not looked up here. */
  ref(key: string): string {
    const value = this.raw(key);
    if (value === undefined) return '';
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    if (typeof value !== 'string') return this.wrongType(key, 'an id (a string or an integer)');
    return this.checked(key, value)?.trim() ?? '';
  }

  /** A whole number, as a form's text or a JSON integer; undefined when absent or empty. Ranges are the caller's. */
  integer(key: string): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    const text = typeof value === 'string' ? value.trim() : undefined;
    if (text === '') return undefined;
    if (text !== undefined && /^-?\d{1,15}$/.test(text)) return Number(text);
    this.fail(key, `"${key}" must be a whole number.`);
    return undefined;
  }

  /** A JSON boolean (true or false, nothing else); undefined when absent. */
  bool(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined || typeof value === 'boolean') return value;
    this.fail(key, `"${key}" must be true or false.`);
    return undefined;
  }

  /**
   * A list: a JSON array of strings, or one text (a form field, or a JSON string) that the caller
   * splits by its own rules. The array comes back joined by `separator`; '' when absent.
   */
  list(key: string, separator: string): string {
    const value = this.raw(key);
    if (value === undefined) return '';
    if (typeof value === 'string') return this.checked(key, value, true) ?? '';
    if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string'))
      return this.wrongType(key, 'a list of strings');
    if (value.some((item) => textProblem(item) !== undefined))
      return this.failed(key, `Every entry of "${key}" must be one line of printable text.`);
    return value.join(separator);
  }

  private raw(key: string): unknown {
    const value = Object.hasOwn(this.body, key) ? this.body[key] : undefined;
    return value === null ? undefined : value;
  }

  private checked(key: string, value: string, multiline = false): string | undefined {
    const problem = textProblem(value, multiline);
    if (problem) {
      this.fail(key, `"${key}" ${problem}.`);
      return undefined;
    }
    return value;
  }

  private failed(key: string, message: string): '' {
    this.fail(key, message);
    return '';
  }

  private wrongType(key: string, expected: string): '' {
    return this.failed(key, `"${key}" must be ${expected}.`);
  }
}
