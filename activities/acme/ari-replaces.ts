/**
 * `replaces` on a renewal order (RFC 9773 §5): the certID of the certificate the order replaces, so
 * the CA can link them (Let's Encrypt exempts such renewals from its rate limits). acme-client has no
 * field for it, but its createOrder sends the payload as given, so the field rides along with a cast.
 */
import type * as acme from 'acme-client';
import type { CertificateRecord } from '../db/repositories/certificates';
import { getVersion } from '../db/repositories/certificate-versions';
import type { Queryable } from '../db/pool';
import { ariCertIdOf } from './ari-cert-id';
import { renewalInfoUrlOf } from './ari-fetch';
import { lastAcmeProblem, type AcmeProblem } from './problems';

/** The certID to send as `replaces`: the current version's, when there is one and the CA offers ARI. */
export async function replacesFor(
  db: Queryable,
  cert: CertificateRecord,
  directoryUrl: string,
): Promise<string | undefined> {
  if (!cert.currentVersionId) return undefined;
  const version = await getVersion(db, cert.currentVersionId);
  if (!version) return undefined;
  try {
    // A CA without ARI does not know the field: send it only where the directory has renewalInfo.
    if ((await renewalInfoUrlOf(directoryUrl)) === null) return undefined;
    return ariCertIdOf(version.certPem);
  } catch {
    return undefined;
  }
}

/** The CA refused the order because of `replaces` (already replaced, not this account's, not matching). */
export function isReplacesRefusal(problem: AcmeProblem | undefined): boolean {
  if (!problem) return false;
  return problem.type.endsWith(':alreadyReplaced') || /replace/i.test(problem.detail);
}

export interface PlacedOrder {
  order: acme.Order;
  /** The CA's problem when it refused `replaces` and the order was placed again without it. */
  replacesRefused?: string;
}

/**
 * Places the order (`payload`: identifiers and any profile) with `replaces`; when the CA refuses because of it, once more without (the
 * renewal matters more than the link). Runs inside withAcmeProblems, which records the problem.
 */
export async function createOrderReplacing(
  client: acme.Client,
  payload: Parameters<acme.Client['createOrder']>[0],
  replaces: string | undefined,
): Promise<PlacedOrder> {
  if (!replaces) return { order: await client.createOrder(payload) };
  try {
    const replacing = { ...payload, replaces } as Parameters<acme.Client['createOrder']>[0];
    return { order: await client.createOrder(replacing) };
  } catch (error) {
    const problem = lastAcmeProblem();
    if (!isReplacesRefusal(problem) || !problem) throw error;
    const replacesRefused = `${problem.type.replace('urn:ietf:params:acme:error:', '')}: ${problem.detail}`.slice(
      0,
      500,
    );
    return { order: await client.createOrder(payload), replacesRefused };
  }
}
