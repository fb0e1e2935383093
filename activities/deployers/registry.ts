import { createBigipDeployer } from './f5-bigip';
import { createPanosDeployer } from './panos';
import type { DeployerFactory } from './types';

/** Vendor id (= folder = targets.vendor) → deployer factory. */
export const deployerFactories: Record<string, DeployerFactory> = {
  'f5-bigip': createBigipDeployer,
  panos: createPanosDeployer,
};
