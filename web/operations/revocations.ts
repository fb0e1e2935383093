/**
 * Revoking a certificate version (console and API), revoking before a deletion, and rolling over an
 * ACME account key. The web writes the audit entry and the revocation row and starts the workflow in
 * one transaction; the worker talks to the CA.
 */
import { getAcmeDirectory } from '../../activities/db/repositories/acme-directories';
import {
  getVersion,
  listVersions,
  type CertificateVersion,
} from '../../activities/db/repositories/certificate-versions';
import { getCertificate, type CertificateRecord } from '../../activities/db/repositories/certificates';
import { activeRevocationOf, insertRevocation } from '../../activities/db/repositories/revocations';
import {
  parseRevocationReason,
  reasonName,
  REVOCATION_REASONS,
  type RevocationReason,
} from '../../activities/domain/revocation-reasons';
import { CommandAction } from '../../temporal/contract';
import type { KeyRolloverResult, RevocationResult } from '../../temporal/revocation-contract';
import { audit, auditedCommand } from '../audit';
import type { CheckView } from '../commands';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';

const REASON_HELP = `Choose a reason: ${Object.keys(REVOCATION_REASONS).join(', ')} (or its RFC 5280 code).`;
/** How long a deletion waits for the CA to confirm its revocations. */
const DELETE_REVOCATION_WAIT_MS = 20_000;

/** Whether the version still needs revoking (409 with the reason when it cannot be). */
async function checkRevocable(deps: WebDeps, version: CertificateVersion): Promise<void> {
  const [row] = await deps.db.query<{ revoked: boolean }>(
    'SELECT revoked_at IS NOT NULL AS revoked FROM certificate_versions WHERE id = $1',
    [version.id],
  );
  if (row?.revoked) throw new HttpError(409, 'This version is revoked already.');
  if (version.notAfter.getTime() <= Date.now())
    throw new HttpError(409, 'This version has expired; a CA does not revoke expired certificates.');
  if (await activeRevocationOf(deps.db, version.id))
    throw new HttpError(409, 'A revocation of this version is in progress already.');
}

/** Writes the audit entries and the revocation row, and starts its workflow: all or nothing. */
async function startRevocation(
  deps: WebDeps,
  actor: Actor,
  cert: CertificateRecord,
  version: CertificateVersion,
  reason: RevocationReason,
  replace: boolean,
): Promise<string> {
  return auditedCommand(
    deps.db,
    actor,
    {
      action: CommandAction.revoke,
      entityType: 'certificate',
      entityId: cert.id,
      after: { versionId: version.id, serialHex: version.serialHex, reason: reasonName(reason), replace },
    },
    async (auditId, tx) => {
      // The replacement run of a key compromise acts on its own "renew now" entry, claimed by that run.
      const renewAuditId = replace
        ? await audit(tx, actor, {
            action: CommandAction.renewNow,
            entityType: 'certificate',
            entityId: cert.id,
            after: { because: 'keyCompromise', versionId: version.id },
          })
        : null;
      const revocationId = await insertRevocation(tx, {
        certificateId: cert.id,
        versionId: version.id,
        reason,
        replace,
        auditId,
        renewAuditId,
      });
      if (!revocationId) throw new HttpError(409, 'A revocation of this version is in progress already.');
      await deps.commands.startRevocation(revocationId, auditId);
      return revocationId;
    },
  );
}

/**
 * Revokes one version with an RFC 5280 reason. A key compromise of the current version first issues a
 * replacement with a new key, deploys it, and revokes the old one once every target serves the new one.
 */
export async function revokeVersion(
  deps: WebDeps,
  actor: Actor,
  certificateId: unknown,
  versionId: unknown,
  body: Body,
): Promise<OpResult<{ revocationId: string; replace: boolean }>> {
  const cert = typeof certificateId === 'string' ? await getCertificate(deps.db, certificateId) : undefined;
  if (!cert) throw new HttpError(404, 'No such certificate.');
  const version =
    typeof versionId === 'string' && /^\d{1,18}$/.test(versionId) ? await getVersion(deps.db, versionId) : undefined;
  if (!version || version.certificateId !== cert.id) throw new HttpError(404, 'No such version of this certificate.');
  const f = new FieldReader(body);
  const reason = parseRevocationReason(body['reason']);
  if (reason === undefined) f.fail('reason', REASON_HELP);
  if (reason === undefined || !f.ok) return invalid(f.errors);
  await checkRevocable(deps, version);
  const replace = reason === REVOCATION_REASONS.keyCompromise && version.id === cert.currentVersionId;
  if (replace && (await deps.commands.describeLatestRun(cert.id, undefined)).running)
    throw new HttpError(409, 'A run of this certificate is in progress; revoke when it has ended.');
  return done({ revocationId: await startRevocation(deps, actor, cert, version, reason, replace), replace });
}

/** What a deletion with "revoke" asks for: nothing, or the reason (cessation of operation unless another is chosen). */
export function deletionRevocation(body: Body): OpResult<RevocationReason | undefined> {
  const wanted = body['revoke'] === true || body['revoke'] === 'on' || body['revoke'] === 'true';
  if (!wanted) return done(undefined);
  const raw = body['revokeReason'];
  const reason = raw === undefined || raw === '' ? REVOCATION_REASONS.cessationOfOperation : parseRevocationReason(raw);
  return reason === undefined ? invalid({ revokeReason: REASON_HELP }) : done(reason);
}

/**
 * Before a deletion: revokes every version that is still valid and not revoked, and waits for the CA.
 * Undefined when all are revoked; otherwise why the deletion must not go ahead yet.
 */
export async function revokeBeforeDeletion(
  deps: WebDeps,
  actor: Actor,
  cert: CertificateRecord,
  reason: RevocationReason,
): Promise<string | undefined> {
  const versions = (await listVersions(deps.db, cert.id)).filter((v) => v.notAfter.getTime() > Date.now());
  const started: { version: CertificateVersion; revocationId: string }[] = [];
  for (const version of versions) {
    const [row] = await deps.db.query<{ revoked: boolean }>(
      'SELECT revoked_at IS NOT NULL AS revoked FROM certificate_versions WHERE id = $1',
      [version.id],
    );
    if (row?.revoked) continue;
    if (await activeRevocationOf(deps.db, version.id))
      return `The revocation of serial ${version.serialHex} is still in progress; delete again once it has ended.`;
    started.push({ version, revocationId: await startRevocation(deps, actor, cert, version, reason, false) });
  }
  const results = await Promise.all(
    started.map(async (s) => ({
      ...s,
      view: await deps.commands.revocationResult(s.revocationId, DELETE_REVOCATION_WAIT_MS),
    })),
  );
  const problems = results.flatMap(({ version, view }) => {
    const problem = revocationProblem(view);
    return problem ? [`serial ${version.serialHex}: ${problem}`] : [];
  });
  return problems.length ? `Not deleted: ${problems.join('; ')}.` : undefined;
}

function revocationProblem(view: CheckView<RevocationResult>): string | undefined {
  switch (view.state) {
    case 'done':
      return view.result.outcome === 'revoked' ? undefined : (view.result.reason ?? view.result.outcome);
    case 'running':
    case 'none':
      return 'the CA has not confirmed the revocation yet (it goes on; delete again once the version shows it revoked)';
    case 'error':
      return view.message;
  }
}

/** "Roll over the account key" of a directory's ACME account (admins; audited), answered within a few seconds. */
export async function rollOverAccountKey(
  deps: WebDeps,
  actor: Actor,
  directoryId: unknown,
  waitMs = 15_000,
): Promise<CheckView<KeyRolloverResult>> {
  const directory =
    typeof directoryId === 'string' && /^\d{1,18}$/.test(directoryId)
      ? await getAcmeDirectory(deps.db, directoryId)
      : undefined;
  if (!directory) throw new HttpError(404, 'No such ACME directory.');
  const [account] = await deps.db.query<{ id: string }>('SELECT id FROM acme_accounts WHERE directory_id = $1', [
    directory.id,
  ]);
  if (!account) throw new HttpError(409, 'This directory has no ACME account yet (it is created on the first order).');
  await auditedCommand(
    deps.db,
    actor,
    { action: CommandAction.keyRollover, entityType: 'acme-directory', entityId: directory.id },
    async (auditId) => {
      if ((await deps.commands.startKeyRollover(directory.id, auditId)) === 'running')
        throw new HttpError(409, 'A key rollover of this account is in progress already.');
    },
  );
  return deps.commands.keyRolloverResult(directory.id, waitMs);
}
