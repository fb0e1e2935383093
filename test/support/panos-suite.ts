/** What the PAN-OS deployer test files share: a fake per case, a logged-in raw API client, and the deploy contract on a fake. */
import assert from 'node:assert/strict';
import { createDeviceHttp, type DeviceHttp } from '../../activities/deployers/device-http';
import { PanosClient, type PanJob } from '../../activities/deployers/panos/client';
import { panosDescriptor } from '../../activities/deployers/panos/descriptor';
import { createPanosDeployer } from '../../activities/deployers/panos/index';
import { keyCache, panosContext } from '../fakes/panos/harness';
import { startFakePanos, type FakePanos, type FakePanosOptions } from '../fakes/panos/server';
import { closing } from './closing';
import { runDeployerContract } from './deployer-contract';

/** Runs `work` against a fake PAN-OS started with `options`, and always stops it. */
export const withFakePanos = (options: FakePanosOptions, work: (fake: FakePanos) => Promise<void>): Promise<void> =>
  closing(startFakePanos(options), work);

/** A raw API client with a fresh API key, for what the deployer never does (as another admin would). */
export async function withPanosClient(
  fake: FakePanos,
  work: (client: PanosClient, key: string, http: DeviceHttp) => Promise<void>,
): Promise<void> {
  const http = createDeviceHttp(
    { host: fake.host, port: fake.port, trust: { fingerprintSha256: fake.managementFingerprint } },
    'test',
  );
  try {
    const client = new PanosClient(http);
    const { key } = await client.keygen(fake.username, fake.password);
    assert.ok(key);
    await work(client, key, http);
  } finally {
    await http.close();
  }
}

/**
 * As another admin would: points the gp-portal TLS profile at `certificate` and commits it, polling the
 * commit job up to ten times; returns the job as last seen.
 */
export async function commitPortalCertificate(
  client: PanosClient,
  key: string,
  admin: string,
  certificate: string,
): Promise<PanJob | undefined> {
  const portal = "/config/shared/ssl-tls-service-profile/entry[@name='gp-portal']";
  assert.equal((await client.setConfig(key, portal, `<certificate>${certificate}</certificate>`)).code, '20');
  const { jobId } = await client.commitPartial(key, admin);
  assert.ok(jobId);
  let job: PanJob | undefined;
  for (let i = 0; i < 10 && job?.status !== 'FIN'; i++) job = (await client.showJob(key, jobId)).job;
  return job;
}

/**
 * The shared deployer contract on a fake started with `fakeOptions`, deploying to `profiles` with the
 * target `options`; `label` says which setup this is (the firewall itself, Panorama, a template…).
 */
export function runPanosContract(
  label: string,
  fakeOptions: FakePanosOptions,
  options: Record<string, unknown>,
  profiles: string[],
): void {
  runDeployerContract({
    vendor: 'panos',
    create: createPanosDeployer,
    async setup() {
      const fake = await startFakePanos(fakeOptions);
      const context = panosContext(fake, keyCache(), { options, profiles });
      assert.ok(label);
      return {
        context,
        endpoints: panosDescriptor.defaultVerifyEndpoints(
          { host: fake.host, port: fake.port, options },
          context.binding,
        ),
        fake: fake.view(),
        // Wrong password and nothing cached (a cached key would still be valid on the device).
        withWrongCredentials: () => ({
          ...context,
          target: { ...context.target, credentials: { username: fake.username, password: 'not-the-password' } },
          sessionKey: keyCache().store,
        }),
        stop: () => fake.close(),
      };
    },
  });
}
