/**
 * The contract every deployer passes, run against its vendor's fake (cert-manager's conformance
 * suite, for deployers). A vendor test file supplies a harness and calls runDeployerContract().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClassifiedError } from '../../activities/errors';
import type {
  Activation,
  BindingState,
  CertificateMaterial,
  Deployer,
  DeployerContext,
  StagedObjects,
  VerifyEndpoint,
} from '../../activities/deployers/types';
import { expectedChainOf, verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { FailureType } from '../../temporal/contract';
import { createTestCa, type TestCa } from './certificates';
import { freePort } from './free-port';

/** What the contract needs to observe a fake device. */
export interface FakeDeviceView {
  /** Names of the certificate objects on the device. */
  certificateObjects(): string[];
  /** Number of calls that changed state on the device so far. */
  mutatingCalls(): number;
  /** The credential values that must never appear in an error message. */
  secrets: string[];
  /**
   * TEST SWITCH (not device behaviour): on, the fake's TLS listeners present the bound leaf without
   * its intermediates; off, the bound chain again. Fakes only: a real server serves what was written.
   */
  serveLeafOnly?(on: boolean): void;
}

export interface ContractSetup {
  /** A deployer context for the fake, with the binding the contract deploys to. */
  context: DeployerContext;
  /** Where the bound certificate is served by the fake (the TLS service ports). */
  endpoints: VerifyEndpoint[];
  fake: FakeDeviceView;
  /** Same context with wrong credentials. */
  withWrongCredentials(): DeployerContext;
  stop: () => Promise<void>;
}

export interface ContractHarness {
  vendor: string;
  /** Deployer factory from the vendor's index.ts. */
  create(ctx: DeployerContext): Deployer;
  setup(): Promise<ContractSetup>;
  /** A real server (nginx, apache) serves the files the deployer wrote: it has no leaf-only switch to test. */
  realServer?: boolean;
}

/** Polls an asynchronous activation (a commit job) until the device reports it done. */
async function settled(deployer: Deployer, activation: Activation): Promise<Activation> {
  if (!activation.jobId) return activation;
  for (let i = 0; i < 200; i++) {
    const status = await deployer.activationStatus(activation.jobId);
    if (status.state === 'done') return activation;
    if (status.state === 'failed') throw new Error(`activation failed: ${status.detail}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`activation job ${activation.jobId} did not finish`);
}

const activated = async (deployer: Deployer, staged: StagedObjects): Promise<Activation> =>
  settled(deployer, await deployer.activate(staged));

async function expectFailure(promise: Promise<unknown>, type: string, secrets: string[]): Promise<ClassifiedError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ClassifiedError, `expected a ClassifiedError ${type}, got ${String(caught)}`);
  assert.equal(caught.type, type, caught.message);
  for (const secret of secrets) assert.ok(!caught.message.includes(secret), 'no credential in the message');
  return caught;
}

export function runDeployerContract(harness: ContractHarness): void {
  describe(`deployer contract: ${harness.vendor}`, () => {
    let setup: ContractSetup;
    let ca: TestCa;
    let v1: CertificateMaterial;
    let v2: CertificateMaterial;
    const use = async <T>(ctx: DeployerContext, work: (d: Deployer) => Promise<T>): Promise<T> => {
      const deployer = harness.create(ctx);
      try {
        return await work(deployer);
      } finally {
        await deployer.close();
      }
    };

    before(async () => {
      ca = createTestCa();
      v1 = ca.issue('deploy.example.test', 'ecdsa-p256');
      v2 = ca.issue('deploy.example.test', 'rsa-2048');
      setup = await harness.setup();
    });
    after(async () => {
      await setup?.stop();
      ca?.dispose();
    });

    it('preflight reports firmware, passing checks and the bindings it would change, and changes nothing', async () => {
      const before = setup.fake.mutatingCalls();
      const report = await use(setup.context, (d) => d.preflight());
      assert.ok(report.firmware, 'firmware version reported');
      assert.ok(report.checks.length > 0 && report.checks.every((c) => c.ok), JSON.stringify(report.checks));
      assert.ok(report.changes.length > 0, 'lists the bindings a deploy would change');
      assert.equal(setup.fake.mutatingCalls(), before, 'preflight changed nothing on the device');
    });

    it('stage is idempotent: a retry reuses the objects it created', async () => {
      const objectsBefore = setup.fake.certificateObjects().length;
      const first = await use(setup.context, (d) => d.stage(v1));
      const again = await use(setup.context, (d) => d.stage(v1));
      assert.deepEqual(again, first);
      const added = setup.fake.certificateObjects().length - objectsBefore;
      assert.ok(added >= 1, 'objects were imported');
      const third = await use(setup.context, (d) => d.stage(v1));
      assert.deepEqual(third, first);
      assert.equal(setup.fake.certificateObjects().length - objectsBefore, added, 'no duplicate objects');
    });

    it('activate binds the staged version and the device serves it', async () => {
      const staged = await use(setup.context, (d) => d.stage(v1));
      await use(setup.context, (d) => activated(d, staged));
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v1.fingerprintSha256);
    });

    it('the device serves the bound leaf, then its intermediates in order', async () => {
      const staged = await use(setup.context, (d) => d.stage(v1));
      await use(setup.context, (d) => activated(d, staged));
      const seen = await verifyServedFingerprint(
        harness.vendor,
        setup.endpoints,
        expectedChainOf(v1.fingerprintSha256, v1.chainPems),
      );
      assert.equal(seen.length, setup.endpoints.length);
      for (const line of seen) assert.ok(line.endsWith(`${v1.fingerprintSha256} + 1 intermediate(s)`), line);
    });

    // A fake must have the switch; a real server serves what the deployer wrote (its own tests cover that).
    if (!harness.realServer)
      it('a device serving the leaf alone fails verify with a message that says so', async () => {
        const serveLeafOnly = setup.fake.serveLeafOnly?.bind(setup.fake);
        assert.ok(serveLeafOnly, 'the fake has a serveLeafOnly switch');
        const staged = await use(setup.context, (d) => d.stage(v1));
        await use(setup.context, (d) => activated(d, staged));
        serveLeafOnly(true);
        try {
          const error = await expectFailure(
            verifyServedFingerprint(
              harness.vendor,
              setup.endpoints,
              expectedChainOf(v1.fingerprintSha256, v1.chainPems),
            ),
            FailureType.verifyMismatch,
            setup.fake.secrets,
          );
          assert.match(
            error.message,
            /serves the leaf without its intermediate\(s\) \(expected 1, got 0\): clients that do not already have CertFleet Test Intermediate will fail/,
          );
          await verifyServedFingerprint(harness.vendor, setup.endpoints, v1.fingerprintSha256); // the leaf itself is right
        } finally {
          serveLeafOnly(false);
        }
        await verifyServedFingerprint(
          harness.vendor,
          setup.endpoints,
          expectedChainOf(v1.fingerprintSha256, v1.chainPems),
        );
      });

    it('activate hands the previous binding to beforeChange before it changes anything', async () => {
      const staged1 = await use(setup.context, (d) => d.stage(v1));
      await use(setup.context, (d) => activated(d, staged1));
      const staged2 = await use(setup.context, (d) => d.stage(v2));
      // The caller records the rollback target in the hook; when that fails, the device must be as it was.
      const seen: BindingState[] = [];
      const mutatingBefore = setup.fake.mutatingCalls();
      await assert.rejects(
        use(setup.context, (d) =>
          d.activate(staged2, {
            beforeChange: async (previous) => {
              seen.push(previous);
              assert.equal(setup.fake.mutatingCalls(), mutatingBefore, 'nothing changed before the hook');
              throw new Error('test: cannot record the rollback target');
            },
          }),
        ),
        /cannot record the rollback target/,
      );
      assert.equal(seen.length, 1, 'called once');
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v1.fingerprintSha256);
      // Bound for real, it returns what the hook was given.
      const recorded: BindingState[] = [];
      const activation = await use(setup.context, async (d) =>
        settled(d, await d.activate(staged2, { beforeChange: async (previous) => void recorded.push(previous) })),
      );
      assert.deepEqual(recorded, [activation.previous]);
      assert.deepEqual(activation.previous, seen[0]);
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v2.fingerprintSha256);
      await use(setup.context, async (d) => settled(d, await d.rollback(activation.previous)));
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v1.fingerprintSha256);
    });

    it('a new version (other key type) gets new objects; rollback restores the previous binding', async () => {
      const staged1 = await use(setup.context, (d) => d.stage(v1));
      const staged2 = await use(setup.context, (d) => d.stage(v2));
      assert.notDeepEqual(staged2, staged1, 'every version has its own names');
      const activation = await use(setup.context, (d) => activated(d, staged2));
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v2.fingerprintSha256);
      await use(setup.context, async (d) => settled(d, await d.rollback(activation.previous)));
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v1.fingerprintSha256);
      // Forward again, then remove the superseded version (v1 is kept only when asked to).
      await use(setup.context, (d) => activated(d, staged2));
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v2.fingerprintSha256);
      const removed = await use(setup.context, (d) => d.removeSuperseded([staged2], [staged1]));
      assert.ok(removed.length >= 1, 'the old objects were removed');
      // Objects only v1 used are gone (a shared intermediate CA stays); all of v2's are there.
      const names = setup.fake.certificateObjects();
      const onlyV1 = Object.values(staged1).filter((name) => !Object.values(staged2).includes(name));
      assert.ok(
        onlyV1.length > 0 && onlyV1.every((name) => !names.includes(name)),
        `v1 objects gone: ${names.join(', ')}`,
      );
      assert.ok(
        Object.values(staged2).every((name) => names.includes(name)),
        `v2 objects present: ${names.join(', ')}`,
      );
      assert.deepEqual(await use(setup.context, (d) => d.removeSuperseded([staged2], [staged1])), [], 'idempotent');
      await verifyServedFingerprint(harness.vendor, setup.endpoints, v2.fingerprintSha256);
    });

    it('wrong credentials: non-retryable TARGET_AUTH_FAILED without the secret in the message', async () => {
      await expectFailure(
        use(setup.withWrongCredentials(), (d) => d.preflight()),
        FailureType.targetAuth,
        setup.fake.secrets,
      );
      await expectFailure(
        use(setup.withWrongCredentials(), (d) => d.stage(v1)),
        FailureType.targetAuth,
        setup.fake.secrets,
      );
    });

    it('a wrong pinned fingerprint: TARGET_TLS_UNTRUSTED; an unreachable port: TARGET_UNREACHABLE', async () => {
      const target = setup.context.target;
      const pinned = { ...setup.context, target: { ...target, trust: { fingerprintSha256: 'ab'.repeat(32) } } };
      const error = await expectFailure(
        use(pinned, (d) => d.preflight()),
        FailureType.targetTlsUntrusted,
        setup.fake.secrets,
      );
      assert.match(error.message, /fingerprint|certificate/);
      const closed = { ...setup.context, target: { ...target, port: await freePort() } };
      await expectFailure(
        use(closed, (d) => d.preflight()),
        FailureType.targetUnreachable,
        setup.fake.secrets,
      );
    });
  });
}
