/**
 * What the FortiGate deployer tests share (test/unit/deployer-fortigate*.test.ts): the API token the fake
 * accepts, the deployer context on a fake FortiGate, the fake's lifetime, and raw API access to it.
 */
import { createDeviceHttp, type DeviceHttp } from '../../activities/deployers/device-http';
import { createFortiGateDeployer } from '../../activities/deployers/fortigate/index';
import type { CertificateMaterial, Deployer, DeployerContext, ManagementTrust } from '../../activities/deployers/types';
import { startFakeFortiGate, type FakeFortiGate, type FakeFortiGateOptions } from '../fakes/fortigate/server';
import { closing } from './closing';
import { pinnedTarget } from './pinned-target';

/** The REST API administrator token the fake accepts. */
export const FORTIGATE_TOKEN = 'fgtTokenSECRET0123456789abcdefXY';

export interface FortiGateContextInput {
  /** Binding options; the admin GUI and SSL-VPN when not given. */
  binding?: Record<string, unknown>;
  /** Target options, over the fake's SSL-VPN port. */
  options?: Record<string, unknown>;
  token?: string;
  /** The versions this run deploys (the admin GUI binding replaces the management certificate). */
  versions?: CertificateMaterial[];
  /** The management trust; else pinned to the fake's certificate, also accepting the versions'. */
  trust?: ManagementTrust;
}

/** A deployer context for a target on `fake`. */
export function fortigateContext(fake: FakeFortiGate, input: FortiGateContextInput = {}): DeployerContext {
  return {
    target: {
      ...pinnedTarget('target-fgt', 'fgt-test', fake, input),
      credentials: { token: input.token ?? FORTIGATE_TOKEN },
      options: { sslVpnPort: fake.endpoints.sslVpn?.port ?? 10443, ...input.options },
    },
    binding: input.binding ?? { adminGui: true, sslVpn: true },
  };
}

/** Runs `work` with a FortiGate deployer for `ctx`, closing it afterwards. */
export const useFortiGate = <T>(ctx: DeployerContext, work: (d: Deployer) => Promise<T>): Promise<T> =>
  closing(createFortiGateDeployer(ctx), work);

/** Runs `work` against a fake FortiGate that accepts `FORTIGATE_TOKEN`, stopping it afterwards. */
export const withFakeFortiGate = <T>(
  options: Partial<FakeFortiGateOptions>,
  work: (fake: FakeFortiGate) => Promise<T>,
): Promise<T> => closing(startFakeFortiGate({ token: FORTIGATE_TOKEN, ...options }), work);

/** Raw API access to the fake, pinned to its factory certificate. */
export function rawFortiGate(fake: FakeFortiGate): DeviceHttp {
  return createDeviceHttp(
    { host: fake.host, port: fake.port, trust: { fingerprintSha256: fake.managementFingerprint() } },
    'test',
  );
}
