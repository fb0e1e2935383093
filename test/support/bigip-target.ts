/** How CertFleet reaches a fake BIG-IP, for the target rows and deployer contexts tests build. */
import type { FakeBigip } from '../fakes/f5-bigip/server';

/** Host, port, the pinned management certificate and the admin login of `fake`. */
export function bigipConnection(fake: FakeBigip): {
  host: string;
  port: number;
  trust: { fingerprintSha256: string };
  credentials: { username: string; password: string };
} {
  return {
    host: fake.host,
    port: fake.port,
    trust: { fingerprintSha256: fake.managementFingerprint },
    credentials: { username: fake.username, password: fake.password },
  };
}
