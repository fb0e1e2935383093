import type { DeployerFactory } from './types';

/**
 * Vendor id (= folder = targets.vendor) → deployer factory. Each vendor's module and its SDK (ssh2 for
 * the SSH targets and IIS, xml2js for PAN-OS, basic-ftp for SonicWall, undici for the HTTPS appliances)
 * load when a deployer of that vendor is first made, so a worker holds in memory only the vendors its
 * customers use (as the DNS providers, activities/dns-providers/registry.ts; docs/scaling.md, "Memory").
 */
export const deployerFactories: Record<string, DeployerFactory> = {
  fortigate: (ctx) => (require('./fortigate') as typeof import('./fortigate')).createFortiGateDeployer(ctx),
  'f5-bigip': (ctx) => (require('./f5-bigip') as typeof import('./f5-bigip')).createBigipDeployer(ctx),
  panos: (ctx) => (require('./panos') as typeof import('./panos')).createPanosDeployer(ctx),
  sonicwall: (ctx) => (require('./sonicwall') as typeof import('./sonicwall')).createSonicWallDeployer(ctx),
  iis: (ctx) => (require('./iis') as typeof import('./iis')).createIisDeployer(ctx),
  nginx: (ctx) => (require('./nginx') as typeof import('./nginx')).createNginxDeployer(ctx),
  apache: (ctx) => (require('./apache') as typeof import('./apache')).createApacheDeployer(ctx),
  manual: (ctx) => (require('./manual') as typeof import('./manual')).createManualDeployer(ctx),
};
