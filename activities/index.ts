import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { activityAwareLogger, activityLogFields, withActivityLog } from './activity-log';
import { createAcmeActivities } from './acme';
import { createAcmeDirectoryActivities } from './acme-directory';
import { createCertificateActivities } from './certificates';
import { createCommandActivities } from './commands';
import { createDeployActivities } from './deploy';
import { createDeployOpening } from './deploy-opening';
import { createLifecycleOpening } from './lifecycle-opening';
import type { ActivityDeps } from './deps';
import { createDnsActivities } from './dns';
import { toApplicationFailure } from './errors';
import { createNotifyActivities } from './notify';
import { createScheduleHealthActivities } from './schedule-health';
import { createFleetWatchActivities } from './fleet-watch';
import { createFetchFingerprintActivities } from './fetch-fingerprint';
import { createKeyRolloverActivities } from './acme/key-rollover';
import { createRevocationActivities } from './acme/revoke';
import { createPacingActivities } from './acme/pacing';
import { createFallbackActivities } from './acme/fallback';
import { alertingFor } from './alerts';
import { createDependencyGuard } from './dependency-guard';
import { DEFAULT_ISOLATION_SETTINGS } from './dependency-guard/settings';

type AnyActivity = (input: never) => Promise<unknown>;

const HEARTBEAT_EVERY_MS = 3_000;

/**
 * Every activity heartbeats while it runs (so a killed worker is noticed within the heartbeat
 * timeout, not the start-to-close timeout), and every classified error leaves it as an
 * ApplicationFailure with the right retryability. Its log lines carry the workflow id, run id and
 * activity type (activity-log.ts); a failure is logged once, by the SDK ("Activity failed", warn,
 * with workflowId, workflowRunId and activityType), through the runtime logger.
 */
function asTemporalActivities<T extends Record<string, AnyActivity>>(activities: T, log: Logger): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (input: never) => {
      const ctx = Context.current();
      // Local activities cannot heartbeat: the worker running them also holds the workflow task.
      const ticker = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        return await withActivityLog(log.child(activityLogFields(ctx.info)), () => fn(input));
      } catch (error) {
        throw toApplicationFailure(error);
      } finally {
        clearInterval(ticker);
      }
    };
  }
  return wrapped as T;
}

export function createActivities(base: ActivityDeps) {
  const log = activityAwareLogger(base.log);
  const guard =
    base.guard ??
    createDependencyGuard({
      db: base.db,
      alerter: alertingFor({ ...base, log }).alerter,
      settings: base.isolation ?? DEFAULT_ISOLATION_SETTINGS,
      log,
    });
  const deps: ActivityDeps = { ...base, log, guard };
  const commands = createCommandActivities(deps);
  const deploy = createDeployActivities(deps);
  const certificates = createCertificateActivities(deps);
  const fallback = createFallbackActivities(deps);
  return asTemporalActivities(
    {
      ...certificates,
      ...commands,
      ...createLifecycleOpening({
        ...certificates,
        ...fallback,
        authorizeLifecycle: (input) => commands.authorizeLifecycle(input),
      }),
      ...createAcmeActivities(deps),
      ...createAcmeDirectoryActivities(deps),
      ...createDnsActivities(deps),
      ...createNotifyActivities(deps),
      ...deploy,
      ...createDeployOpening({ ...deploy, authorizeDeploy: (input) => commands.authorizeDeploy(input) }),
      ...createScheduleHealthActivities(deps),
      ...createFleetWatchActivities(deps),
      ...createFetchFingerprintActivities(deps),
      ...createRevocationActivities(deps),
      ...createKeyRolloverActivities(deps),
      ...createPacingActivities(deps),
      ...fallback,
    },
    base.log,
  );
}

export type Activities = ReturnType<typeof createActivities>;
