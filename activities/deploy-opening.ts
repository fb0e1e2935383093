/**
 * A deploy's start as ONE local activity (its bookkeeping in PostgreSQL only): the run's authority,
 * the deploy settings, the run row, and the target's maintenance window. Four markers and four
 * activations of the workflow task were one each; every part is idempotent per workflow run, so a
 * retry of the whole is safe.
 */
import type {
  CommandClaimResult,
  DeployAuthorityRequest,
  DeploymentOpening,
  DeploymentRunStart,
  DeploySettings,
  DeployTrigger,
  MaintenanceCheck,
} from '../temporal/contract';

export interface DeployOpeningParts {
  authorizeDeploy(input: DeployAuthorityRequest): Promise<CommandClaimResult>;
  loadDeploySettings(input: Record<string, never>): Promise<DeploySettings>;
  startDeploymentRun(input: {
    deploymentId: string;
    versionId: string;
    workflowId: string;
    runId: string;
    trigger: DeployTrigger;
  }): Promise<DeploymentRunStart>;
  checkMaintenanceWindow(input: { runRowId: string }): Promise<MaintenanceCheck>;
}

export function createDeployOpening(parts: DeployOpeningParts) {
  return {
    async openDeploymentRun(input: DeployAuthorityRequest): Promise<DeploymentOpening> {
      const authority = await parts.authorizeDeploy(input);
      if (!authority.accepted) return { refused: authority.reason };
      const settings = await parts.loadDeploySettings({});
      const { deploymentId, versionId, workflowId, runId, trigger } = input;
      const start = await parts.startDeploymentRun({ deploymentId, versionId, workflowId, runId, trigger });
      // Nothing to deploy (already there), or nothing pushed (a manual target): no window to wait for.
      if ('alreadyDeployed' in start || start.manual) return { settings, start };
      return { settings, start, maintenance: await parts.checkMaintenanceWindow({ runRowId: start.runRowId }) };
    },
  };
}
