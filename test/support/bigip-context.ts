/**
 * What the F5 BIG-IP deployer tests share against the fake BIG-IP (test/fakes/f5-bigip): the deployer
 * context, a logged-in iControl client for calls the deployer never makes, and the device's refusals.
 */
import assert from 'node:assert/strict';
import { BigipClient, BigipHttpError } from '../../activities/deployers/f5-bigip/client';
import { createDeviceHttp, type DeviceHttp } from '../../activities/deployers/device-http';
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

/** Runs `work` with an iControl client logged in to `fake` as its user (as another admin would be); logs out after. */
export async function withBigipClient<T>(
  fake: FakeBigip,
  work: (client: BigipClient, http: DeviceHttp) => Promise<T>,
): Promise<T> {
  const http = createDeviceHttp(
    { host: fake.host, port: fake.port, trust: { fingerprintSha256: fake.managementFingerprint } },
    'test',
  );
  const client = new BigipClient(http);
  const { token } = await client.login(fake.username, fake.password);
  client.useToken(token);
  try {
    return await work(client, http);
  } finally {
    await client.deleteToken(token);
    await http.close();
  }
}

/** Asserts that an iControl call is refused with this HTTP status and device message. */
export async function assertBigipRefuses(call: Promise<unknown>, status: number, deviceMessage: string): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof BigipHttpError);
    assert.equal(error.status, status);
    assert.equal(error.deviceMessage, deviceMessage);
    return true;
  });
}

/** Asserts that every profile of `fake` is bound to the staged certificate, key and chain (named after the certificate file). */
export function assertProfilesBoundTo(fake: FakeBigip, staged: Record<string, string>): void {
  for (const profile of fake.profiles) {
    assert.deepEqual(fake.bindings()[profile], {
      name: staged['cert']
        ?.split('/')
        .pop()
        ?.replace(/\.crt$/, ''),
      cert: staged['cert'],
      key: staged['key'],
      chain: staged['chain'],
    });
  }
}
