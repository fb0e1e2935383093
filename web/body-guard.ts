/**
 * Checks of a whole request body before any route reads it: text no field may hold (NUL, lone
 * surrogates), JSON nested beyond reason, and (forms) a field sent more than once. Pure.
 */
import { unstorable } from './text-rules';

/** What is wrong with a body: the field (a dotted path in JSON) when one is to blame. */
export interface BodyProblem {
  field?: string;
  message: string;
}

/** Deeper than any request of the API needs ({ options: { … } } is two levels). */
const MAX_JSON_DEPTH = 16;

/** Names of members as the API's field errors key them (`options.testCommand`, `recipients[2]`), kept short. */
const memberPath = (parent: string, key: string, inArray: boolean): string =>
  inArray ? `${parent}[${key}]` : parent ? `${parent}.${key.slice(0, 64)}` : key.slice(0, 64);

/** The first member of a parsed JSON body whose name or text can never be stored, or a body nested too deeply. */
export function jsonBodyProblem(body: unknown): BodyProblem | undefined {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path, depth } = next;
    if (typeof value === 'string') {
      const problem = unstorable(value);
      if (problem) return { field: path, message: `"${path}" ${problem}.` };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) return { message: `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep.` };
    for (const [key, member] of Object.entries(value)) {
      const child = memberPath(path, key, Array.isArray(value));
      const problem = unstorable(key);
      if (problem) return { field: child, message: `A member name in the JSON body ${problem}.` };
      pending.push({ value: member, path: child, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * A parsed urlencoded form (every value a string; a repeated key gives an array): the first field
 * sent more than once, or whose text can never be stored.
 */
export function formBodyProblem(body: Record<string, unknown>): BodyProblem | undefined {
  for (const [key, value] of Object.entries(body)) {
    const keyProblem = unstorable(key);
    if (keyProblem) return { message: `A field name in the form ${keyProblem}.` };
    const field = key.slice(0, 64);
    if (Array.isArray(value))
      return { field, message: `The form field "${field}" was given more than once; send it once.` };
    const problem = typeof value === 'string' ? unstorable(value) : undefined;
    if (problem) return { field, message: `The form field "${field}" ${problem}.` };
  }
  return undefined;
}
