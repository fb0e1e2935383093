/**
 * Types of the fake PAN-OS / Panorama (test/fakes/panos/server.ts): its options, the calls it records,
 * its jobs and the handle tests get, plus the internal records shared by its modules.
 */
import type { VerifyEndpoint } from '../../../activities/deployers/types';
import type { FakeDeviceView } from '../../support/deployer-contract';
import type { HandshakeCount } from '../../support/tls-handshakes';
import type { FakePanosProfile } from './paths';
import type { XNode } from './xml';

export interface FakePanoramaDevice {
  serial: string;
  name: string;
}

export interface FakePanosOptions {
  /** The API admin (default 'certfleet-api'). */
  username?: string;
  /** Default: random. */
  password?: string;
  /** Further admins (name → password), e.g. a human whose pending edits a partial commit must not push. */
  otherAdmins?: Record<string, string>;
  /** SSL/TLS service profiles, each with its own TLS listener. Default: gp-portal and mgmt-ui (shared). */
  profiles?: FakePanosProfile[];
  /** The profile the management interface uses at start (deviceconfig/system/ssl-tls-service-profile); default none. */
  managementProfile?: string;
  /** A Panorama: model Panorama, 31-character names, `/config/panorama/...` for its own certificates, templates. */
  panorama?: boolean;
  /** Panorama templates, each with the firewalls it is pushed to. */
  templates?: { name: string; devices?: FakePanoramaDevice[] }[];
  /** Panorama template stacks: member templates (first wins) and the firewalls they are pushed to. */
  templateStacks?: { name: string; templates: string[]; devices?: FakePanoramaDevice[] }[];
  /** Default '10.2.9'. */
  swVersion?: string;
  /** Number of `show jobs` polls until a job finishes (default 3). */
  commitPolls?: number;
  /**
   * TLS session resumption (tickets) on the management API. Default ON, as real devices do: a resumed
   * handshake carries no certificate, so activities/deployers/device-http.ts never resumes a pinned
   * connection (test/unit/deployer-panos.test.ts, "pinned trust survives TLS session resumption").
   */
  sessionResumption?: boolean;
}

export interface FakePanosCall {
  method: string;
  path: string;
  /** `type=…&action=…&category=…` (what failNext matches). */
  what: string;
  type: string;
  action?: string;
  category?: string;
  certificateName?: string;
  xpath?: string;
  element?: string;
  cmd?: string;
  /** Where the parameters came from (multipart: the body was multipart, whatever the query held). */
  transport: 'query' | 'form' | 'multipart';
  /** Names of the parameters in the query string. */
  queryParams: string[];
  /** Names of the non-file parts of a multipart body. */
  bodyParams: string[];
  keyVia?: 'param' | 'header';
  /** All parameters; key, password and passphrase masked, files summarised. */
  params: Record<string, string>;
  /** The admin the key belongs to, when it was valid. */
  admin?: string;
  httpStatus: number;
  /** `status` attribute of the reply and its `code`, if any. */
  replyStatus: string;
  code?: string;
}

/** What a job shows and how it stands, in the fake's state and in the view tests get. */
interface JobStanding {
  id: number;
  type: 'Commit' | 'CommitAll';
  user: string;
  status: 'ACT' | 'PEND' | 'FIN';
  result: 'PEND' | 'OK' | 'FAIL';
  progress: number;
  details: string[];
}

export interface FakePanosJob extends JobStanding {
  changes: string[];
  devices: { serial: string; result: string; messages: string[] }[];
}

export interface FakePanos {
  host: string;
  port: number;
  /** https://127.0.0.1:PORT */
  url: string;
  managementCertPem: string;
  managementFingerprint: string;
  /** Fingerprint of the self-signed default certificate the profiles reference at start. */
  defaultCertificateFingerprint: string;
  defaultCertificateName: string;
  username: string;
  password: string;
  /** TLS endpoints of the profiles, in the order of `profiles`. */
  endpoints: VerifyEndpoint[];
  endpoint(profile: string): VerifyEndpoint;
  calls: FakePanosCall[];
  /** TLS handshakes on the management API: full or resumed. */
  managementHandshakes: HandshakeCount;
  view(): FakeDeviceView;
  mutatingCalls(): number;
  /** Certificate names of every place (firewall or Panorama own, and each template). */
  certificateNames(config?: 'candidate' | 'running'): string[];
  /** Certificate name a profile references, in the candidate or running config (or as pushed to a firewall). */
  profileCertificate(profile: string, config?: 'candidate' | 'running' | 'pushed'): string | undefined;
  /** Whether a candidate certificate object of that name has a private key. */
  hasPrivateKey(name: string): boolean;
  /** The profile the management interface uses in the running config ('' = none). */
  managementProfile(): string;
  /** Uncommitted changes (of one admin, or all). */
  pendingChanges(admin?: string): string[];
  jobs(): FakePanosJob[];
  /** A committed certificate/key pair did not match (docs/vendors/panos.md); the listener kept the old pair. */
  mismatchCommitted(): boolean;
  /** Another client runs keygen for the user (default: the API admin): the previous key stops working. */
  issueKey(user?: string): string;
  /** Another admin edits the candidate config (action=set semantics), e.g. a human's pending change. */
  editAs(admin: string, xpath: string, element: string): Promise<void>;
  /** An admin takes a config or commit lock (as `request config-lock add` / `commit-lock add` would). */
  lock(kind: 'config' | 'commit', admin: string, comment?: string): void;
  unlock(kind: 'config' | 'commit', admin: string): void;
  /** The next commit job ends FIN/FAIL with these detail lines. */
  failNextCommit(lines: string[]): void;
  /** In the next push, this firewall fails with these lines (and keeps what it had). */
  failNextPush(serial: string, lines: string[]): void;
  /** The next `times` (default 1) requests whose `what` (`type=…&action=…&category=…`) or path matches get this reply. */
  failNext(match: RegExp, reply: { status?: number; xml: string; times?: number }): void;
  /**
   * The next matching request is carried out, but its reply is held until `release()`: the device has
   * changed while the caller still waits (to kill a worker at that moment). `reached` resolves when held.
   */
  holdReplyOfNext(match: RegExp): { reached: Promise<void>; release(): void };
  /** On: the TLS listeners keep serving what they serve now, whatever is committed. */
  serveStale(on: boolean): void;
  close: () => Promise<void>;
}

export interface Change {
  admin: string;
  description: string;
  apply(config: XNode): void;
}

export interface Job extends JobStanding {
  description: string;
  changes: Change[];
  /** CommitAll: the firewalls and their results. */
  push?: {
    templates: string[];
    devices: { device: FakePanoramaDevice; result: 'PEND' | 'OK' | 'FAIL'; lines: string[] }[];
  };
  failLines?: string[];
  tenq: Date;
  tdeq?: Date;
  tfin?: Date;
}

export interface Reply {
  status: number;
  xml: string;
}

export interface Lock {
  kind: 'config' | 'commit';
  admin: string;
  comment: string;
  created: Date;
}
