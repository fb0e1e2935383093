import {
  CommandAction,
  certificateWorkflowId,
  type CommandClaimRequest,
  type CommandClaimResult,
  type DeployAuthorityRequest,
  type LifecycleAuthorityRequest,
} from '../temporal/contract';
import { claimAuditEntry, rejectCommand, waitForAuditEntry, type ClaimCheck } from './db/repositories/command-claims';
import { certificatesOfDeploy } from './db/repositories/deployments';
import type { ActivityDeps } from './deps';

/** A forged payload may hold anything: only a bigint id is looked up. */
const auditIdOf = (value: unknown): string | undefined =>
  typeof value === 'string' && /^\d{1,18}$/.test(value) ? value : undefined;

/** How long a command may wait for the console's transaction that wrote its entry to commit. */
const ENTRY_COMMIT_WAIT_MS = 10_000;

const LIFECYCLE_COMMANDS: Record<string, CommandAction | 'scheduled'> = {
  schedule: 'scheduled',
  create: CommandAction.create,
  manual: CommandAction.renewNow,
};

/**
 * Authority for commands that reach Temporal: a workflow never takes identity or authority from a
 * signal payload or its input. Each command names the audit entry the console wrote for it; these
 * check that entry and claim it (once) before the workflow acts, and record every rejection.
 */
export function createCommandActivities(deps: ActivityDeps) {
  const claim = async (
    c: ClaimCheck,
    command: string,
    workflowId: string,
    rejectedAs: 'signal-rejected' | 'start-rejected',
  ): Promise<CommandClaimResult> => {
    if (c.auditId !== undefined) await waitForAuditEntry(deps.db, c.auditId, ENTRY_COMMIT_WAIT_MS);
    return deps.db.withTransaction((tx) =>
      claimAuditEntry(tx, c, { action: rejectedAs, after: { command, workflowId } }),
    );
  };

  /** Rejects a start that has no audit entry to check (a forged trigger or origin). Idempotent per claim id. */
  const rejectStart = (
    c: Omit<ClaimCheck, 'auditId' | 'action'>,
    workflowId: string,
    reason: string,
  ): Promise<CommandClaimResult> =>
    deps.db.withTransaction((tx) =>
      rejectCommand(tx, c, reason, { action: 'start-rejected', after: { command: 'start', workflowId } }),
    );

  return {
    /** A signal (Deploy now, Retry): its audit entry checked and claimed, or the signal rejected and recorded. */
    async claimCommand(input: CommandClaimRequest): Promise<CommandClaimResult> {
      return claim({ ...input, auditId: auditIdOf(input.auditId) }, input.command, input.workflowId, 'signal-rejected');
    },

    /**
     * A deploy acts only on a version of the deployment's certificate, started by the certificate's own
     * run (Temporal sets the parent, nobody else can) or by the console (Retry, Redeploy) with its audit entry.
     */
    async authorizeDeploy(input: DeployAuthorityRequest): Promise<CommandClaimResult> {
      const claimId = `${input.workflowId}/${input.runId}/start`;
      // The deployment and the version's certificate in one statement.
      const found = await certificatesOfDeploy(deps.db, input.deploymentId, input.versionId);
      const target = { claimId, entityType: 'deployment', entityId: input.deploymentId };
      if (!found) return rejectStart(target, input.workflowId, `deployment ${input.deploymentId} does not exist`);
      if (found.versionCertificateId !== found.deploymentCertificateId)
        return rejectStart(
          target,
          input.workflowId,
          `version ${input.versionId} is not a version of this deployment's certificate`,
        );
      // The certificate's run deploys its new version, and retries it (on a Retry whose entry it claimed, or by itself).
      if (input.parentWorkflowId === certificateWorkflowId(found.deploymentCertificateId))
        return { accepted: true, actor: 'renewal' };
      if (input.trigger === 'lifecycle')
        return rejectStart(target, input.workflowId, "a lifecycle deploy must be started by the certificate's own run");
      if (input.trigger !== 'retry' && input.trigger !== 'redeploy')
        return rejectStart(target, input.workflowId, `unknown trigger ${JSON.stringify(input.trigger)}`);
      return claim(
        { ...target, auditId: auditIdOf(input.auditId), action: CommandAction[input.trigger] },
        'start',
        input.workflowId,
        'start-rejected',
      );
    },

    /** A scheduled run needs no entry (it renews only inside the renewal window); creation and "Renew now" do. */
    async authorizeLifecycle(input: LifecycleAuthorityRequest): Promise<CommandClaimResult> {
      const target = {
        claimId: `${input.workflowId}/${input.runId}/start`,
        entityType: 'certificate',
        entityId: input.certificateId,
      };
      const command =
        typeof input.trigger === 'string' && Object.hasOwn(LIFECYCLE_COMMANDS, input.trigger)
          ? LIFECYCLE_COMMANDS[input.trigger]
          : undefined;
      if (command === 'scheduled') return { accepted: true, actor: 'schedule' };
      if (command === undefined)
        return rejectStart(target, input.workflowId, `unknown trigger ${JSON.stringify(input.trigger)}`);
      return claim(
        { ...target, auditId: auditIdOf(input.auditId), action: command },
        'start',
        input.workflowId,
        'start-rejected',
      );
    },
  };
}
