/** Reading vendor form fields, as the console posts them and as stored JSON holds them. Pure. */
import type { VendorField } from './types';

/** The required user name of the device account CertFleet signs in with; `help` says which role it needs. */
export const adminUsernameField = (label: string, help: string): VendorField => ({
  name: 'username',
  label,
  kind: 'text',
  required: true,
  help,
});

/** That account's required password. */
export const PASSWORD_FIELD: VendorField = { name: 'password', label: 'Password', kind: 'secret', required: true };

/** A text field, trimmed; numbers (from JSON) as text; anything else empty. */
export const text = (input: Record<string, unknown>, key: string): string => {
  const value = input[key];
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  return '';
};

/** Checkbox values as forms and stored JSON send them; undefined when it is neither. */
export function checkbox(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return false;
  if (value === true || value === 1) return true;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['on', 'true', '1', 'yes'].includes(v)) return true;
    if (['off', 'false', '0', 'no'].includes(v)) return false;
  }
  return undefined;
}

/** A TCP port from a text field; empty gives the fallback; invalid gives undefined. */
export function parsePort(raw: string, fallback: number): number | undefined {
  if (raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw)) return undefined;
  const port = Number(raw);
  return port >= 1 && port <= 65535 ? port : undefined;
}
