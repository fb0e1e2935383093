import type { Logger } from 'pino';
import type { AcmeClientSettings } from './acme/accounts';
import type { AlertSettings } from './alerts/alerter';
import type { SecretBox } from './crypto/secret-box';
import type { Database } from './db/pool';
import type { EnvMailSettings } from './mailer';
import type { ScheduleHealthRow } from './db/repositories/dashboard';
import type { DeployerFactory, VendorDescriptor } from './deployers/types';
import type { DnsProviderFactory } from './dns-providers/types';
import type { RenewalInfoPollBounds } from './domain/renewal-info';
import type { DeploySettings } from '../temporal/contract';
import type { RevocationSettings } from '../temporal/revocation-contract';
import type { DependencyGuard } from './dependency-guard';
import type { IsolationSettings } from './dependency-guard/settings';

export interface PropagationSettings {
  intervalMs: number;
  timeoutMs: number;
  /** Resolvers to query instead of the zone's authoritative nameservers (ip or ip:port). */
  resolvers: string[];
}

export interface ActivityDeps {
  db: Database;
  box: SecretBox;
  log: Logger;
  acme: AcmeClientSettings;
  /** Bounds of the ARI poll interval (the CA's Retry-After is clamped to them); defaults when absent. */
  ari?: RenewalInfoPollBounds;
  propagation: PropagationSettings;
  mail: EnvMailSettings;
  /** Public URL of the web console, for links in emails. */
  consoleUrl: string;
  dnsProviders: Record<string, DnsProviderFactory>;
  deployers: Record<string, DeployerFactory>;
  vendors: Record<string, VendorDescriptor>;
  deploy: DeploySettings;
  alerts: AlertSettings;
  /** Per-dependency shares and circuit breakers (defaults: dependency-guard/settings.ts). */
  isolation?: IsolationSettings;
  /** The process's one guard (shares are per process); createActivities builds it when absent. */
  guard?: DependencyGuard;
  /** Key-compromise revocations: how often and how long they wait for the replacement on every target (default: 5 min, 7 days). */
  revocation?: RevocationSettings;
  /** Signals the device session coordinator (the worker's Temporal client). */
  signalWithStart?: (request: DeviceLeaseActivityRequest) => Promise<void>;
  signalRelease?: (targetId: string, requestId: string) => Promise<void>;
  /** What Temporal says about every renewal schedule (the worker's Temporal client); `progress` is called as it goes. */
  describeRenewalSchedules?: (progress: () => void) => Promise<ScheduleHealthRow[]>;
}

export interface DeviceLeaseActivityRequest {
  targetId: string;
  requestId: string;
  requesterWorkflowId: string;
}

export type { EnvMailSettings } from './mailer';
