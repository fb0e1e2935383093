/** The part of a deployer target on a fake appliance that every appliance's deployer tests build the same way. */
import type { CertificateMaterial, DeployerTarget, ManagementTrust } from '../../activities/deployers/types';

/** A fake appliance's management listener, as the fakes expose it. */
export interface FakeManagement {
  host: string;
  port: number;
  managementFingerprint(): string;
}

/** What a test may set: the versions this run deploys, or a management trust of its own. */
export interface PinnedTargetInput {
  /** Versions this run deploys (binding the management service to one replaces the management certificate). */
  versions?: CertificateMaterial[];
  trust?: ManagementTrust;
}

/**
 * Id, name, address and trust of a target on `fake`: pinned to the fake's management certificate and also
 * accepting the versions this run deploys, unless the test gives its own trust.
 */
export function pinnedTarget(
  id: string,
  name: string,
  fake: FakeManagement,
  input: PinnedTargetInput,
): Pick<DeployerTarget, 'id' | 'name' | 'host' | 'port' | 'trust'> {
  return {
    id,
    name,
    host: fake.host,
    port: fake.port,
    trust: input.trust ?? {
      fingerprintSha256: fake.managementFingerprint(),
      alsoAccept: (input.versions ?? []).map((v) => v.fingerprintSha256),
    },
  };
}
