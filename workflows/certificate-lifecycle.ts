import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  FailureType,
  progressQuery,
  SearchAttributes,
  type LifecycleInput,
  type LifecycleResult,
  type DeploymentOutcome,
  type LifecycleStep,
  type AcmeDirectoryPlan,
  type AcmeDirectoryRef,
} from '../temporal/contract';
import type { StoredVersion } from '../activities/acme';
import { deployToAllTargets } from './deploy-fanout';
import { endStep, newProgress, skipRemaining, startStep } from './lib/progress';
import { renewalDecision } from './lib/renewal-window';
import { runBookkeeping } from './bookkeeping';
import { nonRetryableErrorTypes, remoteCallOptions } from './lib/retry-policies';
import { fallsOver, type FailureFacts } from './lib/fallback';
import { waitForOrderSlot } from './order-pacing';

/** Calls to the CA and the DNS API (lib/retry-policies.ts). */
const remote: ActivityOptions = remoteCallOptions;
const acme = proxyActivities<Activities>(remote);
const dns = proxyActivities<Activities>(remote);
/**
 * The same calls as local activities: each is a few hundred milliseconds, so running them in the
 * workflow task (one marker each) instead of as tasks of their own takes two thirds of the round trips
 * through the Temporal server out of a renewal. Retries are the same; long backoffs become timers.
 */
const local: LocalActivityOptions = { startToCloseTimeout: '2m', retry: remote.retry };
const acmeLocal = proxyLocalActivities<Activities>(local);

/** The propagation wait enforces its own configured timeout; heartbeats detect a dead worker. */
const propagation = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '2s', maximumAttempts: 5, nonRetryableErrorTypes },
});

/** A mail server hiccup is retried a little; the outcome of the run never depends on it. */
const mailOptions = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
} as const;
const remoteMail = proxyActivities<Activities>(mailOptions);
const localMail = proxyLocalActivities<Activities>(mailOptions);

/** A manual target that is ready for download is not a failure. */
const succeeded = (o: DeploymentOutcome): boolean => o.outcome === 'deployed' || o.outcome === 'ready';

function failureTypeOf(error: unknown): string | undefined {
  if (error instanceof ApplicationFailure) return error.type ?? undefined;
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** What the fallback decision needs to know about a failure (lib/fallback.ts). */
function failureFactsOf(error: unknown): FailureFacts {
  const activity = error instanceof ActivityFailure ? error : undefined;
  return {
    type: failureTypeOf(error),
    activityType: activity?.activityType,
    timedOut: activity?.cause instanceof TimeoutFailure,
  };
}

/** A timed-out activity's last attempt (the timeout's cause), else its own message. */
function lastAttemptMessage(error: unknown): string {
  const timeout = error instanceof ActivityFailure ? error.cause : undefined;
  const last = timeout instanceof TimeoutFailure ? timeout.cause : undefined;
  if (last instanceof Error && last.message) return last.message;
  // The attempt in flight was still waiting for the CA (refused connections are retried inside it).
  return timeout instanceof TimeoutFailure ? 'the CA gave no answer' : messageOf(error);
}

function messageOf(error: unknown): string {
  if (error instanceof ApplicationFailure) return error.message;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof ApplicationFailure) return cause.message;
  if (cause instanceof Error && cause.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * One certificate's issuance/renewal: check window → order → publish TXT → wait for propagation →
 * ACME validation → remove TXT (always) → finalize and store → email. Inputs and outputs are ids only.
 */
export async function certificateLifecycleWorkflow(input: LifecycleInput): Promise<LifecycleResult> {
  const db = runBookkeeping();
  // Runs recorded before the ACME and DNS calls became local activities replay with regular ones.
  const localSteps = patched('local-acme-steps');
  // A local activity runs before its workflow task is recorded: when that task is lost (it timed out
  // on an overloaded worker), the next attempt may take another branch, yet what the lost one did has
  // happened. Harmless for steps forward (the next attempt repeats them idempotently), not for undoing
  // or telling: removing the TXT record a later attempt still waits for, or mailing a failure that the
  // recorded run never had. Since patch 'durable-cleanup-and-mail' those run as regular activities,
  // scheduled only once the workflow task that decided them is recorded.
  const durableEffects = patched('durable-cleanup-and-mail');
  const ca = localSteps ? acmeLocal : acme;
  const dnsApi = localSteps ? acmeLocal : dns;
  const dnsCleanup = localSteps && !durableEffects ? acmeLocal : dns;
  const mail = localSteps && !durableEffects ? localMail : remoteMail;
  const { workflowId, runId, startTime } = workflowInfo();
  const progress = newProgress(input.certificateId, input.trigger);
  setHandler(progressQuery, () => progress);
  upsertSearchAttributes([{ key: SearchAttributes.certificateId, value: input.certificateId }]);

  const step = async <T>(name: LifecycleStep, work: () => Promise<T>): Promise<T> => {
    // The step is in the progress query (the console reads it there), not in a search attribute: nothing
    // searched by step, and each upsert was a history event and a visibility write on the server.
    startStep(progress, name, new Date());
    try {
      const result = await work();
      endStep(progress, name, 'done', new Date());
      return result;
    } catch (error) {
      endStep(progress, name, 'failed', new Date(), messageOf(error));
      throw error;
    }
  };
  const finish = (result: LifecycleResult): LifecycleResult => {
    skipRemaining(progress);
    progress.outcome = result.outcome;
    delete progress.current;
    // The console's run history shows each run's outcome from this attribute.
    upsertSearchAttributes([{ key: SearchAttributes.outcome, value: result.outcome }]);
    return result;
  };
  const notify = async (result: LifecycleResult): Promise<void> => {
    try {
      await step('notify', () =>
        mail.sendLifecycleEmail({
          certificateId: input.certificateId,
          outcome: result.outcome,
          workflowId,
          trigger: input.trigger,
          startedAt: startTime.toISOString(),
          ...(result.reason !== undefined ? { reason: result.reason } : {}),
          ...(result.deployments !== undefined ? { deployments: result.deployments } : {}),
          ...(result.outcome !== 'failed' && progress.fallbacks ? { fallbacks: progress.fallbacks } : {}),
        }),
      );
    } catch {
      // A mail failure is recorded on the step; it never changes the certificate's outcome.
    }
  };

  // A scheduled run needs no one's authority (it renews only when the window says so, below); creation
  // and "Renew now" act only on the console's audit entry for them, claimed once. Who asked is its actor.
  const authority = await db.authorizeLifecycle({
    certificateId: input.certificateId,
    trigger: input.trigger,
    auditId: input.auditId,
    workflowId,
    runId,
  });
  if (!authority.accepted)
    return finish({ outcome: 'skipped', reason: `not started by CertFleet: ${authority.reason}` });

  // A scheduled check also asks the CA's ARI when its stored next-poll time has passed (in the same activity).
  const scheduled = input.trigger === 'schedule';
  const facts = await step('check', () =>
    db.loadRenewalFacts({ certificateId: input.certificateId, ...(scheduled ? { renewalInfo: true } : {}) }),
  );
  if (!facts.exists) return finish({ outcome: 'skipped', reason: 'the certificate was deleted' });
  let exemptFromRateLimits = false;
  if (scheduled) {
    const decision = renewalDecision(facts.current, facts.policy, new Date(), facts.renewalInfo);
    await db.recordRenewalCheck({ certificateId: input.certificateId });
    if (!facts.enabled) return finish({ outcome: 'skipped', reason: 'renewal is disabled for this certificate' });
    if (!decision.due) return finish({ outcome: 'skipped', reason: decision.reason });
    // A renewal the CA's ARI window asked for goes out with `replaces` (the directory offers ARI and a
    // current version exists): Let's Encrypt does not count it against its limits, so pacing lets it go.
    exemptFromRateLimits = decision.basis === 'ari' && facts.current !== undefined;
  }
  // The CA calls of a directory that has a fallback give up at the fallback deadline (retries included).
  // Regular activities: their failure (a timeout of the deadline included) is recorded as history
  // events, so a replay takes the same fall-over decision.
  const withDeadline = (ms: number): typeof ca =>
    proxyActivities<Activities>({ ...remote, scheduleToCloseTimeout: ms });

  /** Pacing → order → DNS-01 → validation → finalize, at one ACME directory. */
  const issueFrom = async (directory: AcmeDirectoryRef, caCalls: typeof ca): Promise<StoredVersion> => {
    progress.directory = directory;
    const order = await step('order', async () => {
      const slot = {
        certificateId: input.certificateId,
        directoryId: directory.id,
        runId,
        exempt: exemptFromRateLimits,
      };
      await dnsApi.checkDnsProvider({ certificateId: input.certificateId });
      // The slot is taken right before the order, so the order reaches the CA within the slot's grace.
      await waitForOrderSlot(db.reserveOrderSlot, slot, progress);
      return caCalls.createAcmeOrder({
        certificateId: input.certificateId,
        workflowId,
        runId,
        directoryId: directory.id,
      });
    });
    if (order.needsChallenge) {
      try {
        await step('present', () => dnsApi.presentDnsChallenge({ orderId: order.orderId }));
        await step('propagate', async () => {
          // Visible everywhere at the first look (the usual case): no patient wait, no extra task.
          if (localSteps && (await dnsApi.checkDnsPropagationOnce({ orderId: order.orderId })).propagated) return;
          await propagation.waitForDnsPropagation({ orderId: order.orderId });
        });
        await step('validate', () => caCalls.validateAcmeChallenge({ orderId: order.orderId }));
      } finally {
        // Remove the TXT record in every outcome, also when the run is being cancelled.
        await CancellationScope.nonCancellable(() =>
          step('cleanup', () => dnsCleanup.removeDnsChallenge({ orderId: order.orderId })).catch(() => undefined),
        );
      }
    }
    return step('finalize', () => caCalls.finalizeAcmeOrder({ orderId: order.orderId }));
  };

  /** Each directory in turn while the one before fails for CA-side reasons (lib/fallback.ts). */
  const issueWithFallback = async (plan: AcmeDirectoryPlan): Promise<StoredVersion> => {
    for (const [index, directory] of plan.directories.entries()) {
      const next = plan.directories[index + 1];
      if (!next) return issueFrom(directory, ca);
      try {
        return await issueFrom(directory, withDeadline(plan.fallbackAfterMs));
      } catch (error) {
        if (isCancellation(error) || !fallsOver(failureFactsOf(error))) throw error;
        const seconds = Math.round(plan.fallbackAfterMs / 1000);
        const reason = failureFactsOf(error).timedOut
          ? `no success within the fallback deadline of ${seconds} s; last: ${lastAttemptMessage(error)}`
          : messageOf(error);
        (progress.fallbacks ??= []).push({ from: directory.name, to: next.name, reason });
        // The step's error stays on the step; the run goes on, so it is no longer the run's error.
        delete progress.lastError;
      }
    }
    throw ApplicationFailure.create({
      type: FailureType.notFound,
      message: 'acme: no ACME directory to issue from',
      nonRetryable: true,
    });
  };

  await db.markCertificateStatus({ certificateId: input.certificateId, status: 'issuing' });
  try {
    const plan = await db.planAcmeDirectories({ certificateId: input.certificateId });
    const version = await issueWithFallback(plan);
    // Runs recorded before deploys existed replay without this block.
    if (patched('deploy-after-issue')) {
      let mailed: DeploymentOutcome[] | undefined;
      const deployments = await step('deploy', () =>
        deployToAllTargets(input.certificateId, version.versionId, db, {
          onOutcomes(outcomes, awaitingRetry) {
            progress.deployments = outcomes;
            progress.awaitingRetry = awaitingRetry;
          },
          async afterFirstRound(outcomes) {
            mailed = outcomes;
            await notify({
              outcome: outcomes.every(succeeded) ? 'issued' : 'partial',
              versionId: version.versionId,
              deployments: outcomes,
            });
          },
        }),
      );
      progress.awaitingRetry = false;
      const allDeployed = deployments.every(succeeded);
      const result: LifecycleResult = allDeployed
        ? { outcome: 'issued', versionId: version.versionId, deployments }
        : {
            outcome: 'partial',
            versionId: version.versionId,
            deployments,
            reason: deployments
              .filter((o) => !succeeded(o))
              .map((o) => `${o.targetName}: ${o.reason ?? o.outcome}`)
              .join('; '),
          };
      // A second email only when retries changed what the first one said.
      if (JSON.stringify(mailed) !== JSON.stringify(deployments)) await notify(result);
      return finish(result);
    }
    const result: LifecycleResult = { outcome: 'issued', versionId: version.versionId };
    await notify(result);
    return finish(result);
  } catch (error) {
    if (isCancellation(error)) {
      const reason = 'the run was cancelled';
      await CancellationScope.nonCancellable(() =>
        db.markCertificateStatus({ certificateId: input.certificateId, status: 'failed', error: reason }),
      );
      progress.lastError = reason;
      finish({ outcome: 'failed', reason });
      throw error;
    }
    const reason = messageOf(error);
    await db.markCertificateStatus({ certificateId: input.certificateId, status: 'failed', error: reason });
    const result: LifecycleResult = { outcome: 'failed', reason };
    await notify(result);
    finish(result);
    // The run ends as Failed in Temporal too, so the Temporal UI and the search attributes agree.
    throw ApplicationFailure.create({
      type: failureTypeOf(error) ?? 'LIFECYCLE_FAILED',
      message: reason,
      nonRetryable: true,
    });
  }
}
