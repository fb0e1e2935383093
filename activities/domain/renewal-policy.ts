import type { RenewalPolicy } from '../../temporal/contract';

export type RenewalMode = RenewalPolicy['mode'];
export const RENEWAL_MODES: RenewalMode[] = ['fraction', 'days', 'percent'];

export function policyFromRow(mode: string, value: number | null): RenewalPolicy {
  if (mode === 'days' && value) return { mode: 'days', days: value };
  if (mode === 'percent' && value) return { mode: 'percent', percent: value };
  return { mode: 'fraction' };
}

export type PolicyCheck = { ok: true; mode: RenewalMode; value: number | null } | { ok: false; error: string };

/** Validates the renewal fields of the certificate form. */
export function checkRenewalPolicy(mode: unknown, value: unknown): PolicyCheck {
  if (mode === undefined || mode === '' || mode === 'fraction') return { ok: true, mode: 'fraction', value: null };
  if (mode !== 'days' && mode !== 'percent')
    return { ok: false, error: 'Choose a renewal rule: default, days before expiry, or percentage of lifetime.' };
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
  if (!/^\d{1,4}$/.test(text)) return { ok: false, error: 'Enter a whole number.' };
  const n = Number(text);
  if (mode === 'days' && (n < 1 || n > 3650))
    return { ok: false, error: 'Days before expiry must be between 1 and 3650.' };
  if (mode === 'percent' && (n < 1 || n > 99)) return { ok: false, error: 'The percentage must be between 1 and 99.' };
  return { ok: true, mode, value: n };
}

export function describePolicy(policy: RenewalPolicy): string {
  switch (policy.mode) {
    case 'fraction':
      return 'when less than 1/3 of the lifetime remains';
    case 'days':
      return `${policy.days} days before expiry`;
    case 'percent':
      return `when less than ${policy.percent}% of the lifetime remains`;
  }
}
