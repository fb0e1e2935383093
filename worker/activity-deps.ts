import type { ActivityDeps } from '../activities/deps';
import { vendorDescriptors } from '../activities/deployers/descriptors';
import { deployerFactories } from '../activities/deployers/registry';
import { dnsProviderFactories } from '../activities/dns-providers/registry';
import type { WorkerConfig } from './config';

/**
 * The activities' dependencies from the worker's config and the process's database, secret box and
 * logger, with every registered vendor and DNS provider. What needs the worker's Temporal client
 * (device-session signals, schedule descriptions) the caller adds; tests that run activities
 * directly build theirs here too.
 */
export function activityDepsFrom(config: WorkerConfig, core: Pick<ActivityDeps, 'db' | 'box' | 'log'>): ActivityDeps {
  return {
    ...core,
    acme: config.acme,
    ari: config.ari,
    propagation: config.propagation,
    mail: config.mail,
    consoleUrl: config.consoleUrl,
    dnsProviders: dnsProviderFactories,
    deployers: deployerFactories,
    vendors: vendorDescriptors,
    deploy: config.deploy,
    revocation: config.revocation,
    alerts: config.alerts,
    isolation: config.isolation,
  };
}
