import { createApacheDeployer } from './apache';
import { createBigipDeployer } from './f5-bigip';
import { createFortiGateDeployer } from './fortigate';
import { createIisDeployer } from './iis';
import { createManualDeployer } from './manual';
import { createNginxDeployer } from './nginx';
import { createPanosDeployer } from './panos';
import { createSonicWallDeployer } from './sonicwall';
import type { DeployerFactory } from './types';

/** Vendor id (= folder = targets.vendor) → deployer factory. */
export const deployerFactories: Record<string, DeployerFactory> = {
  fortigate: createFortiGateDeployer,
  'f5-bigip': createBigipDeployer,
  panos: createPanosDeployer,
  sonicwall: createSonicWallDeployer,
  iis: createIisDeployer,
  nginx: createNginxDeployer,
  apache: createApacheDeployer,
  manual: createManualDeployer,
};
