/**
 * The activities of bench/orchestration-floor.ts: CertFleet's activities of one renewal with one target,
 * by name, input and output type (`Pick<Activities, …>` of activities/index.ts), doing nothing. Each
 * returns at once a result shaped and sized like the one recorded in test/replay/histories/current/
 * (certificateLifecycleWorkflow.json, deployToTargetWorkflow.json): ids, a name, a fingerprint, so the
 * payloads Temporal carries and stores are those of a real run, and the cost measured is Temporal's
 * orchestration alone.
 *
 * `MergedActivities`: the same run with its steps merged as far as the isolation rule could ever allow
 * (docs/architecture.md, "Where each step runs": nothing outside CertFleet from a workflow task), for
 * the benchmark's `--merged` variant: one local activity for the bookkeeping, one regular activity each
 * for the CA and DNS, the device and the mail server, and no child workflow.
 */
import type { Activities } from '../activities';
import type { StoredVersion } from '../activities/acme';
import type { DeviceActivation } from '../activities/deploy';
import type {
  AcmeDirectoryPlan,
  DeployInput,
  DeploymentOutcome,
  DeploySettings,
  LifecycleAuthorityRequest,
} from '../temporal/contract';

/** The lifecycle's and the deploy child's activities (docs/architecture.md, "What one renewal and deploy costs"). */
export type FloorActivities = Pick<
  Activities,
  | 'openLifecycleRun'
  | 'reserveOrderSlot'
  | 'checkDnsProvider'
  | 'createAcmeOrder'
  | 'prepareDnsChallenge'
  | 'validateAndFinalizeAcmeOrder'
  | 'removeDnsChallenge'
  | 'sendLifecycleEmail'
  | 'deployFirstAttempt'
  | 'verifyDeployment'
  | 'closeDeploymentRun'
>;

/** The deploy plan of one run: one target. */
export interface RenewalPlan {
  settings: DeploySettings;
  targets: { deploymentId: string; targetName: string }[];
}

export interface MergedActivities {
  /** Local: openLifecycleRun, reserveOrderSlot and the deploy plan in one (all PostgreSQL). */
  openRenewal(input: LifecycleAuthorityRequest): Promise<{ actor: string; plan: AcmeDirectoryPlan } & RenewalPlan>;
  /** Regular: the DNS check, the order, publish and propagation, validate and finalize, the TXT removal. */
  issueCertificate(input: { certificateId: string; workflowId: string; runId: string }): Promise<StoredVersion>;
  /** Regular: the deploy child's opening, stage and activate, verify and closing. */
  deployVersion(input: DeployInput & { certificateId: string }): Promise<DeploymentOutcome>;
  sendLifecycleEmail: Activities['sendLifecycleEmail'];
}

// Values of the recorded run's sizes: a common name, a TXT value (43 characters), a SHA-256 fingerprint.
const COMMON_NAME = 'replay.example.test';
const TXT_VALUE = 'Ul0z-rMukUatwUJ6BfAZIIaUJxzHd0DOwLbfNrywbII';
const FINGERPRINT = '074e54b243302f03a517211910e502e0ca2c95bd0216d11a7fe876aae9e69fd9';
const TARGET_NAME = 'F5 BIG-IP floor';
const PLAN: AcmeDirectoryPlan = { directories: [{ id: '3', name: 'Pebble' }], fallbackAfterMs: 900_000 };
const validity = (): { notBefore: string; notAfter: string } => {
  const now = Date.now();
  return { notBefore: new Date(now).toISOString(), notAfter: new Date(now + 90 * 86_400_000).toISOString() };
};

/** `deploy`: the worker's deploy settings (worker/config.ts), which the deploy's opening returns. */
export function createFloorActivities(deps: { deploy: DeploySettings }): FloorActivities & MergedActivities {
  const plan = (certificateId: string): RenewalPlan => ({
    settings: deps.deploy,
    targets: [{ deploymentId: certificateId, targetName: TARGET_NAME }],
  });
  // The floor's order id is its certificate's id (createAcmeOrder below): the version's deployments are its plan's.
  const version = (orderId: string): StoredVersion => ({
    versionId: orderId,
    notAfter: validity().notAfter,
    fingerprintSha256: FINGERPRINT,
    deployments: plan(orderId).targets,
  });
  return {
    async openLifecycleRun() {
      return {
        actor: 'admin',
        facts: {
          exists: true,
          enabled: true,
          commonName: COMMON_NAME,
          policy: { mode: 'fraction' },
          current: validity(),
        },
        plan: PLAN,
      };
    },
    async reserveOrderSlot() {
      return { granted: true };
    },
    async checkDnsProvider() {
      return { zone: 'example.test' };
    },
    async createAcmeOrder({ certificateId }) {
      return {
        orderId: certificateId,
        needsChallenge: true,
        recordName: `_acme-challenge.${COMMON_NAME}`,
        values: [TXT_VALUE],
      };
    },
    async prepareDnsChallenge() {
      const publishedAt = new Date().toISOString();
      return { recordName: `_acme-challenge.${COMMON_NAME}`, count: 1, publishedAt, propagated: true };
    },
    async validateAndFinalizeAcmeOrder({ orderId }) {
      return { ...version(orderId), validatedAt: new Date().toISOString() };
    },
    async removeDnsChallenge() {
      return { removed: 1 };
    },
    async sendLifecycleEmail({ certificateId }) {
      return { sent: true, detail: `sent to 1 recipient(s) as <floor-${certificateId}-0b78-71fe-9357@msp.example>` };
    },
    async deployFirstAttempt({ deploymentId }) {
      return {
        opening: {
          settings: deps.deploy,
          start: {
            runRowId: deploymentId,
            targetName: TARGET_NAME,
            targetId: '1',
            exclusiveSession: false,
            manual: false,
          },
          maintenance: { inWindow: true },
        },
        activation: { verified: true } satisfies DeviceActivation,
      };
    },
    async verifyDeployment() {
      return { endpoints: [`127.0.0.1:40269: ${FINGERPRINT} + 1 intermediate(s)`] };
    },
    async closeDeploymentRun() {
      return { cleanUp: false };
    },

    async openRenewal({ certificateId }) {
      return { actor: 'admin', plan: PLAN, ...plan(certificateId) };
    },
    async issueCertificate({ certificateId }) {
      return version(certificateId);
    },
    async deployVersion({ deploymentId }) {
      return { deploymentId, targetName: TARGET_NAME, outcome: 'deployed' };
    },
  };
}
