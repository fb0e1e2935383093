/** Query-string filters of list pages, and the pager under them. */
import { HttpError } from './http-error';
import { printable } from './text-rules';

export type Query = Record<string, unknown>;

/** A query value if it is one of the allowed ones. */
export function oneOf<T extends string>(query: Query, key: string, allowed: readonly T[]): T | undefined {
  const value = query[key];
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

/**
 * A trimmed query text of at most `max` characters (longer input is cut, not refused: it is only a
 * search). Control characters (a NUL PostgreSQL cannot even compare) are a 400.
 */
export function searchText(query: Query, key: string, max = 100): string | undefined {
  const value = query[key];
  if (typeof value !== 'string') return undefined;
  if (!printable(value))
    throw new HttpError(400, `The filter "${key}" must be one line of text without control characters.`);
  const trimmed = value.trim().slice(0, max);
  return trimmed || undefined;
}

export function idParam(query: Query, key: string): string | undefined {
  const value = query[key];
  return typeof value === 'string' && /^\d{1,18}$/.test(value) ? value : undefined;
}

/** Only the filters that were given (a filter object leaves out the ones absent from the query). */
export function givenFilters<T extends Record<string, string | undefined>>(
  values: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

export function pageParam(query: Query): number {
  const value = query['page'];
  const n = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : 1;
  return Math.max(1, n);
}

export interface Pager {
  page: number;
  pages: number;
  total: number;
  from: number;
  to: number;
  prevUrl?: string;
  nextUrl?: string;
}

/** Links to the previous and next page that keep every other filter. */
export function pager(
  path: string,
  filters: Record<string, string | undefined>,
  page: number,
  pageSize: number,
  total: number,
): Pager {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const url = (p: number) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
    if (p > 1) params.set('page', String(p));
    const qs = params.toString();
    return qs ? `${path}?${qs}` : path;
  };
  return {
    page,
    pages,
    total,
    from: total === 0 ? 0 : (page - 1) * pageSize + 1,
    to: Math.min(total, page * pageSize),
    ...(page > 1 ? { prevUrl: url(Math.min(page - 1, pages)) } : {}),
    ...(page < pages ? { nextUrl: url(page + 1) } : {}),
  };
}

/** The filters that are set, as query parameters. */
export const filterParams = (filters: Record<string, string | undefined>): URLSearchParams =>
  new URLSearchParams(Object.entries(filters).filter((e): e is [string, string] => Boolean(e[1])));

/** One page of a keyset-paged list (newest first) and the links to the next page and back to the first. */
export interface KeysetPage<T> {
  page: T[];
  nextUrl?: string;
  firstUrl?: string;
}

/**
 * Keyset paging: `rows` were read with a limit of `pageSize + 1`, so one more row means a next page,
 * which starts before the last row shown (`cursorOf`). The links keep every other filter.
 */
export function keysetPage<T>(
  path: string,
  filters: Record<string, string | undefined>,
  rows: T[],
  paging: { pageSize: number; before: string | undefined; cursorOf: (row: T) => string },
): KeysetPage<T> {
  const page = rows.slice(0, paging.pageSize);
  const params = filterParams(filters);
  const last = page.at(-1);
  return {
    page,
    ...(rows.length > paging.pageSize && last
      ? { nextUrl: `${path}?${new URLSearchParams([...params, ['before', paging.cursorOf(last)]]).toString()}` }
      : {}),
    ...(paging.before ? { firstUrl: `${path}${params.size ? `?${params.toString()}` : ''}` } : {}),
  };
}
