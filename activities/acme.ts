import type * as acme from 'acme-client';
import { FailureType, type DeploymentPlanEntry } from '../temporal/contract';
import { acmeClientForDirectory } from './acme/accounts';
import { createOrderReplacing, replacesFor } from './acme/ari-replaces';
import { createCsrFor, generatePrivateKey } from './acme/keys';
import { lastRequestUnanswered, stillPending, withAcmeProblems } from './acme/problems';
import { SecretPurpose } from './crypto/secret-box';
import { keyMatchesCertificate, readCertificateFacts, splitPemChain } from './crypto/pem';
import { findOrderByRun, insertOrderOnce, setOrderStatus, type AcmeOrderRecord } from './db/repositories/acme-orders';
import { getCertificate } from './db/repositories/certificates';
import { listDeploymentsOfCertificate } from './db/repositories/deployments';
import { getOrderContext } from './db/repositories/order-context';
import { getAcmeDirectory } from './db/repositories/acme-directories';
import { recordOrderReplaces } from './db/repositories/renewal-info';
import { findVersionByOrder, insertVersionOnce } from './db/repositories/certificate-versions';
import type { ActivityDeps } from './deps';
import { challengeRecordName } from './domain/certificate-name';
import { classified } from './errors';
import { newOrderPayload, orderProfile } from './acme/profiles';
import { BoundedCache } from './bounded-cache';
import { guardedCallsOf, type DependencyRef } from './dependency-guard';
import { asStep } from './step-failure';

export interface CreatedOrder {
  orderId: string;
  /** False when the CA already holds valid authorizations (nothing to publish). */
  needsChallenge: boolean;
  recordName: string;
  /** TXT values to publish (public by design: they go into DNS). */
  values: string[];
}

export interface StoredVersion {
  versionId: string;
  notAfter: string;
  fingerprintSha256: string;
  /**
   * Where it goes: the certificate's deployments when the version was stored (ids and names), read
   * in the same activity so the run starts its deploys without a local activity of its own first.
   */
  deployments: DeploymentPlanEntry[];
}

type OrderRef = acme.Order;
const orderRef = (url: string): OrderRef => ({ url }) as OrderRef;

type AcmeChallenge = acme.Authorization['challenges'][number];

function dnsChallengeOf(authz: acme.Authorization): AcmeChallenge {
  const challenge = authz.challenges.find((c) => c.type === 'dns-01');
  if (!challenge) {
    throw classified(FailureType.acmeRejected, `acme: the CA offers no dns-01 challenge for ${authz.identifier.value}`);
  }
  return challenge;
}

export function createAcmeActivities(deps: ActivityDeps) {
  const clientFor = (directoryId: string) => acmeClientForDirectory(deps.db, deps.box, deps.acme, directoryId);
  // Every call to a CA runs within its directory's share and circuit breaker (dependency-guard/).
  const guarded = guardedCallsOf(deps.guard);
  const directoryUrls = new BoundedCache<string>(256, 5 * 60_000);
  const caOf = async (directoryId: string, known?: string): Promise<DependencyRef> => {
    let url = known ?? directoryUrls.get(directoryId);
    if (url === undefined) {
      url = (await getAcmeDirectory(deps.db, directoryId))?.url ?? `ACME directory ${directoryId}`;
      directoryUrls.set(directoryId, url);
    }
    return { kind: 'acme-directory', id: directoryId, label: url };
  };

  const loadOrder = async (
    orderId: string,
  ): Promise<{ order: AcmeOrderRecord; ca: DependencyRef; commonName: string; keyType: string }> => {
    const { order, certificate: cert } = await getOrderContext(deps.db, orderId);
    if (!order) throw classified(FailureType.notFound, `acme: order ${orderId} not found`);
    if (!cert)
      throw classified(FailureType.notFound, `acme: certificate ${order.certificateId} was deleted during issuance`);
    return { order, ca: await caOf(order.directoryId), commonName: cert.commonName, keyType: cert.keyType };
  };

  type LoadedOrder = Awaited<ReturnType<typeof loadOrder>>;

  const validate = async ({ order, ca, commonName }: LoadedOrder): Promise<void> =>
    guarded(ca, async () => {
      const client = await clientFor(order.directoryId);
      return withAcmeProblems(`validate ${commonName}`, async () => {
        const authorizations = await client.getAuthorizations(await client.getOrder(orderRef(order.orderUrl)));
        for (const authz of authorizations) {
          if (authz.status === 'valid') continue;
          const challenge = dnsChallengeOf(authz);
          if (challenge.status === 'pending') await client.completeChallenge(challenge);
          try {
            await client.waitForValidStatus(challenge);
          } catch (error) {
            // The CA did not answer the status poll (acme-client turns that into a TypeError): not its
            // verdict on the challenge, so withAcmeProblems classifies it as ACME_UNAVAILABLE (retried).
            if (lastRequestUnanswered()) throw error;
            // Still pending or processing after the polls: the CA has not decided yet. withAcmeProblems
            // classifies it as the retryable ACME_PENDING; the next attempt polls the same challenge again.
            if (stillPending(error)) throw error;
            const detail = error instanceof Error ? error.message : String(error);
            throw classified(
              FailureType.acmeValidationFailed,
              `acme: the CA could not validate ${authz.identifier.value} through DNS: ${detail}. Check that ${challengeRecordName(commonName)} is publicly resolvable at the zone's nameservers (and no CAA record forbids this CA).`,
            );
          }
        }
      });
    });

  /** The stored version with the certificate's deployments as they are now (one statement). */
  const storedVersionOf = async (v: {
    id: string;
    certificateId: string;
    notAfter: Date;
    fingerprintSha256: string;
  }): Promise<StoredVersion> => ({
    versionId: v.id,
    notAfter: v.notAfter.toISOString(),
    fingerprintSha256: v.fingerprintSha256,
    deployments: (await listDeploymentsOfCertificate(deps.db, v.certificateId)).map((d) => ({
      deploymentId: d.id,
      targetName: d.targetName,
    })),
  });

  const finalize = async ({ order, ca, commonName, keyType }: LoadedOrder): Promise<StoredVersion> => {
    const keyPem = deps.box.openText(order.keySealed, SecretPurpose.orderKey);
    const chainPem = await guarded(ca, async () => {
      const client = await clientFor(order.directoryId);
      return withAcmeProblems(`finalize ${commonName}`, async () => {
        let current = await client.getOrder(orderRef(order.orderUrl));
        if (current.status === 'pending') current = await client.waitForValidStatus<acme.Order>(current);
        if (current.status === 'ready')
          current = await client.finalizeOrder(current, await createCsrFor(commonName, keyPem));
        if (current.status === 'processing') current = await client.waitForValidStatus<acme.Order>(current);
        if (current.status !== 'valid') {
          throw classified(
            FailureType.acmeRejected,
            `acme: order for ${commonName} is ${current.status}, expected valid`,
          );
        }
        return client.getCertificate(current);
      });
    });
    const [leafPem, ...chain] = splitPemChain(chainPem);
    if (!leafPem) throw classified(FailureType.acmeRejected, `acme: the CA returned no certificate for ${commonName}`);
    if (!keyMatchesCertificate(keyPem, leafPem)) {
      throw classified(
        FailureType.acmeRejected,
        `acme: the certificate returned for ${commonName} does not match the order's key`,
      );
    }
    const facts = readCertificateFacts(leafPem);
    const version = await deps.db.withTransaction(async (tx) => {
      const stored = await insertVersionOnce(tx, {
        certificateId: order.certificateId,
        orderId: order.id,
        serialHex: facts.serialHex,
        fingerprintSha256: facts.fingerprintSha256,
        notBefore: facts.notBefore,
        notAfter: facts.notAfter,
        keyType,
        certPem: leafPem,
        chainPem: chain.join(''),
        keySealed: deps.box.seal(keyPem, SecretPurpose.versionKey),
      });
      await setOrderStatus(tx, order.id, 'valid');
      return stored;
    });
    return storedVersionOf(version);
  };

  return {
    /**
     * Creates the ACME order at `directoryId` (default: the certificate's directory; a fallback run
     * names the next one) and seals a fresh private key for it. Idempotent per workflow run and
     * directory: a retry returns the order already stored for this run there.
     */
    async createAcmeOrder(input: {
      certificateId: string;
      workflowId: string;
      runId: string;
      directoryId?: string;
    }): Promise<CreatedOrder> {
      const cert = await getCertificate(deps.db, input.certificateId);
      if (!cert) throw classified(FailureType.notFound, `acme: certificate ${input.certificateId} no longer exists`);
      const directoryId = input.directoryId ?? cert.acmeDirectoryId;
      const existing = await findOrderByRun(deps.db, input.runId, directoryId);
      if (existing) {
        return {
          orderId: existing.id,
          needsChallenge: existing.txtValues.length > 0,
          recordName: existing.txtRecordName ?? '',
          values: existing.txtValues,
        };
      }
      const profile = await orderProfile(deps.db, cert, directoryId);
      const directory = await getAcmeDirectory(deps.db, directoryId);
      const replaces = directory ? await replacesFor(deps.db, cert, directory.url) : undefined;
      const ca = await caOf(directoryId, directory?.url);
      const { order, values, replacesRefused } = await guarded(ca, async () => {
        const client = await clientFor(directoryId);
        return withAcmeProblems(`create order for ${cert.commonName}`, async () => {
          const placed = await createOrderReplacing(client, newOrderPayload(cert.commonName, profile), replaces);
          const created = placed.order;
          const authorizations = await client.getAuthorizations(created);
          const pending = authorizations.filter((a) => a.status === 'pending');
          const invalid = authorizations.find((a) => a.status !== 'pending' && a.status !== 'valid');
          if (invalid)
            throw classified(
              FailureType.acmeRejected,
              `acme: authorization for ${invalid.identifier.value} is ${invalid.status}`,
            );
          const txt = await Promise.all(pending.map((a) => client.getChallengeKeyAuthorization(dnsChallengeOf(a))));
          return { order: created, values: txt, replacesRefused: placed.replacesRefused };
        });
      });
      // Generated after the order is sent: an RSA 4096 key can take seconds, and the order should reach
      // the CA soon after its pacing slot was reserved (domain/pacing-budget.ts).
      const keyPem = await generatePrivateKey(cert.keyType);
      const stored = await insertOrderOnce(deps.db, {
        certificateId: cert.id,
        directoryId,
        workflowId: input.workflowId,
        runId: input.runId,
        orderUrl: order.url,
        status: order.status,
        keySealed: deps.box.seal(keyPem, SecretPurpose.orderKey),
        txtRecordName: challengeRecordName(cert.commonName),
        txtValues: values,
        profile,
      });
      if (replaces) await recordOrderReplaces(deps.db, stored.id, replaces, replacesRefused ?? null);
      return {
        orderId: stored.id,
        needsChallenge: stored.txtValues.length > 0,
        recordName: stored.txtRecordName ?? '',
        values: stored.txtValues,
      };
    },

    /**
     * Tells the CA to validate and waits for the outcome. A failed validation is final
     * (non-retryable): Let's Encrypt limits failed validations, so we never retry blindly.
     */
    async validateAcmeChallenge(input: { orderId: string }): Promise<void> {
      const loaded = await loadOrder(input.orderId);
      await validate(loaded);
      await setOrderStatus(deps.db, loaded.order.id, 'validated');
    },

    /**
     * Finalizes with a CSR from the sealed key, downloads the chain and stores exactly one version
     * per order, even when retried after a crash at any point.
     */
    async finalizeAcmeOrder(input: { orderId: string }): Promise<StoredVersion> {
      const already = await findVersionByOrder(deps.db, input.orderId);
      if (already) return await storedVersionOf(already);
      return finalize(await loadOrder(input.orderId));
    },

    /**
     * Validation and finalisation in ONE activity (both the CA, within its directory's share and
     * breaker): one activity task and one workflow task fewer per renewal. Idempotent: a version
     * already stored for the order is returned at once; a retry after the validation finds the
     * authorizations valid (the CA is asked, nothing is sent again) and finalises. A failure names
     * its step (`validate` or `finalize`, activities/step-failure.ts) for the run's progress.
     */
    async validateAndFinalizeAcmeOrder(input: { orderId: string }): Promise<StoredVersion & { validatedAt: string }> {
      const already = await findVersionByOrder(deps.db, input.orderId);
      if (already) return { ...(await storedVersionOf(already)), validatedAt: new Date().toISOString() };
      const loaded = await loadOrder(input.orderId);
      if (loaded.order.status !== 'validated') await asStep('validate', () => validate(loaded));
      const validatedAt = new Date().toISOString();
      return { ...(await asStep('finalize', () => finalize(loaded))), validatedAt };
    },
  };
}
