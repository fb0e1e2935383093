/**
 * Helpers for the PAN-OS deployer tests against the fake: a key cache, a deployer context, polling a
 * handle (commit and Panorama push), and running a deployer that is always closed.
 */
import { panosDescriptor } from '../../../activities/deployers/panos/descriptor';
import { createPanosDeployer } from '../../../activities/deployers/panos/index';
import type {
  Activation,
  ActivationStatus,
  CertificateMaterial,
  Deployer,
  DeployerContext,
  ManagementTrust,
} from '../../../activities/deployers/types';
import { closing } from '../../support/closing';
import type { FakePanos } from './server';

export interface KeyCache {
  store: NonNullable<DeployerContext['sessionKey']>;
  value(): string | undefined;
  writes: number;
}

export function keyCache(): KeyCache {
  let value: string | undefined;
  const cache: KeyCache = {
    store: {
      get: async () => value,
      set: async (v) => {
        value = v;
        cache.writes++;
      },
    },
    value: () => value,
    writes: 0,
  };
  return cache;
}

export interface ContextOverrides {
  credentials?: Record<string, string>;
  options?: Record<string, unknown>;
  profiles?: string[];
  /** Binding fields besides profiles and verifyPorts (adminGui). */
  binding?: Record<string, unknown>;
  trust?: ManagementTrust;
  /** Verify ports: default every listener of the fake. */
  ports?: number[];
}

export function panosContext(fake: FakePanos, cache: KeyCache, over: ContextOverrides = {}): DeployerContext {
  const ports = over.ports ?? fake.endpoints.map((e) => e.port);
  const binding = {
    profiles: over.profiles ?? ['gp-portal', 'mgmt-ui'],
    verifyPorts: ports.map(String).join(', '),
    ...(over.binding ?? {}),
  };
  return {
    target: {
      id: 'target-1',
      name: 'fw-1',
      host: fake.host,
      port: fake.port,
      trust: over.trust ?? { fingerprintSha256: fake.managementFingerprint },
      credentials: over.credentials ?? { username: fake.username, password: fake.password },
      options: over.options ?? {},
    },
    binding: panosDescriptor.parseBinding(binding).value,
    sessionKey: cache.store,
  };
}

export function usePanos<T>(ctx: DeployerContext, work: (d: Deployer) => Promise<T>): Promise<T> {
  return closing(createPanosDeployer(ctx), work);
}

/** Stages `material`, activates it and waits for the commit (or push) job to end. */
export function deployPanos(ctx: DeployerContext, material: CertificateMaterial): Promise<ActivationStatus> {
  return usePanos(ctx, async (d) => settle(d, await d.activate(await d.stage(material))));
}

/** Polls a handle until the device reports it done or failed. */
export async function settle(d: Deployer, activation: Activation): Promise<ActivationStatus> {
  if (!activation.jobId) return { state: 'done' };
  for (let i = 0; i < 200; i++) {
    const status = await d.activationStatus(activation.jobId);
    if (status.state !== 'pending') return status;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`job ${activation.jobId} did not finish`);
}
