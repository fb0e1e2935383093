/** A list of fallback ACME directories as a form or the API sends it (directory numbers, in order). */
import type { Queryable } from '../../activities/db/pool';
import { listAcmeDirectories } from '../../activities/db/repositories/acme-directories';
import type { FieldReader } from './input';

export const FALLBACK_LIST_ERROR = 'List other ACME directories by their number, each once, in the order to try them.';

/**
 * The ids in `key` ("3, 5" from a form, ["3", "5"] or [3, 5] from the API): each an existing directory
 * other than `ownDirectoryId`, each once. On a bad list the field error is recorded and [] returned.
 */
export async function readFallbackDirectories(
  db: Queryable,
  f: FieldReader,
  key: string,
  ownDirectoryId: string,
): Promise<string[]> {
  const ids = f
    .list(key, ',')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const known = new Set((await listAcmeDirectories(db)).map((d) => d.id));
  if (ids.some((id) => !known.has(id) || id === ownDirectoryId) || new Set(ids).size !== ids.length) {
    f.fail(key, FALLBACK_LIST_ERROR);
    return [];
  }
  return ids;
}
