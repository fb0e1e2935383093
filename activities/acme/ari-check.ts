/**
 * The ARI part of a renewal check: ask the CA about the current version when the stored next-poll
 * time has passed (or the stored answer is about an older version), choose the random renewal moment
 * in a new window, store the outcome, and hand the workflow only times and words (RenewalInfoFacts).
 * Never throws for the CA's sake: an unusable answer becomes kind 'error' with the reason.
 */
import { getAcmeDirectory } from '../db/repositories/acme-directories';
import type { CertificateRecord } from '../db/repositories/certificates';
import { getVersion } from '../db/repositories/certificate-versions';
import { getRenewalInfo, saveRenewalInfo, type RenewalInfoRecord } from '../db/repositories/renewal-info';
import type { Queryable } from '../db/pool';
import {
  chooseRenewalMoment,
  DEFAULT_POLL_BOUNDS,
  nextPollDelaySeconds,
  type RenewalInfoFacts,
  type RenewalInfoPollBounds,
} from '../domain/renewal-info';
import { ariCertIdOf } from './ari-cert-id';
import { fetchRenewalInfo, RenewalInfoError, type RenewalInfoAnswer } from './ari-fetch';

export interface RenewalInfoCheckDeps {
  db: Queryable;
  bounds?: RenewalInfoPollBounds;
  /** Uniform in [0, 1); tests pass their own. */
  random?: () => number;
  now?: () => Date;
}

const MAX_REASON = 500;

export function renewalInfoFactsOf(row: RenewalInfoRecord): RenewalInfoFacts {
  if (row.kind === 'window' && row.windowStart && row.windowEnd && row.renewAt) {
    return {
      kind: 'window',
      windowStart: row.windowStart.toISOString(),
      windowEnd: row.windowEnd.toISOString(),
      renewAt: row.renewAt.toISOString(),
      ...(row.explanationUrl ? { explanationUrl: row.explanationUrl } : {}),
    };
  }
  if (row.kind === 'unsupported') return { kind: 'unsupported' };
  return { kind: 'error', reason: row.error ?? 'the CA gave no usable renewal information' };
}

async function ask(
  directory: { url: string; caBundlePem: string | null },
  certId: string,
): Promise<RenewalInfoAnswer | { kind: 'error'; reason: string }> {
  try {
    return await fetchRenewalInfo(directory, certId);
  } catch (error) {
    const reason = error instanceof RenewalInfoError ? error.message : `ari: ${String(error)}`;
    return { kind: 'error', reason: reason.slice(0, MAX_REASON) };
  }
}

/**
 * Whether a check asks the CA about the current version: nothing stored, an answer about an older
 * version, or the stored next-poll time (the CA's Retry-After, within the bounds) has passed.
 */
export function renewalInfoPollDue(
  stored: RenewalInfoRecord | undefined,
  currentVersionId: string,
  now: Date,
): boolean {
  return stored === undefined || stored.versionId !== currentVersionId || now.getTime() >= stored.nextPollAt.getTime();
}

/** The certificate's ARI facts for this check; polls the CA only when due. Undefined before the first issuance. */
export async function checkRenewalInfo(
  deps: RenewalInfoCheckDeps,
  cert: CertificateRecord,
): Promise<RenewalInfoFacts | undefined> {
  if (!cert.currentVersionId) return undefined;
  const now = (deps.now ?? (() => new Date()))();
  const bounds = deps.bounds ?? DEFAULT_POLL_BOUNDS;
  const stored = await getRenewalInfo(deps.db, cert.id);
  const sameVersion = stored !== undefined && stored.versionId === cert.currentVersionId;
  if (stored && !renewalInfoPollDue(stored, cert.currentVersionId, now)) return renewalInfoFactsOf(stored);

  const [version, directory] = await Promise.all([
    getVersion(deps.db, cert.currentVersionId),
    getAcmeDirectory(deps.db, cert.acmeDirectoryId),
  ]);
  if (!version || !directory) return undefined;
  const base = { certificateId: cert.id, versionId: version.id, polledAt: now };
  let certId = '';
  let answer: RenewalInfoAnswer | { kind: 'error'; reason: string };
  try {
    certId = ariCertIdOf(version.certPem);
    answer = await ask(directory, certId);
  } catch (error) {
    // No AKI in the certificate: it has no certID, so no ARI (the lifetime rule decides).
    answer = { kind: 'error', reason: error instanceof Error ? error.message : String(error) };
  }
  const empty = { windowStart: null, windowEnd: null, renewAt: null, explanationUrl: null, error: null };
  let record: RenewalInfoRecord;
  if (answer.kind === 'window') {
    // The same window as before keeps its chosen moment (the page does not jump at every poll); a moved one gets a new one.
    const unchanged =
      sameVersion &&
      stored.kind === 'window' &&
      stored.windowStart?.getTime() === answer.start.getTime() &&
      stored.windowEnd?.getTime() === answer.end.getTime() &&
      stored.renewAt !== null;
    const renewAt =
      unchanged && stored.renewAt
        ? stored.renewAt
        : chooseRenewalMoment(answer.start, answer.end, (deps.random ?? Math.random)());
    const delay = nextPollDelaySeconds(answer.retryAfterSeconds, bounds);
    record = {
      ...base,
      ...empty,
      certId,
      kind: 'window',
      windowStart: answer.start,
      windowEnd: answer.end,
      renewAt,
      explanationUrl: answer.explanationUrl ?? null,
      nextPollAt: new Date(now.getTime() + delay * 1000),
    };
  } else if (answer.kind === 'unsupported') {
    record = {
      ...base,
      ...empty,
      certId,
      kind: 'unsupported',
      nextPollAt: new Date(now.getTime() + bounds.maxSeconds * 1000),
    };
  } else {
    // RFC 9773 §4.3: after an error, ask again later, but not at every check.
    record = {
      ...base,
      ...empty,
      certId,
      kind: 'error',
      error: answer.reason,
      nextPollAt: new Date(now.getTime() + bounds.minSeconds * 1000),
    };
  }
  await saveRenewalInfo(deps.db, record);
  return renewalInfoFactsOf(record);
}
