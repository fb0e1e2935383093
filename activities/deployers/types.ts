/**
 * The Deployer contract: small steps, each retried on its own by deployToTargetWorkflow.
 * Everything a step returns goes into Temporal history, so it holds object names and job ids only,
 * never keys or credentials.
 */
import type { KeyType } from '../domain/key-types';

/** What is deployed: the version's material, unsealed only inside the activity. */
export interface CertificateMaterial {
  versionId: string;
  commonName: string;
  serialHex: string;
  fingerprintSha256: string;
  notAfter: Date;
  keyType: KeyType;
  certPem: string;
  /** Intermediates, leaf first order excluded. */
  chainPems: string[];
  keyPem: string;
}

/** Names of the objects a version was imported as on the device (vendor-specific keys). */
export type StagedObjects = Record<string, string>;

/** The device's binding state before activation, enough to put it back (vendor-specific keys). */
export type BindingState = Record<string, string>;

/** One TLS endpoint where the deployed certificate must be served. */
export interface VerifyEndpoint {
  host: string;
  port: number;
  /** SNI to send; default: none for IP hosts, else the host. */
  servername?: string;
}

/** Activation result: synchronous devices are done at once; PAN-OS returns a commit job. */
export interface Activation {
  previous: BindingState;
  /** Set when the device applies the change asynchronously (poll activationStatus). */
  jobId?: string;
}

/** What activate tells its caller before it changes anything on the device. */
export interface ActivateHooks {
  /** The binding as read before the first change (the same value activate returns as `previous`). */
  beforeChange?(previous: BindingState): Promise<void>;
}

/** `detail` of a finished job: what the run's history shows (e.g. a Panorama push's result per firewall). */
export type ActivationStatus =
  { state: 'pending'; progress?: number } | { state: 'done'; detail?: string } | { state: 'failed'; detail: string };

export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface PreflightReport {
  firmware?: string;
  checks: PreflightCheck[];
  /** Human-readable list of bindings a deploy would change, e.g. "admin GUI: Fortinet_Factory → (new)". */
  changes: string[];
}

export interface Deployer {
  /** Reachability, management TLS trust, auth, permissions, firmware, bindings that would change. Changes nothing. */
  preflight(): Promise<PreflightReport>;
  /** Imports the version under names derived from it. Idempotent: a retry finds and reuses its objects. */
  stage(material: CertificateMaterial): Promise<StagedObjects>;
  /**
   * Binds the staged objects (and commits/saves). Returns the previous binding state for rollback.
   * All or nothing: when it fails part-way, it restores what it changed before throwing.
   * `hooks.beforeChange` gets the binding read from the device before the first change, and the
   * change waits for it: the caller records the rollback target before anything is bound, so a worker
   * that dies between the bind and its answer cannot lose it.
   */
  activate(staged: StagedObjects, hooks?: ActivateHooks): Promise<Activation>;
  /** For asynchronous commits. */
  activationStatus(jobId: string): Promise<ActivationStatus>;
  /** Re-binds what was bound before (objects of the previous version, or the device's original binding). */
  rollback(previous: BindingState): Promise<Activation>;
  /** Deletes objects of versions that are neither current nor the one kept for rollback. Best effort, idempotent. */
  removeSuperseded(keep: StagedObjects[], candidates: StagedObjects[]): Promise<string[]>;
  /** Ends the device session (logout, delete token). Always called. */
  close: () => Promise<void>;
}

/**
 * How we trust the device's management HTTPS: a CA (PEM; chain and host name verified) or a pinned
 * SHA-256 fingerprint of its certificate. With either, `alsoAccept` lists SHA-256 fingerprints of the
 * versions this run deploys (keys we hold): binding the admin GUI (FortiGate, SonicWall, PAN-OS)
 * replaces the very certificate the management API presents. See docs/management-trust.md.
 */
export type ManagementTrust =
  { caPem: string; alsoAccept?: string[] } | { fingerprintSha256: string; alsoAccept?: string[] };

export interface DeployerTarget {
  id: string;
  name: string;
  host: string;
  port: number;
  trust: ManagementTrust;
  /** Unsealed credentials (vendor-specific keys, e.g. token, username, password, apiKey). */
  credentials: Record<string, string>;
  /** Vendor options of the target (validated by the descriptor). */
  options: Record<string, unknown>;
  /** The admin's allowed networks, for the connect-time address check (activities/target-address.ts); empty = any but the refused. */
  allowedNetworks?: readonly string[];
}

export interface DeployerContext {
  target: DeployerTarget;
  /** Per-deployment binding options (validated by the descriptor). */
  binding: Record<string, unknown>;
  /** Cache for a device session key (PAN-OS keygen): read and write the sealed value. */
  sessionKey?: { get(): Promise<string | undefined>; set(value: string | undefined): Promise<void> };
}

export type DeployerFactory = (ctx: DeployerContext) => Deployer;

/** One field of a vendor's form, for the web. */
export interface VendorField {
  name: string;
  label: string;
  kind: 'text' | 'secret' | 'number' | 'checkbox' | 'list';
  required: boolean;
  help?: string;
  placeholder?: string;
  /** An option that decides where a secret is sent (an FTP server, an SSH host-key pin): part of the target's secret endpoint. */
  endpoint?: boolean;
}

export interface ParseResult {
  value: Record<string, unknown>;
  errors: Record<string, string>;
}

/** Web-safe description of a vendor: fields and validation, no device code. */
export interface VendorDescriptor {
  id: string;
  label: string;
  defaultPort: number;
  /** The device allows one admin session at a time: all work on it goes through its session coordinator. */
  exclusiveSession?: boolean;
  /** False for targets reached otherwise (SSH with a pinned host key) or not at all: no CA or TLS pin asked. Default true. */
  managementTls?: boolean;
  /** Nothing is pushed: a version waits "ready for download" until a technician marks it done. */
  manual?: boolean;
  credentialFields: VendorField[];
  optionFields: VendorField[];
  bindingFields: VendorField[];
  parseCredentials: (input: Record<string, unknown>) => ParseResult;
  parseOptions: (input: Record<string, unknown>) => ParseResult;
  parseBinding: (input: Record<string, unknown>) => ParseResult;
  /** Where a binding should be verified by TLS handshake when the deployment names no endpoint. */
  defaultVerifyEndpoints(
    target: { host: string; port: number; options: Record<string, unknown> },
    binding: Record<string, unknown>,
  ): VerifyEndpoint[];
  /**
   * Why a binding has no TLS endpoint at all (FortiGate IPsec phase-1 only: the certificate is shown at
   * IKE time, not in a TLS handshake). Its verify step then records this reason instead of failing for
   * want of an endpoint. Undefined (or absent): the binding must be verified by handshake.
   */
  withoutTlsEndpoint?(binding: Record<string, unknown>): string | undefined;
  /**
   * Whether this binding binds the device's management GUI, the certificate our own management calls
   * check (FortiGate's Admin GUI, PAN-OS's management profile, SonicWall's web management). Only such
   * a deploy can change what the management API presents, so only after one does the target's trust
   * follow (activities/management-trust.ts, one handshake with the management API). Absent: never.
   */
  bindsManagementGui?(binding: Record<string, unknown>): boolean;
}
