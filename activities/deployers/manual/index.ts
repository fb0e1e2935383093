import type { Deployer, DeployerFactory } from '../types';

/**
 * Manual targets never reach a device: deployToTargetWorkflow marks the version "ready for download"
 * without calling the deployer. Preflight explains that; every other step does nothing.
 */
export const createManualDeployer: DeployerFactory = () => {
  const deployer: Deployer = {
    preflight: async () => ({
      firmware: 'manual',
      checks: [
        {
          name: 'manual target',
          ok: true,
          detail: 'nothing is pushed: a technician downloads each new version and marks it done',
        },
      ],
      changes: ['a technician installs the new version by hand'],
    }),
    stage: async () => ({}),
    activate: async () => ({ previous: {} }),
    activationStatus: async () => ({ state: 'done' }),
    rollback: async () => ({ previous: {} }),
    removeSuperseded: async () => [],
    close: async () => undefined,
  };
  return deployer;
};
