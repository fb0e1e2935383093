import {
  FailureType,
  type DeploymentRunStart,
  type DeploymentRunOutcome,
  type DeploySettings,
  type DeployTrigger,
  type MaintenanceCheck,
  type PreflightResult,
} from '../temporal/contract';
import { splitPemChain } from './crypto/pem';
import { sealTargetSessionKey } from './crypto/bound-secrets';
import { deploySecrets } from './deploy-secrets';
import { currentVersionIdOf } from './db/repositories/certificates';
import { getVersion } from './db/repositories/certificate-versions';
import { loadDeployRunContext, type DeployRunContext, type MissingPart } from './db/repositories/deploy-run-context';
import {
  appendRunStep,
  finishRun,
  setRunPreviousBinding,
  setRunStaged,
  maintenanceOfRun,
  openRunOfDeployment,
  stagedObjectsOfDeployment,
} from './db/repositories/deployment-runs';
import {
  getDeployment,
  listDeploymentsOfTarget,
  recordDeployed,
  setDeploymentStatus,
  setDeploymentWaiting,
  type DeploymentRecord,
} from './db/repositories/deployments';
import {
  clearTargetBusy,
  getTarget,
  markTargetBusy,
  markTargetBusyAlerted,
  setTargetSessionKey,
  type TargetRecord,
} from './db/repositories/targets';
import { BoundedCache } from './bounded-cache';
import { guardedCallsOf, type DependencyRef } from './dependency-guard';
import { alertingFor } from './alerts';
import { verifyEndpointsOf, withoutTlsEndpoint } from './deploy-endpoints';
import { incidentKey } from './db/repositories/incidents';
import type { ActivityDeps } from './deps';
import type { ActivationStatus, Deployer, DeployerContext } from './deployers/types';
import { followManagementCertificate, managementTrustOf } from './management-trust';
import { expectedChainOf, servedCertificate, verifyServedFingerprint } from './deployers/verify-served';
import {
  learnWireSecret,
  recordWireTranscript,
  withWireTranscript,
  type WireExchange,
} from './deployers/wire-transcript';
import {
  appendRunExchanges,
  deleteRunExchanges,
  endRunStepWithExchanges,
} from './db/repositories/deployment-transcripts';
import { checkTargetAddress, checkTargetAddressAgainst } from './target-address';
import { describeWindows, maintenanceStatus, waitingUntilText } from './domain/maintenance-window';
import { classified, ClassifiedError } from './errors';

type Loaded = DeployRunContext;

const MISSING: Record<MissingPart['missing'], (id: string) => string> = {
  run: (id) => `deploy: run ${id} not found`,
  deployment: (id) => `deploy: deployment ${id} was deleted`,
  target: (id) => `deploy: target ${id} was deleted`,
  version: (id) => `deploy: version ${id} not found`,
};

/** One step of a deploy run on the device: its name in the run's steps, the work, and what the step record says of the result. */
interface DeviceStep<T> {
  step: string;
  work: (deployer: Deployer, loaded: Loaded) => Promise<T>;
  describe?: ((result: T) => string) | undefined;
}

/**
 * What the deploy's device step reports: a commit job to wait for (asynchronous devices), or, on a
 * device bound at once, whether the first verify attempt (in the same activity) saw the new chain.
 */
export interface DeviceActivation {
  jobId?: string;
  verified?: boolean;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function createDeployActivities(deps: ActivityDeps) {
  const { alerter, mailer } = alertingFor(deps);
  /** The run's context in one statement (it was four, and one more per deployed version). */
  const load = async (runRowId: string): Promise<Loaded> => {
    const loaded = await loadDeployRunContext(deps.db, runRowId);
    if ('missing' in loaded) throw classified(FailureType.notFound, MISSING[loaded.missing](loaded.id));
    return loaded;
  };

  /** Fingerprints the management API may present during this run (binding the admin GUI replaces its certificate). */
  const deployedFingerprints = async (deployment: DeploymentRecord, extra: string[]): Promise<string[]> => {
    const ids = [deployment.currentVersionId, deployment.previousVersionId].filter((id): id is string => id !== null);
    const versions = await Promise.all(ids.map((id) => getVersion(deps.db, id)));
    return [...extra, ...versions.flatMap((v) => (v ? [v.fingerprintSha256] : []))];
  };

  const { credentialsOf, sessionKeyOrNothing, redactorFor, materialOf } = deploySecrets(deps);

  const deployerFor = async (
    target: TargetRecord,
    binding: Record<string, unknown>,
    alsoAccept: string[],
    /** The allowed networks when the caller has read them (a step's run context); else they are read here. */
    allowed?: string[],
  ): Promise<Deployer> => {
    const factory = deps.deployers[target.vendor];
    if (!factory)
      throw classified(FailureType.validation, `deploy: vendor "${target.vendor}" is not supported by this version`);
    // Every device session starts here: the address is checked once, for every vendor, before any secret is opened.
    const allowedNetworks = allowed
      ? await checkTargetAddressAgainst(allowed, target.vendor, target.host)
      : await checkTargetAddress(deps.db, target.vendor, target.host);
    const credentials = credentialsOf(target);
    // The target's pin or CA, plus the run's versions: binding the admin GUI replaces what the management API presents.
    const trust = managementTrustOf(target, alsoAccept);
    const ctx: DeployerContext = {
      target: {
        id: target.id,
        name: target.name,
        host: target.host,
        port: target.port,
        trust,
        credentials,
        options: target.options,
        allowedNetworks,
      },
      binding,
      sessionKey: {
        get: async () => {
          const fresh = await getTarget(deps.db, target.id);
          return fresh?.sessionKeySealed ? sessionKeyOrNothing(fresh, fresh.sessionKeySealed) : undefined;
        },
        set: (value) => {
          if (value !== undefined) learnWireSecret(value);
          return setTargetSessionKey(
            deps.db,
            target.id,
            value === undefined ? null : sealTargetSessionKey(deps.box, target, value),
          );
        },
      },
    };
    return factory(ctx);
  };

  /**
   * A verified deploy that bound the management GUI: the target's trust follows the new certificate
   * (activities/management-trust.ts), audited. A failure here never fails the deploy: it is recorded
   * in the run's history, and the next run still connects through its alsoAccept.
   */
  const followManagementTrust = async ({ run, deployment, target: loadedTarget, version }: Loaded): Promise<void> => {
    // Only a binding of the management GUI changes what the management API presents: no handshake
    // with it (and no statement) after any other deploy.
    if (deps.vendors[loadedTarget.vendor]?.bindsManagementGui?.(deployment.binding) !== true) return;
    try {
      // The target as it is now: the device session may have stored a new session key on it since the
      // run's context was read, which the new trust reseals.
      const target = await getTarget(deps.db, loadedTarget.id);
      if (!target) return;
      const outcome = await followManagementCertificate(
        {
          db: deps.db,
          box: deps.box,
          credentialsOf,
          sessionKeyOf: (t) => (t.sessionKeySealed ? sessionKeyOrNothing(t, t.sessionKeySealed) : undefined),
        },
        { target, version, deploymentId: deployment.id, commonName: deployment.commonName },
      );
      if (!outcome.changed) return;
      const was = outcome.before['fingerprintSha256']
        ? `pinned to ${outcome.before['fingerprintSha256']}`
        : 'trusted through its CA';
      await appendRunStep(
        deps.db,
        run.id,
        'management trust',
        'succeeded',
        `the management GUI serves the new certificate: pinned to ${version.fingerprintSha256} (was ${was})`,
      );
    } catch (error) {
      await appendRunStep(deps.db, run.id, 'management trust', 'failed', messageOf(error));
    }
  };

  /** Runs `work` while recording the device traffic into the run's transcript (kept in PostgreSQL, never in history). */
  const transcribed = <T>(loaded: Loaded, step: string, work: () => Promise<T>): Promise<T> =>
    withWireTranscript(redactorFor(loaded.target, loaded.version), work, (exchanges) =>
      appendRunExchanges(deps.db, loaded.run.id, step, exchanges).catch((error: unknown) =>
        deps.log.warn({ runId: loaded.run.id, step, err: messageOf(error) }, 'deploy: cannot save the wire transcript'),
      ),
    );

  // The steps forward run within the device's share and circuit breaker (dependency-guard/); a rollback
  // always goes to the device, whatever its breaker says.
  const guarded = guardedCallsOf(deps.guard);
  const deviceOf = (target: TargetRecord): DependencyRef => ({
    kind: 'device',
    id: target.id,
    label: `${target.name} (${target.host})`,
  });

  /**
   * The device of runs this worker has loaded: a step refused because the device's share was full is
   * refused again at once on its retry while the share is still full, before its run context is read
   * (a fleet deploying to one device retries many times). Per run, bounded, and only a label if stale.
   */
  const deviceOfRun = new BoundedCache<DependencyRef>(2_000, 10 * 60_000);

  /**
   * Runs steps on the device in one session (one login for stage and activate): the run context is read
   * once, every step records itself and its traffic, and the session is always closed.
   */
  const onDevice = async <R>(
    runRowId: string,
    firstStep: string,
    steps: (loaded: Loaded, step: <T>(s: DeviceStep<T>) => Promise<T>) => Promise<R>,
  ): Promise<R> => {
    const rollingBack = firstStep === 'rollback';
    const known = rollingBack ? undefined : deviceOfRun.get(runRowId);
    if (known) deps.guard?.refuseIfBusy(known);
    const loaded = await load(runRowId);
    const device = deviceOf(loaded.target);
    deviceOfRun.set(runRowId, device);
    let session: Promise<Deployer> | undefined;
    const deployer = (): Promise<Deployer> =>
      (session ??= deployerFor(
        loaded.target,
        loaded.deployment.binding,
        [loaded.version.fingerprintSha256, ...loaded.deployedFingerprints],
        loaded.allowedNetworks,
      ));
    const run = async (): Promise<R> => {
      try {
        const result = await steps(loaded, (s) => deviceStep(loaded, s, deployer));
        // Only a target that refused a session lately has a busy spell to end (one statement fewer per step).
        if (loaded.targetBusy) await clearTargetBusy(deps.db, loaded.target.id);
        return result;
      } finally {
        const opened = await session?.catch(() => undefined);
        await opened?.close().catch(() => undefined);
      }
    };
    return rollingBack ? run() : guarded(device, run);
  };

  const deviceStep = async <T>(
    loaded: Loaded,
    { step, work, describe }: DeviceStep<T>,
    deployer: () => Promise<Deployer>,
  ): Promise<T> => {
    const runRowId = loaded.run.id;
    await appendRunStep(deps.db, runRowId, step, 'started', null);
    // The step's traffic is recorded, and written with the step's end in one statement.
    const { outcome, exchanges } = await recordWireTranscript(redactorFor(loaded.target, loaded.version), async () =>
      work(await deployer(), loaded),
    );
    if (outcome.ok) {
      await endStep(
        runRowId,
        step,
        { status: 'succeeded', detail: describe ? describe(outcome.value) : null },
        exchanges,
      );
      return outcome.value;
    }
    const { error } = outcome;
    await endStep(runRowId, step, { status: 'failed', detail: messageOf(error) }, exchanges);
    if (error instanceof ClassifiedError && error.type === FailureType.deviceSessionBusy) {
      await alertIfBusyTooLong(loaded.target, error.message);
      throw classified(FailureType.deviceSessionBusy, error.message, deps.deploy.busyRetryMs);
    }
    throw error;
  };

  /**
   * A device step's end with its transcript, in one statement; should that fail, the end alone (which
   * must be recorded: its failure fails the step) and the transcript is only logged as lost.
   */
  const endStep = async (
    runRowId: string,
    step: string,
    end: { status: 'succeeded' | 'failed'; detail: string | null },
    exchanges: WireExchange[],
  ): Promise<void> => {
    if (exchanges.length === 0) return appendRunStep(deps.db, runRowId, step, end.status, end.detail);
    try {
      await endRunStepWithExchanges(deps.db, runRowId, step, end, exchanges);
    } catch (error) {
      deps.log.warn({ runId: runRowId, step, err: messageOf(error) }, 'deploy: cannot save the wire transcript');
      await appendRunStep(deps.db, runRowId, step, end.status, end.detail);
    }
  };

  /** Imports the version under names derived from it (a retry reuses them), and records them on the run. */
  const stageStep: DeviceStep<{ staged: Record<string, string> }> = {
    step: 'stage',
    work: async (deployer, { run, version, deployment }) => {
      const staged = await deployer.stage(materialOf(version, deployment.commonName));
      await setRunStaged(deps.db, run.id, staged);
      return { staged };
    },
    describe: (r) => `imported as ${Object.values(r.staged).join(', ')}`,
  };

  /**
   * Binds the staged objects. The binding found on the device is recorded as the run's rollback target
   * BEFORE anything is bound (the deployer's beforeChange), and only the first time (a retry after the
   * bind finds our own binding there): a worker that dies between the bind and its answer leaves the
   * rollback target recorded.
   */
  const activateStep = (staged: Record<string, string> | null): DeviceStep<{ jobId?: string }> => ({
    step: 'activate',
    work: async (deployer, { run }) => {
      if (!staged) throw classified(FailureType.validation, 'deploy: nothing staged to activate');
      const record = (previous: Record<string, string>): Promise<void> =>
        setRunPreviousBinding(deps.db, run.id, previous);
      let recorded = false;
      const activation = await deployer.activate(staged, {
        beforeChange: async (previous) => {
          await record(previous);
          recorded = true;
        },
      });
      // A deployer with nothing to change on the device (manual) may not call the hook.
      if (!recorded) await record(activation.previous);
      return activation.jobId ? { jobId: activation.jobId } : {};
    },
    describe: (r) => (r.jobId ? `commit job ${r.jobId}` : 'bound'),
  });

  /** The superseded objects of a deployment: staged by its runs, neither current nor kept for rollback. */
  const supersededOf = async (
    deploymentId: string,
  ): Promise<{ keep: Record<string, string>[]; candidates: Record<string, string>[] }> => {
    const after = await getDeployment(deps.db, deploymentId);
    const keep = [after?.currentObjects, after?.previousObjects].filter((o): o is Record<string, string> => Boolean(o));
    const keepKeys = new Set(keep.map((o) => JSON.stringify(o)));
    const candidates = (await stagedObjectsOfDeployment(deps.db, deploymentId)).filter(
      (o) => !keepKeys.has(JSON.stringify(o)),
    );
    return { keep, candidates };
  };

  /** One email per busy spell once a device has refused our session for longer than the configured time. */
  const alertIfBusyTooLong = async (target: TargetRecord, reason: string): Promise<void> => {
    const { busySince, alerted } = await markTargetBusy(deps.db, target.id);
    if (alerted || Date.now() - busySince.getTime() < deps.deploy.busyAlertMs) return;
    const minutes = Math.round((Date.now() - busySince.getTime()) / 60_000);
    const sent = await mailer
      .send({
        subject: `[CertFleet] DEVICE BUSY: ${target.name} has refused our session for ${minutes} min`,
        text: [
          `CertFleet cannot open an admin session on ${target.name} (${target.host}): someone else holds the device's single session.`,
          `It has been busy since ${busySince.toISOString()}. Deploys to it wait and retry; they never log the other admin out.`,
          '',
          `Last answer: ${reason}`,
          '',
          '-- CertFleet',
        ].join('\n'),
      })
      .catch(() => ({ sent: false }));
    if (sent.sent) await markTargetBusyAlerted(deps.db, target.id);
  };

  const isCurrentVersion = async (certificateId: string, versionId: string): Promise<boolean> =>
    (await currentVersionIdOf(deps.db, certificateId)) === versionId;

  /**
   * Closes a run that went well, in PostgreSQL only (a local activity: it never calls the device or
   * the mail server): deployed (the version becomes current, the replaced one is kept for rollback)
   * or ready for download (manual targets). Says whether superseded objects are left on the device
   * for cleanUpDeployment. Failed runs close through finishDeploymentRun (it may send an alert).
   */
  const closeDeploymentRun = async (input: {
    runRowId: string;
    outcome: 'deployed' | 'ready';
  }): Promise<{ cleanUp: boolean }> => {
    const { run, deployment, version } = await load(input.runRowId);
    await finishRun(deps.db, run.id, input.outcome, null);
    if (input.outcome === 'ready') {
      await appendRunStep(
        deps.db,
        run.id,
        'ready',
        'succeeded',
        'ready for download: waiting for a technician to install it and mark it done',
      );
      await setDeploymentStatus(deps.db, deployment.id, 'ready', null);
      return { cleanUp: false };
    }
    if (!run.stagedObjects)
      throw classified(FailureType.validation, `deploy: run ${run.id} staged nothing, so it cannot be deployed`);
    await appendRunStep(deps.db, run.id, 'finish', 'succeeded', 'deployed');
    await recordDeployed(deps.db, deployment.id, version.id, run.stagedObjects);
    // Only failed and rolled-back runs keep their wire transcript (for a bug report).
    await deleteRunExchanges(deps.db, run.id);
    await alerter.recovered(incidentKey.deploy(deployment.id));
    if (await isCurrentVersion(deployment.certificateId, version.id))
      await alerter.recovered(incidentKey.notDeployed(deployment.id));
    return { cleanUp: (await supersededOf(deployment.id)).candidates.length > 0 };
  };

  /** Removes the deployment's superseded objects from the device (best effort: a failure is a step of the run, never the run's failure). */
  const cleanUpDeployment = async (input: { runRowId: string }): Promise<{ removed: string[] }> => {
    const { run, deployment, target, version } = await load(input.runRowId);
    const { keep, candidates } = await supersededOf(deployment.id);
    if (candidates.length === 0) return { removed: [] };
    const fresh = await getTarget(deps.db, target.id);
    let deployer: Deployer;
    try {
      deployer = await deployerFor(
        fresh ?? target,
        deployment.binding,
        await deployedFingerprints(deployment, [version.fingerprintSha256]),
      );
    } catch (error) {
      await appendRunStep(deps.db, run.id, 'cleanup', 'failed', messageOf(error));
      return { removed: [] };
    }
    try {
      const removed = await deployer.removeSuperseded(keep, candidates);
      if (removed.length) await appendRunStep(deps.db, run.id, 'cleanup', 'succeeded', `removed ${removed.join(', ')}`);
      return { removed };
    } catch (error) {
      await appendRunStep(deps.db, run.id, 'cleanup', 'failed', messageOf(error));
      return { removed: [] };
    } finally {
      await deployer.close().catch(() => undefined);
    }
  };

  /** TLS handshake at every endpoint: the served chain must be the new version's leaf, then its intermediates in order. */
  const verifyDeployment = async (input: { runRowId: string }): Promise<{ endpoints: string[] }> =>
    verifyLoaded(await load(input.runRowId));

  /** The verify of a run whose context is read already (the device step's first attempt reuses its own). */
  const verifyLoaded = async (loaded: Loaded): Promise<{ endpoints: string[] }> => {
    const runRowId = loaded.run.id;
    await appendRunStep(deps.db, runRowId, 'verify', 'started', null);
    try {
      const endpoints = verifyEndpointsOf(deps.vendors, loaded.target, loaded.deployment);
      const noTls =
        endpoints.length === 0 ? withoutTlsEndpoint(deps.vendors, loaded.target, loaded.deployment) : undefined;
      if (noTls) {
        await appendRunStep(deps.db, runRowId, 'verify', 'succeeded', `not verified by TLS: ${noTls}`);
        await followManagementTrust(loaded);
        return { endpoints: [] };
      }
      if (endpoints.length === 0)
        throw classified(FailureType.validation, 'deploy: no endpoint to verify; add one to the deployment');
      for (const endpoint of endpoints)
        await checkTargetAddressAgainst(loaded.allowedNetworks, loaded.target.vendor, endpoint.host);
      const expected = expectedChainOf(loaded.version.fingerprintSha256, splitPemChain(loaded.version.chainPem));
      const seen = await verifyServedFingerprint(loaded.target.vendor, endpoints, expected);
      await appendRunStep(deps.db, runRowId, 'verify', 'succeeded', seen.join('; '));
      // A verified deploy that bound the management GUI: the target's trust follows (a TLS handshake
      // with the device, so here in a regular activity rather than in the run's local closing).
      await followManagementTrust(loaded);
      return { endpoints: seen };
    } catch (error) {
      await appendRunStep(deps.db, runRowId, 'verify', 'failed', messageOf(error));
      throw error;
    }
  };

  return {
    async loadDeploySettings(_input: Record<string, never>): Promise<DeploySettings> {
      return deps.deploy;
    },

    /**
     * Opens the history row of this run (idempotent per workflow run) and marks the deployment as
     * deploying; or, for a certificate's run re-driven onto a version the deployment already has
     * deployed (repositories/deployment-runs.ts openRunOfDeployment), opens nothing, changes nothing
     * and says which run deployed it. One statement.
     */
    async startDeploymentRun(input: {
      deploymentId: string;
      versionId: string;
      workflowId: string;
      runId: string;
      trigger: DeployTrigger;
    }): Promise<DeploymentRunStart> {
      const opened = await openRunOfDeployment(deps.db, input);
      if ('missing' in opened)
        throw classified(FailureType.notFound, `deploy: deployment ${input.deploymentId} no longer exists`);
      if ('alreadyDeployed' in opened) {
        const by = opened.alreadyDeployed;
        return {
          alreadyDeployed: { runRowId: by.runRowId, endedAt: (by.endedAt ?? by.startedAt).toISOString() },
          targetName: opened.targetName,
        };
      }
      const vendor = deps.vendors[opened.vendor];
      return {
        runRowId: opened.runRowId,
        targetName: opened.targetName,
        targetId: opened.targetId,
        exclusiveSession: vendor?.exclusiveSession === true,
        manual: vendor?.manual === true,
      };
    },

    /** Whether the target's maintenance window is open; when not, the deployment shows it waits, and until when. */
    async checkMaintenanceWindow(input: { runRowId: string }): Promise<MaintenanceCheck> {
      // The target's windows alone (one narrow statement), not the run's whole context.
      const found = await maintenanceOfRun(deps.db, input.runRowId);
      if (!found)
        throw classified(
          FailureType.notFound,
          `deploy: run ${input.runRowId}, its deployment or its target no longer exists`,
        );
      const { deploymentId, maintenance } = found;
      const status = maintenanceStatus(maintenance, new Date());
      if (status.inWindow) return { inWindow: true };
      if (!status.opensAt) return { inWindow: true };
      const timeZone = maintenance?.timeZone ?? 'UTC';
      const detail = `${waitingUntilText(status.opensAt, timeZone)}, when the maintenance window opens (${describeWindows(maintenance).replace(/\n/g, '; ')})`;
      await appendRunStep(deps.db, input.runRowId, 'maintenance window', 'started', detail);
      await setDeploymentWaiting(deps.db, deploymentId, status.opensAt, timeZone);
      return { inWindow: false, opensAt: status.opensAt.toISOString() };
    },

    /**
     * The run's steps show that it waits for a device whose breaker is open (workflows/dependency-wait.ts):
     * "waiting for device" started with why, and succeeded once a call goes through again.
     */
    async recordDeviceWait(input: { runRowId: string; reason?: string }): Promise<void> {
      const { run } = await load(input.runRowId);
      if (input.reason !== undefined)
        await appendRunStep(deps.db, run.id, 'waiting for device', 'started', input.reason);
      else await appendRunStep(deps.db, run.id, 'waiting for device', 'succeeded', 'the device answers again');
    },

    /** The wait is over: the window opened, or a technician asked to deploy now (audited in the console). */
    async endMaintenanceWait(input: { runRowId: string; deployNowBy?: string }): Promise<void> {
      const { run, deployment } = await load(input.runRowId);
      await appendRunStep(
        deps.db,
        run.id,
        'maintenance window',
        'succeeded',
        input.deployNowBy ? `deploy now, requested by ${input.deployNowBy}` : 'the window opened',
      );
      await setDeploymentStatus(deps.db, deployment.id, 'deploying', null);
    },

    async loadTargetFacts(input: { targetId: string }): Promise<{ exclusiveSession: boolean }> {
      const target = await getTarget(deps.db, input.targetId);
      if (!target) throw classified(FailureType.notFound, `target ${input.targetId} no longer exists`);
      return { exclusiveSession: deps.vendors[target.vendor]?.exclusiveSession === true };
    },

    /** Asks the device's session coordinator for the lease (starting the coordinator if needed). */
    async requestDeviceLease(input: {
      targetId: string;
      requestId: string;
      requesterWorkflowId: string;
    }): Promise<void> {
      if (!deps.signalWithStart)
        throw classified(FailureType.validation, 'deploy: this worker cannot reach the device session coordinator');
      await deps.signalWithStart(input);
    },

    async releaseDeviceLease(input: { targetId: string; requestId: string }): Promise<void> {
      await deps.signalRelease?.(input.targetId, input.requestId);
    },

    /** Imports the version under names derived from it (a retry reuses them). */
    async stageDeployment(input: { runRowId: string }): Promise<{ staged: Record<string, string> }> {
      return onDevice(input.runRowId, 'stage', (_loaded, step) => step(stageStep));
    },

    async activateDeployment(input: { runRowId: string }): Promise<{ jobId?: string }> {
      return onDevice(input.runRowId, 'activate', (loaded, step) => step(activateStep(loaded.run.stagedObjects)));
    },

    /**
     * The deploy's device step: stage, then activate, in one session and one activity (one login, one
     * workflow task); on a device without a commit job, then the first verify attempt. Idempotent: a
     * retry stages again under the same names (nothing is imported twice) and binds what is bound
     * already without a change; the rollback target recorded by the first attempt stays. activate is
     * all or nothing, so a failure here needs no rollback.
     */
    async stageAndActivateDeployment(input: { runRowId: string }): Promise<DeviceActivation> {
      const { loaded, activation } = await onDevice(input.runRowId, 'stage', async (loaded, step) => {
        const { staged } = await step(stageStep);
        return { loaded, activation: await step(activateStep(staged)) };
      });
      if (activation.jobId) return activation;
      // Bound synchronously: the first verify attempt here, after the device session closed (one
      // activity and one workflow task fewer per deploy), with the run's context this step read (the
      // management trust, when it follows, reads its target again). A failed attempt is recorded as a
      // verify step and leaves the rest to verifyDeployment with its retries; the binding is never
      // undone here.
      return {
        verified: await verifyLoaded(loaded).then(
          () => true,
          () => false,
        ),
      };
    },

    async checkDeploymentActivation(input: { runRowId: string; jobId: string }): Promise<ActivationStatus> {
      const loaded = await load(input.runRowId);
      return transcribed(loaded, 'commit', async () => {
        const deployer = await deployerFor(
          loaded.target,
          loaded.deployment.binding,
          [loaded.version.fingerprintSha256, ...loaded.deployedFingerprints],
          loaded.allowedNetworks,
        );
        try {
          const status = await deployer.activationStatus(input.jobId);
          if (status.state !== 'pending')
            await appendRunStep(
              deps.db,
              input.runRowId,
              'commit',
              status.state === 'done' ? 'succeeded' : 'failed',
              status.state === 'failed' ? status.detail : (status.detail ?? `job ${input.jobId}`),
            );
          return status;
        } finally {
          await deployer.close().catch(() => undefined);
        }
      });
    },

    /** Verify with retries: after a commit job, or when the device step's first attempt did not see the new chain. */
    verifyDeployment,

    /** Puts back what was bound before this run. */
    async rollbackDeployment(input: { runRowId: string }): Promise<{ jobId?: string }> {
      return onDevice(input.runRowId, 'rollback', (_loaded, step) =>
        step({
          step: 'rollback',
          work: async (deployer, { run }) => {
            if (!run.previousBinding) return {};
            const activation = await deployer.rollback(run.previousBinding);
            return activation.jobId ? { jobId: activation.jobId } : {};
          },
          describe: (r) => (r.jobId ? `commit job ${r.jobId}` : 'previous binding restored'),
        }),
      );
    },

    closeDeploymentRun,
    cleanUpDeployment,

    /**
     * Closes a run that failed or was rolled back: the deployment shows why, and its incident alerts
     * once (a regular activity: the alert may be an email). A successful outcome is closed as
     * closeDeploymentRun does, then cleaned up.
     */
    async finishDeploymentRun(input: {
      runRowId: string;
      outcome: DeploymentRunOutcome;
      error?: string;
    }): Promise<{ removed: string[] }> {
      if (input.outcome === 'deployed' || input.outcome === 'ready') {
        const { cleanUp } = await closeDeploymentRun({ runRowId: input.runRowId, outcome: input.outcome });
        return cleanUp ? cleanUpDeployment({ runRowId: input.runRowId }) : { removed: [] };
      }
      const { run, deployment, target } = await load(input.runRowId);
      await finishRun(deps.db, run.id, input.outcome, input.error ?? null);
      const reason = input.error ?? input.outcome;
      await appendRunStep(deps.db, run.id, 'finish', 'failed', reason);
      await setDeploymentStatus(deps.db, deployment.id, 'failed', reason);
      // Once per incident: a target that keeps failing (every retry, every renewal) alerts once.
      await alerter.problem({
        key: incidentKey.deploy(deployment.id),
        kind: 'deploy-failed',
        certificateId: deployment.certificateId,
        deploymentId: deployment.id,
        customerId: target.customerId,
        title: `${deployment.commonName} not deployed to ${deployment.targetName}`,
        detail: `${deployment.targetName}: ${input.outcome} (${reason})`,
      });
      return { removed: [] };
    },

    /** "Test connection": checks everything a deploy needs and changes nothing. */
    async runTargetPreflight(input: { targetId: string }): Promise<PreflightResult> {
      const target = await getTarget(deps.db, input.targetId);
      if (!target) throw classified(FailureType.notFound, `preflight: target ${input.targetId} no longer exists`);
      const deployments = await listDeploymentsOfTarget(deps.db, target.id);
      const binding = deployments[0]?.binding ?? {};
      let deployer: Deployer | undefined;
      try {
        deployer = await deployerFor(target, binding, []);
        const report = await deployer.preflight();
        return {
          ok: report.checks.every((c) => c.ok),
          ...(report.firmware ? { firmware: report.firmware } : {}),
          checks: report.checks,
          changes: report.changes,
        };
      } catch (error) {
        if (error instanceof ClassifiedError) {
          const seen =
            error.type === FailureType.targetTlsUntrusted
              ? await servedCertificate({ host: target.host, port: target.port }).catch(() => undefined)
              : undefined;
          const hint = seen
            ? ` The device presents a certificate with SHA-256 fingerprint ${seen.fingerprintSha256}; pin it if you trust it.`
            : '';
          return { ok: false, checks: [], changes: [], error: error.message + hint };
        }
        throw error;
      } finally {
        await deployer?.close().catch(() => undefined);
      }
    },
  };
}
