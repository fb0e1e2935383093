/**
 * Revocation and ACME account key rollover: workflow ids, inputs and results (ids only). Pure, like
 * contract.ts, and safe to import from workflow code.
 */

export const revocationWorkflowId = (revocationId: string): string => `revocation:${revocationId}`;
export const keyRolloverWorkflowId = (directoryId: string): string => `key-rollover:directory:${directoryId}`;

/** The revocation row the console wrote, and the audit entry that authorises it (claimed once). */
export interface RevocationInput {
  revocationId: string;
  auditId: string;
}

/** What the revocation's audit entry allows, once claimed. */
export type RevocationAuthority =
  | {
      accepted: true;
      certificateId: string;
      versionId: string;
      /** Issue, deploy and verify a replacement with a new key first (key compromise of the current version). */
      replace: boolean;
      /** The console's "renew now" entry for the replacement run. */
      renewAuditId?: string;
    }
  | { accepted: false; reason: string };

export interface RevocationSettings {
  /** How often a key-compromise revocation checks whether every target serves the replacement. */
  pollMs: number;
  /** How long it waits for that before it gives up and leaves the old version unrevoked ("held"). */
  waitMs: number;
}

/** 'held': the old version was not revoked (the replacement is not on every target); the reason says what to do. */
export interface RevocationResult {
  outcome: 'revoked' | 'held' | 'failed' | 'rejected';
  reason?: string;
  replacementVersionId?: string;
}

/** Where the replacement stands on the certificate's targets. */
export interface ReplacementCheck {
  /** Every linked target serves the replacement (verified by the deploy, or marked done by hand). */
  verified: boolean;
  /** The replacement, once issued (the certificate's current version, newer than the compromised one). */
  replacementVersionId?: string;
  /** Which targets do not yet, and what to do about it. */
  detail: string;
}

export interface KeyRolloverInput {
  directoryId: string;
  auditId: string;
}

export type KeyRolloverResult =
  { outcome: 'rolled-over'; accountUrl: string } | { outcome: 'rejected' | 'failed'; reason: string };
