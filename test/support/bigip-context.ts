/** The deployer context the F5 BIG-IP deployer tests use against the fake BIG-IP (test/fakes/f5-bigip). */
import type { DeployerContext } from '../../activities/deployers/types';
import type { FakeBigip } from '../fakes/f5-bigip/server';

/** The two client-ssl profiles the tests bind. */
export const BIGIP_PROFILES = ['clientssl-web', 'clientssl-api'];

/** A target on `fake` (partition Common unless `options` say otherwise), binding both profiles and verifying every listener. */
export function bigipContext(
  fake: FakeBigip,
  overrides: { options?: Record<string, unknown>; password?: string } = {},
): DeployerContext {
  return {
    target: {
      id: 'target-bigip',
      name: 'bigip-lab',
      host: fake.host,
      port: fake.port,
      trust: { fingerprintSha256: fake.managementFingerprint },
      credentials: { username: fake.username, password: overrides.password ?? fake.password },
      options: overrides.options ?? { partition: 'Common' },
    },
    binding: { profiles: BIGIP_PROFILES, verifyPorts: fake.endpoints.map((e) => e.port) },
  };
}
