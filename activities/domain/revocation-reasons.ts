/**
 * RFC 5280 §5.3.1 reason codes a subscriber may give when revoking through ACME (RFC 8555 §7.6): the
 * ones Let's Encrypt accepts (https://letsencrypt.org/docs/revoking/#specifying-a-reason-code).
 * Pure: shared by the console and the worker.
 */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;
export type RevocationReasonName = keyof typeof REVOCATION_REASONS;
export type RevocationReason = (typeof REVOCATION_REASONS)[RevocationReasonName];

export const REVOCATION_REASON_LABELS: Record<RevocationReason, string> = {
  0: 'unspecified',
  1: 'key compromise',
  3: 'affiliation changed',
  4: 'superseded',
  5: 'cessation of operation',
};

const BY_CODE = new Map<number, RevocationReason>(
  Object.values(REVOCATION_REASONS).map((code) => [code, code] as const),
);

/** A reason as a form or the API gives it: its name ("keyCompromise") or its code (1, "1"). */
export function parseRevocationReason(raw: unknown): RevocationReason | undefined {
  if (typeof raw === 'string' && Object.hasOwn(REVOCATION_REASONS, raw))
    return REVOCATION_REASONS[raw as RevocationReasonName];
  const code = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d$/.test(raw) ? Number(raw) : NaN;
  return BY_CODE.get(code);
}

export const reasonName = (code: RevocationReason): RevocationReasonName =>
  (Object.keys(REVOCATION_REASONS) as RevocationReasonName[]).find((name) => REVOCATION_REASONS[name] === code) ??
  'unspecified';
