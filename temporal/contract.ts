/**
 * The contract between the web, the worker and the workflows: task queue, ids, queries, search
 * attributes, and workflow input/output types. Pure: no I/O, safe to import from workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const TASK_QUEUE = 'certfleet';

/** Workflow type names, for callers that must not import workflow code (the web). Never rename one that ran. */
export const WorkflowType = {
  lifecycle: 'certificateLifecycleWorkflow',
  scheduledRenewal: 'scheduledRenewalWorkflow',
  deploy: 'deployToTargetWorkflow',
  preflight: 'targetPreflightWorkflow',
  deviceSession: 'deviceSessionWorkflow',
  dnsProviderCheck: 'dnsProviderCheckWorkflow',
  dnsDelegationCheck: 'dnsDelegationCheckWorkflow',
  acmeDirectoryCheck: 'acmeDirectoryCheckWorkflow',
  testEmail: 'testEmailWorkflow',
  endpointChangeNotice: 'endpointChangeNoticeWorkflow',
  scheduleHealth: 'scheduleHealthWorkflow',
  alertSweep: 'alertSweepWorkflow',
  dailyDigest: 'dailyDigestWorkflow',
  driftWatch: 'driftWatchWorkflow',
  fetchFingerprint: 'fetchFingerprintWorkflow',
  revocation: 'revocationWorkflow',
  accountKeyRollover: 'accountKeyRolloverWorkflow',
} as const;

export const certificateWorkflowId = (certificateId: string): string => `certificate:${certificateId}`;
export const renewalScheduleId = (certificateId: string): string => `renewal:certificate:${certificateId}`;
export const deploymentWorkflowId = (certificateId: string, deploymentId: string): string =>
  `deploy:${certificateId}:${deploymentId}`;
export const preflightWorkflowId = (targetId: string): string => `preflight:target:${targetId}`;
export const deviceSessionWorkflowId = (targetId: string): string => `device:${targetId}`;
export const dnsProviderCheckWorkflowId = (providerId: string): string => `dns-check:provider:${providerId}`;
/** "Check the CNAME" of a certificate whose DNS-01 challenge is delegated: one at a time per certificate. */
export const dnsDelegationCheckWorkflowId = (certificateId: string): string => `dns-check:delegation:${certificateId}`;
/** "Read profiles" of an ACME directory: one at a time per directory. */
export const acmeDirectoryCheckWorkflowId = (directoryId: string): string => `acme-directory-check:${directoryId}`;
/** One test email per request; the request id is chosen by the console. */
export const testEmailWorkflowId = (requestId: string): string => `test-email:${requestId}`;
/** One "Fetch the fingerprint" per request (the target may not exist yet); the request id is chosen by the console. */
export const fetchFingerprintWorkflowId = (requestId: string): string => `fetch-fingerprint:${requestId}`;
/** One notice per audited change of a secret's endpoint. */
export const endpointChangeNoticeWorkflowId = (auditId: string): string => `endpoint-change:${auditId}`;
export const SCHEDULE_HEALTH_SCHEDULE_ID = 'certfleet:schedule-health';
/** The fleet's own schedules (besides one renewal schedule per certificate). */
export const FLEET_SCHEDULE_IDS = {
  alertSweep: 'certfleet:alert-sweep',
  dailyDigest: 'certfleet:daily-digest',
  driftWatch: 'certfleet:drift-watch',
} as const;

/** When a certificate is due for renewal. Stored as certificates.renewal_mode / renewal_value. */
export type RenewalPolicy =
  | { mode: 'fraction' } // default: renew when less than 1/3 of the lifetime remains
  | { mode: 'days'; days: number } // renew when fewer than `days` days remain
  | { mode: 'percent'; percent: number }; // renew when less than `percent` % of the lifetime remains

export type LifecycleTrigger = 'create' | 'schedule' | 'manual';

/** IDs only: never keys, tokens or passwords. */
export interface LifecycleInput {
  certificateId: string;
  trigger: LifecycleTrigger;
  /**
   * 'create' and 'manual' ("Renew now"): the id of the console's audit entry for the command, checked
   * and claimed before anything happens (see CommandAction). 'schedule' carries none: it renews only
   * when the renewal window says so.
   */
  auditId?: string;
}

/** 'partial': issued, but at least one deployment still failed when the retry window closed. */
export type LifecycleOutcome = 'issued' | 'skipped' | 'failed' | 'partial';

export interface LifecycleResult {
  outcome: LifecycleOutcome;
  versionId?: string;
  /** Why it skipped or failed, in words a technician can act on. */
  reason?: string;
  /** Each linked target's outcome (after issuance). */
  deployments?: DeploymentOutcome[];
}

export type DeployTrigger = 'lifecycle' | 'retry' | 'redeploy';

/** IDs only: the deployer unseals credentials and keys inside its activities. */
export interface DeployInput {
  deploymentId: string;
  versionId: string;
  trigger: DeployTrigger;
  /** 'retry' and 'redeploy' (started by the console): its audit entry's id. 'lifecycle' deploys are children of the certificate's run. */
  auditId?: string;
}

export interface DeploymentOutcome {
  deploymentId: string;
  targetName: string;
  /** 'ready': a manual target waits for a technician to download the bundle and mark it done. */
  outcome: 'deployed' | 'ready' | 'rolled_back' | 'failed';
  reason?: string;
}

export interface DeploySettings {
  /** How long a lifecycle with failed deployments waits for a retryDeployment signal. */
  retryWindowMs: number;
  /**
   * Within that window, failed targets are retried by themselves this often (a target that was down
   * gets the version when it is back, without anyone clicking Retry). 0: only on Retry. Absent in
   * settings recorded before it existed.
   */
  autoRetryMs?: number;
  /** Poll interval of asynchronous commits (PAN-OS jobs). */
  commitPollMs: number;
  /** Give up on a commit job after this long. */
  commitTimeoutMs: number;
  /** Retries of device calls while a target is unreachable (first interval, attempts). */
  deviceRetryInitialMs: number;
  deviceRetryAttempts: number;
  /** Device session coordinator (SonicWall): lease timeout and idle end. */
  leaseTimeoutMs: number;
  coordinatorIdleMs: number;
  /** Alert when a device has refused our session (someone else holds it) for longer than this. */
  busyAlertMs: number;
  /** Wait before retrying a device that refused our session. */
  busyRetryMs: number;
}

/**
 * Signals carry no identity and no authority: only the id of the audit entry the console wrote for the
 * command. The workflow acts once an activity (claimCommand) has checked that entry (its action, its
 * object, recent, not used before) and claimed it; who asked is the entry's actor. Anything else is
 * ignored and recorded (audit action 'signal-rejected').
 */
export const retryDeploymentSignal = defineSignal<[{ deploymentId: string; auditId: string }]>('retryDeployment');

/** "Deploy now" from the console: a deploy waiting for its target's maintenance window goes ahead. */
export const deployNowSignal = defineSignal<[{ auditId: string }]>('deployNow');

/** The audit action each command must name. */
export const CommandAction = {
  deployNow: 'deployment.deploy-now',
  retry: 'deployment.retry',
  redeploy: 'deployment.redeploy',
  renewNow: 'certificate.renew-now',
  create: 'certificate.create',
  revoke: 'certificate.revoke',
  keyRollover: 'acme-account.key-rollover',
} as const;
export type CommandAction = (typeof CommandAction)[keyof typeof CommandAction];

/** What claimCommand checks an audit entry against. */
export interface CommandClaimRequest {
  /** Chosen by the workflow, unique per command it received (a retried activity reuses it). */
  claimId: string;
  /** The id as received: anything a forged payload holds. */
  auditId: unknown;
  /** The signal or start being authorised, for the record ('deployNow', 'retryDeployment', 'start'). */
  command: string;
  action: CommandAction;
  entityType: 'deployment' | 'certificate' | 'acme-directory';
  entityId: string;
  workflowId: string;
}

export type CommandClaimResult = { accepted: true; actor: string } | { accepted: false; reason: string };

/** Whether a deploy run may act: started by the console with its audit entry, or by the certificate's run. */
export interface DeployAuthorityRequest extends DeployInput {
  workflowId: string;
  runId: string;
  /** workflowInfo().parent: set by the Temporal server, not by whoever started the run. */
  parentWorkflowId?: string;
}

export interface LifecycleAuthorityRequest {
  certificateId: string;
  /** As received: a forged start may hold anything. */
  trigger: unknown;
  auditId?: unknown;
  workflowId: string;
  runId: string;
}

/** A deployment of a certificate as its run plans the deploys: its id and its target's name. */
export interface DeploymentPlanEntry {
  deploymentId: string;
  targetName: string;
}

/**
 * What startDeploymentRun opened: the run's history row and the target's facts; or nothing, because a
 * certificate's run re-driven onto a version the deployment already has deployed finds that done
 * (`alreadyDeployed`: the run that deployed it, and when).
 */
export type DeploymentRunStart =
  | { runRowId: string; targetName: string; targetId: string; exclusiveSession: boolean; manual: boolean }
  | { alreadyDeployed: { runRowId: string; endedAt: string }; targetName: string };

export interface MaintenanceCheck {
  inWindow: boolean;
  /** ISO time the next window opens (when not in one). */
  opensAt?: string;
}

/**
 * A deploy's start in one local activity (openDeploymentRun): its authority, the deploy settings, the
 * run row, and (for a run to a device) whether the maintenance window is open.
 */
export type DeploymentOpening =
  { refused: string } | { settings: DeploySettings; start: DeploymentRunStart; maintenance?: MaintenanceCheck };

/** How a deploy run ends, as its closing records it. */
export type DeploymentRunOutcome = 'deployed' | 'ready' | 'rolled_back' | 'failed';

/** A deploy asking for the device's single admin session (SonicWall). */
export interface DeviceLeaseRequest {
  requestId: string;
  requesterWorkflowId: string;
}

export interface DeviceSessionState {
  queue: DeviceLeaseRequest[];
  holder?: DeviceLeaseRequest & { grantedAt: number };
  granted: number;
}

export interface DeviceSessionInput {
  targetId: string;
  /** Carried over by continue-as-new. */
  state?: DeviceSessionState;
  /** A lease held longer than this is taken back (a requester that vanished without releasing). */
  leaseTimeoutMs: number;
  /** The coordinator ends after being idle this long; the next request starts it again. */
  idleMs: number;
}

export const acquireDeviceLeaseSignal = defineSignal<[DeviceLeaseRequest]>('acquireDeviceLease');
export const releaseDeviceLeaseSignal = defineSignal<[{ requestId: string }]>('releaseDeviceLease');
export const deviceLeaseGrantedSignal = defineSignal<[{ requestId: string }]>('deviceLeaseGranted');
export const deviceSessionQuery = defineQuery<DeviceSessionState>('deviceSession');

export interface PreflightInput {
  targetId: string;
}

export interface PreflightResult {
  ok: boolean;
  firmware?: string;
  checks: { name: string; ok: boolean; detail: string }[];
  changes: string[];
  error?: string;
}

/** "Fetch the fingerprint" of a target form: the address typed in, before the target is saved. */
export interface FetchFingerprintInput {
  host: string;
  port: number;
}

/** The certificate a TLS listener presents: public facts only. */
export interface PresentedCertificate {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** Lowercase hex, no colons (as targets store a pinned fingerprint). */
  fingerprintSha256: string;
  /** Whether it chains to the system trust store and names the host. */
  trusted: boolean;
  /** Why not, when it does not (OpenSSL's code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT). */
  trustError?: string;
}

export type FetchFingerprintResult = { ok: true; certificate: PresentedCertificate } | { ok: false; error: string };

/** "Verify token" of a DNS provider. */
export interface DnsProviderCheckInput {
  providerId: string;
}

export interface DnsDelegationCheckInput {
  certificateId: string;
}

/** Whether `_acme-challenge.<name>` is the CNAME the certificate needs, and what was found instead. */
export interface DnsDelegationCheckResult {
  ok: boolean;
  detail: string;
  /** The CNAME target found (undefined: no CNAME). */
  found?: string;
}

export interface DnsProviderCheckResult {
  ok: boolean;
  /** What was checked (token status, zone), or why it failed, in words a technician can act on. */
  detail: string;
  zone?: string;
}

export interface AcmeDirectoryCheckInput {
  directoryId: string;
}

export interface AcmeDirectoryCheckResult {
  ok: boolean;
  /** The profiles offered, or why the directory could not be read, in words a technician can act on. */
  detail: string;
  profiles?: string[];
}

export interface TestEmailInput {
  /** The console user who asked, named in the message. */
  requestedBy: string;
}

/** The audit row of a changed secret endpoint (target, DNS provider, SMTP server), mailed to the admins. */
export interface EndpointChangeNoticeInput {
  auditId: string;
}

export interface TestEmailResult {
  sent: boolean;
  detail: string;
}

export interface DriftWatchResult {
  deployments: number;
  endpoints: number;
  problems: number;
}

export interface ScheduleHealthResult {
  schedules: number;
  paused: number;
  skipped: number;
}

export interface ScheduledRenewalInput {
  certificateId: string;
}

/**
 * A schedule tick: `started` when it ran the lifecycle (`result`); otherwise `reason` says why not
 * (not due, renewal disabled, deleted, or a run already in progress).
 */
export interface ScheduledRenewalResult {
  started: boolean;
  result?: LifecycleResult;
  reason?: string;
}

export const LIFECYCLE_STEPS = [
  'check',
  'order',
  'present',
  'propagate',
  'validate',
  'finalize',
  'cleanup',
  'deploy',
  'notify',
] as const;
export type LifecycleStep = (typeof LIFECYCLE_STEPS)[number];

export const STEP_LABELS: Record<LifecycleStep, string> = {
  check: 'Check renewal window',
  order: 'Create ACME order',
  present: 'Publish DNS challenge',
  propagate: 'Wait for DNS propagation',
  validate: 'ACME validation',
  finalize: 'Finalize and store version',
  cleanup: 'Remove DNS challenge',
  deploy: 'Deploy to targets',
  notify: 'Send email',
};

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepState {
  step: LifecycleStep;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  error?: string;
}

export interface LifecycleProgress {
  certificateId: string;
  trigger: LifecycleTrigger;
  current?: LifecycleStep;
  steps: StepState[];
  lastError?: string;
  outcome?: LifecycleOutcome;
  deployments?: DeploymentOutcome[];
  /** Some deployments failed and the run waits for retryDeployment signals. */
  awaitingRetry?: boolean;
  /** The order waits for the CA's rate-limit budget (pacing): until when (ISO), and which budget is full. */
  rateLimitWait?: { until: string; reason: string };
  /** A dependency's breaker is open (e.g. "CA not answering: …"): the run waits on a timer until then (ISO). */
  dependencyWait?: { until: string; reason: string };
  /** The TXT record was not visible within the propagation wait, so it was published again once and waited for again. */
  propagationRepublished?: boolean;
  /** The ACME directory the run orders from (it changes when the run falls over to a fallback). */
  directory?: AcmeDirectoryRef;
  /** Each fall-over to the next ACME directory: from which, to which, and why. */
  fallbacks?: { from: string; to: string; reason: string }[];
}

/** An ACME directory as a run names it (id and display name: nothing secret). */
export interface AcmeDirectoryRef {
  id: string;
  name: string;
}

/** The directories a run may issue from, in order, and how long each but the last may fail for CA-side reasons. */
export interface AcmeDirectoryPlan {
  directories: AcmeDirectoryRef[];
  fallbackAfterMs: number;
}

export const progressQuery = defineQuery<LifecycleProgress>('progress');

export const SearchAttributes = {
  certificateId: defineSearchAttributeKey('CertificateId', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('CertFleetOutcome', SearchAttributeType.KEYWORD),
} as const;

/** Name → Temporal CLI type, for `temporal server start-dev --search-attribute` and operator registration. */
export const SEARCH_ATTRIBUTE_TYPES = {
  CertificateId: 'Keyword',
  CertFleetOutcome: 'Keyword',
} as const;

/** Failure types carried by ApplicationFailure.type. */
export const FailureType = {
  validation: 'VALIDATION_FAILED',
  dnsAuth: 'DNS_AUTH_FAILED',
  dnsZoneNotFound: 'DNS_ZONE_NOT_FOUND',
  dnsUnavailable: 'DNS_PROVIDER_UNAVAILABLE',
  propagationTimeout: 'DNS_PROPAGATION_TIMEOUT',
  /** `_acme-challenge.<name>` is not the CNAME a delegated certificate needs: the customer must add it. */
  dnsDelegationMissing: 'DNS_DELEGATION_MISSING',
  acmeRejected: 'ACME_REJECTED',
  acmeValidationFailed: 'ACME_VALIDATION_FAILED',
  acmeRateLimited: 'ACME_RATE_LIMITED',
  acmeUnavailable: 'ACME_UNAVAILABLE',
  /**
   * The CA answered, but its challenge or order is still pending or processing after this activity's polls
   * (a busy CA, or Pebble's random validation delay): not its verdict and not an outage, so it is retried and
   * neither counts against the CA's breaker nor falls over to another CA.
   */
  acmePending: 'ACME_PENDING',
  notFound: 'NOT_FOUND',
  emailFailed: 'EMAIL_FAILED',
  // Deploying to targets
  targetAuth: 'TARGET_AUTH_FAILED',
  targetPermission: 'TARGET_PERMISSION_DENIED',
  targetTlsUntrusted: 'TARGET_TLS_UNTRUSTED',
  targetUnreachable: 'TARGET_UNREACHABLE',
  /** The target's address is link-local, a metadata service, or outside the allowed networks (activities/domain/network-policy.ts). */
  targetAddressRefused: 'TARGET_ADDRESS_REFUSED',
  targetRejected: 'TARGET_REJECTED',
  deviceSessionBusy: 'DEVICE_SESSION_BUSY',
  commitFailed: 'TARGET_COMMIT_FAILED',
  verifyMismatch: 'TARGET_VERIFY_MISMATCH',
  // Isolation (activities/dependency-guard): one dependency outside CertFleet that is slow or silent
  /**
   * This worker's share of calls to the dependency is in use: the activity fails at once (it never spends
   * the step's retry budget, which is for the dependency's own failures) and the workflow calls again after
   * a short timer (workflows/dependency-wait.ts).
   */
  dependencyBusy: 'DEPENDENCY_BUSY',
  /** The dependency's circuit breaker is open: the activity fails at once and the workflow waits on a timer until its next probe. */
  dependencyNotAnswering: 'DEPENDENCY_NOT_ANSWERING',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.validation,
  FailureType.dnsAuth,
  FailureType.dnsZoneNotFound,
  FailureType.propagationTimeout,
  FailureType.dnsDelegationMissing,
  FailureType.acmeRejected,
  FailureType.acmeValidationFailed,
  FailureType.notFound,
  FailureType.targetAuth,
  FailureType.targetPermission,
  FailureType.targetTlsUntrusted,
  FailureType.targetAddressRefused,
  FailureType.targetRejected,
  FailureType.commitFailed,
  FailureType.dependencyNotAnswering,
  FailureType.dependencyBusy,
];

/** What a DEPENDENCY_NOT_ANSWERING or DEPENDENCY_BUSY failure carries (its details[0]): when to try again, and what. */
export interface NotAnsweringDetails {
  retryAfterMs: number;
  dependency: string;
}

/** One renewal schedule as Temporal describes it (the schedule health page and its refresh activity). */
export interface ScheduleHealthRow {
  scheduleId: string;
  certificateId: string | null;
  paused: boolean;
  note: string | null;
  skippedOverlap: number;
  missedCatchup: number;
  lastActionAt: Date | null;
  nextActionAt: Date | null;
}
