/** The options of one ACME directory (default profile, External Account Binding) and "Read profiles". */
import {
  getAcmeDirectory,
  setDirectoryOptions,
  type AcmeDirectory,
} from '../../activities/db/repositories/acme-directories';
import { sealEabHmacKey } from '../../activities/crypto/bound-secrets';
import { checkEabInput, checkProfileChoice } from '../../activities/domain/acme-options';
import type { AcmeDirectoryCheckResult } from '../../temporal/contract';
import { auditedChange } from '../audit';
import type { CheckView } from '../commands';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';

/** How long "Read profiles" waits for the worker before the page shows the stored record. */
const READ_WAIT_MS = 15_000;

export async function loadAcmeDirectory(deps: WebDeps, id: unknown): Promise<AcmeDirectory> {
  const directory = typeof id === 'string' ? await getAcmeDirectory(deps.db, id) : undefined;
  if (!directory) throw new HttpError(404, 'No such ACME directory.');
  return directory;
}

/** What the audit log keeps of a directory's options: never the HMAC key, only whether one is stored. */
const optionsAuditView = (d: { defaultProfile: string | null; eabKeyId: string | null; hasEabHmacKey: boolean }) => ({
  defaultProfile: d.defaultProfile,
  eabKeyId: d.eabKeyId,
  eabHmacKey: d.hasEabHmacKey ? 'stored' : 'none',
});

/**
 * Default profile and External Account Binding of a directory (built-in ones too). A field left out
 * of the request is unchanged; the HMAC key is write-only (empty keeps the stored one), sealed bound
 * to the directory URL, and used by the worker once, to create the directory's account.
 */
export async function saveDirectoryOptions(
  deps: WebDeps,
  actor: Actor,
  id: unknown,
  body: Body,
): Promise<OpResult<AcmeDirectory>> {
  const directory = await loadAcmeDirectory(deps, id);
  const f = new FieldReader(body);
  const profile = f.has('defaultProfile')
    ? checkProfileChoice(f.text('defaultProfile'), directory.profiles, directory.name)
    : ({ ok: true, profile: directory.defaultProfile } as const);
  if (!profile.ok) f.fail('defaultProfile', profile.error);
  const eab =
    f.has('eabKeyId') || f.has('eabHmacKey')
      ? checkEabInput(f.text('eabKeyId'), f.secret('eabHmacKey'), { keyId: directory.eabKeyId })
      : ({ ok: true, change: 'keep' } as const);
  if (!eab.ok) for (const [key, message] of Object.entries(eab.errors)) f.fail(key, message);
  if (!profile.ok || !eab.ok || !f.ok) return invalid(f.errors);

  const binding =
    eab.change === 'set'
      ? { keyId: eab.keyId, hmacKeySealed: sealEabHmacKey(deps.box, directory.url, eab.hmacKey) }
      : eab.change === 'remove'
        ? null
        : 'keep';
  const after = {
    defaultProfile: profile.profile,
    eabKeyId: binding === 'keep' ? directory.eabKeyId : (binding?.keyId ?? null),
    hasEabHmacKey: binding === 'keep' ? directory.hasEabHmacKey : binding !== null,
  };
  await auditedChange(
    deps.db,
    actor,
    (tx) => setDirectoryOptions(tx, directory.id, { defaultProfile: profile.profile, eab: binding }),
    {
      action: 'acme-directory.options',
      entityType: 'acme_directory',
      entityId: directory.id,
      before: optionsAuditView(directory),
      after: { ...optionsAuditView(after), ...(eab.change === 'set' ? { eabHmacKey: 'replaced' } : {}) },
    },
  );
  return done(await loadAcmeDirectory(deps, directory.id));
}

/**
 * "Read profiles": the worker reads the directory's `meta` and stores it; waits a little for the
 * answer. Changes no setting, so it is not audited.
 */
export async function readDirectoryProfiles(
  deps: WebDeps,
  id: unknown,
): Promise<{ directory: AcmeDirectory; check: CheckView<AcmeDirectoryCheckResult> }> {
  const directory = await loadAcmeDirectory(deps, id);
  await deps.commands.startAcmeDirectoryCheck(directory.id);
  const check = await deps.commands.acmeDirectoryCheck(directory.id, READ_WAIT_MS);
  return { directory: await loadAcmeDirectory(deps, directory.id), check };
}
