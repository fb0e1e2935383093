import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
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
import {
  endStep,
  failComposite,
  failedStepOf,
  momentWithin,
  newProgress,
  skipRemaining,
  skipStep,
  startStep,
} from './lib/progress';
import { scheduledCheckDecision } from './lib/renewal-window';
import { bookkeeping, localBookkeeping } from './bookkeeping';
import { untilAnswering } from './dependency-wait';
import { applicationFailureOf } from './lib/application-failure';
import { nonRetryableErrorTypes, remoteCallOptions } from './lib/retry-policies';
import { fallsOver, type FailureFacts } from './lib/fallback';
import { waitForOrderSlot } from './order-pacing';

/**
 * Calls to the CA and the DNS API (lib/retry-policies.ts): regular activities, so a CA or DNS API that
 * stops answering holds an activity slot of its own dependency's share (activities/dependency-guard),
 * never a workflow task (docs/architecture.md, "Where each step runs").
 */
const remote: ActivityOptions = remoteCallOptions;
const ca = proxyActivities<Activities>(remote);
const dns = proxyActivities<Activities>(remote);

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
const mail = proxyActivities<Activities>(mailOptions);

/** A manual target that is ready for download is not a failure. */
const succeeded = (o: DeploymentOutcome): boolean => o.outcome === 'deployed' || o.outcome === 'ready';

/** The step a composite activity's failure names (activities/step-failure.ts). */
const failedPartOf = (error: unknown): LifecycleStep | undefined =>
  failedStepOf(applicationFailureOf(error)?.details ?? undefined);

const failureTypeOf = (error: unknown): string | undefined => applicationFailureOf(error)?.type ?? undefined;

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
  // PostgreSQL-only bookkeeping runs as local activities (short timeouts); everything that leaves
  // CertFleet (CA, DNS API, nameservers, mail) as regular activities.
  const db = localBookkeeping;
  const { workflowId, runId, startTime } = workflowInfo();
  const progress = newProgress(input.certificateId, input.trigger);
  setHandler(progressQuery, () => progress);
  upsertSearchAttributes([{ key: SearchAttributes.certificateId, value: input.certificateId }]);

  const step = async <T>(name: LifecycleStep, work: () => Promise<T>, startedAt = new Date()): Promise<T> => {
    // The step is in the progress query (the console reads it there), not in a search attribute: nothing
    // searched by step, and each upsert was a history event and a visibility write on the server.
    startStep(progress, name, startedAt);
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
  // One local activity opens the run: authority, and (not scheduled) the facts, the status "issuing" and
  // the directory plan (activities/lifecycle-opening.ts).
  const scheduled = input.trigger === 'schedule';
  const open = () =>
    db.openLifecycleRun({
      certificateId: input.certificateId,
      trigger: input.trigger,
      auditId: input.auditId,
      workflowId,
      runId,
      scheduled,
    });
  const opening = scheduled ? await open() : await step('check', open);
  if ('refused' in opening) {
    skipStep(progress, 'check');
    return finish({ outcome: 'skipped', reason: `not started by CertFleet: ${opening.refused}` });
  }

  // A scheduled check also asks the CA's ARI when its stored next-poll time has passed (in the same
  // activity): a call to the CA, so then a regular activity.
  const facts =
    opening.facts ??
    (await step('check', () =>
      bookkeeping.loadRenewalFacts({ certificateId: input.certificateId, renewalInfo: true }),
    ));
  if (!facts.exists) return finish({ outcome: 'skipped', reason: 'the certificate was deleted' });
  let exemptFromRateLimits = false;
  if (scheduled) {
    const { decision, skip } = scheduledCheckDecision(facts, new Date());
    if (skip !== undefined) {
      await db.recordRenewalCheck({ certificateId: input.certificateId });
      return finish({ outcome: 'skipped', reason: skip });
    }
    // A renewal the CA's ARI window asked for goes out with `replaces` (the directory offers ARI and a
    // current version exists): Let's Encrypt does not count it against its limits, so pacing lets it go.
    exemptFromRateLimits = decision.basis === 'ari' && facts.current !== undefined;
  }
  // The CA calls of a directory that has a fallback give up at the fallback deadline (retries included).
  // Regular activities: their failure (a timeout of the deadline included) is recorded as history
  // events, so a replay takes the same fall-over decision.
  const withDeadline = (ms: number): typeof ca =>
    proxyActivities<Activities>({ ...remote, scheduleToCloseTimeout: ms });

  /** While a dependency's breaker is open, the run waits on timers and its progress says why. */
  const answering = <T>(call: () => Promise<T>): Promise<T> =>
    untilAnswering(call, (reason, waitMs) => {
      if (reason === undefined || waitMs === undefined) delete progress.dependencyWait;
      else progress.dependencyWait = { until: new Date(Date.now() + waitMs).toISOString(), reason };
    });

  /**
   * One activity for two steps of the run: `first` starts now; a failure goes on the step it names
   * (lib/progress.ts failComposite). The caller ends the steps from the moments the activity reports.
   */
  const compositeStep = async <T>(
    first: LifecycleStep,
    second: LifecycleStep,
    work: () => Promise<T>,
  ): Promise<{ result: T; startedAt: Date }> => {
    const startedAt = new Date();
    startStep(progress, first, startedAt);
    try {
      return { result: await work(), startedAt };
    } catch (error) {
      failComposite(progress, { first, second, failed: failedPartOf(error) }, messageOf(error), new Date());
      throw error;
    }
  };

  /** Removes the TXT record (best effort, also when the run is being cancelled); never rejects. */
  const cleanUp = (orderId: string): Promise<void> =>
    CancellationScope.nonCancellable(() =>
      step('cleanup', () =>
        untilAnswering(() => dns.removeDnsChallenge({ orderId }), undefined, { busyOnly: true }),
      ).then(
        () => undefined,
        () => undefined,
      ),
    );

  /**
   * Publish the TXT record and take the first look at the nameservers (one DNS activity), then, when
   * the record is not visible everywhere yet, the patient wait. The "present" step ends, and
   * "propagate" starts, when the activity says it published the record.
   */
  const presentAndPropagate = async (orderId: string): Promise<void> => {
    const { result: prepared, startedAt } = await compositeStep('present', 'propagate', () =>
      answering(() => dns.prepareDnsChallenge({ orderId })),
    );
    const publishedAt = momentWithin(prepared.publishedAt, startedAt, new Date());
    endStep(progress, 'present', 'done', publishedAt);
    await step(
      'propagate',
      async () => {
        // Visible everywhere at the first look (the usual case): no patient wait, no extra task.
        if (prepared.propagated) return;
        try {
          await propagation.waitForDnsPropagation({ orderId });
        } catch (error) {
          if (failureTypeOf(error) !== FailureType.propagationTimeout) throw error;
          // The record can be gone at the provider, not slow: another ACME client's cleanup of the same
          // name, a hand edit, or an installation restored from a backup whose history predates the old
          // installation's cleanup (docs/backup-restore.md). Publishing is idempotent: publish once more
          // and wait once more; a second timeout is the run's failure.
          progress.propagationRepublished = true;
          await answering(() => dns.presentDnsChallenge({ orderId }));
          await propagation.waitForDnsPropagation({ orderId });
        }
      },
      publishedAt,
    );
  };

  /**
   * Pacing → order → DNS-01 → validation and finalize, at one ACME directory. With a fallback next
   * (`fallsOver`), a CA whose breaker is open sends the run on to the next directory; the last one
   * is waited for. The TXT record's removal is returned still running (`cleanup`): it goes on beside
   * the deploy; on a failure it is done before the error leaves.
   */
  const issueFrom = async (
    directory: AcmeDirectoryRef,
    caCalls: typeof ca,
    fallsOverNext: boolean,
  ): Promise<{ version: StoredVersion; cleanup?: Promise<void> }> => {
    progress.directory = directory;
    const toCa = <T>(call: () => Promise<T>): Promise<T> =>
      fallsOverNext ? untilAnswering(call, undefined, { busyOnly: true }) : answering(call);
    const order = await step('order', async () => {
      const slot = {
        certificateId: input.certificateId,
        directoryId: directory.id,
        runId,
        exempt: exemptFromRateLimits,
      };
      await answering(() => dns.checkDnsProvider({ certificateId: input.certificateId }));
      // The slot is taken right before the order, so the order reaches the CA within the slot's grace.
      await waitForOrderSlot(db.reserveOrderSlot, slot, progress);
      return toCa(() =>
        caCalls.createAcmeOrder({ certificateId: input.certificateId, workflowId, runId, directoryId: directory.id }),
      );
    });
    // The CA holds valid authorizations already: nothing to publish or validate.
    if (!order.needsChallenge)
      return {
        version: await step('finalize', () => toCa(() => caCalls.finalizeAcmeOrder({ orderId: order.orderId }))),
      };
    try {
      await presentAndPropagate(order.orderId);
      // Validation and finalisation: one CA activity; it says when the validation ended, and which
      // step failed (the progress shows each step).
      const {
        result: { validatedAt, ...version },
        startedAt,
      } = await compositeStep('validate', 'finalize', () =>
        toCa(() => caCalls.validateAndFinalizeAcmeOrder({ orderId: order.orderId })),
      );
      const validated = momentWithin(validatedAt, startedAt, new Date());
      endStep(progress, 'validate', 'done', validated);
      startStep(progress, 'finalize', validated);
      endStep(progress, 'finalize', 'done', new Date());
      return { version, cleanup: cleanUp(order.orderId) };
    } catch (error) {
      // Remove the TXT record in every outcome, also when the run is being cancelled.
      await cleanUp(order.orderId);
      throw error;
    }
  };

  /** Each directory in turn while the one before fails for CA-side reasons (lib/fallback.ts). */
  const issueWithFallback = async (
    plan: AcmeDirectoryPlan,
  ): Promise<{ version: StoredVersion; cleanup?: Promise<void> }> => {
    for (const [index, directory] of plan.directories.entries()) {
      const next = plan.directories[index + 1];
      if (!next) return issueFrom(directory, ca, false);
      try {
        return await issueFrom(directory, withDeadline(plan.fallbackAfterMs), true);
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

  let cleanup: Promise<void> | undefined;
  try {
    const plan =
      opening.plan ?? (await db.beginIssuance({ certificateId: input.certificateId, recordRenewalCheck: true }));
    const issued = await issueWithFallback(plan);
    const { version } = issued;
    cleanup = issued.cleanup;
    let mailed: DeploymentOutcome[] | undefined;
    const deployments = await step('deploy', () =>
      deployToAllTargets(input.certificateId, version, db, {
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
    await cleanup;
    return finish(result);
  } catch (error) {
    await cleanup;
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
