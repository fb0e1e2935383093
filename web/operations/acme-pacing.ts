/** Settings → ACME directories: each directory's rate-limit budgets (pacing) and fallback directories. */
import {
  listDirectoryPacing,
  setDirectoryPacing,
  type DirectoryPacing,
} from '../../activities/db/repositories/acme-order-slots';
import { auditedChange } from '../audit';
import type { WebDeps } from '../deps';
import { readFallbackDirectories } from './fallback-directories';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';

const WEEK_SECONDS = 7 * 86_400;

/** Whole numbers in a range, with the message a technician needs. */
const BOUNDS: Record<
  Exclude<keyof DirectoryPacing, 'directoryId' | 'fallbackDirectoryIds'>,
  [min: number, max: number, what: string]
> = {
  ordersPerAccount: [1, 100_000, 'new orders per account'],
  accountWindowSeconds: [1, WEEK_SECONDS, 'the account window in seconds'],
  certificatesPerDomain: [1, 100_000, 'certificates per registered domain'],
  duplicatesPerIdentifiers: [1, 100_000, 'duplicate certificates'],
  domainWindowSeconds: [1, 4 * WEEK_SECONDS, 'the domain window in seconds'],
  fallbackAfterSeconds: [1, 7 * 86_400, 'the fallback deadline in seconds'],
};

export async function saveDirectoryPacing(
  deps: WebDeps,
  actor: Actor,
  directoryId: string | undefined,
  body: Body,
): Promise<OpResult<DirectoryPacing>> {
  const f = new FieldReader(body);
  const before = (await listDirectoryPacing(deps.db)).find((p) => p.directoryId === directoryId);
  if (!directoryId || !before) return invalid({ directory: 'Choose an ACME directory from the list.' });
  const numbers = {} as Record<keyof typeof BOUNDS, number>;
  for (const [key, [min, max, what]] of Object.entries(BOUNDS) as [keyof typeof BOUNDS, [number, number, string]][]) {
    const value = f.integer(key);
    if (value === undefined || value < min || value > max)
      f.fail(key, `Enter ${what}: a whole number from ${min} to ${max}.`);
    else numbers[key] = value;
  }
  const fallbacks = await readFallbackDirectories(deps.db, f, 'fallbackDirectoryIds', directoryId);
  if (!f.ok) return invalid(f.errors);
  const pacing: DirectoryPacing = { directoryId, ...numbers, fallbackDirectoryIds: fallbacks };
  const saved = await auditedChange(
    deps.db,
    actor,
    (tx) => setDirectoryPacing(tx, pacing),
    () => ({
      action: 'acme-directory.pacing',
      entityType: 'acme_directory',
      entityId: directoryId,
      before: { ...before },
      after: { ...pacing },
    }),
  );
  return saved ? done(saved) : invalid({ directory: 'The directory no longer exists.' });
}
