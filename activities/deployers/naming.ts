/**
 * Deterministic object names for a version on a device: derived from the name and the serial, so a
 * retried import finds its own object instead of creating a second one, and every version gets a new
 * name (no in-place overwrite, no RSA↔ECDSA key/cert mismatch under one name).
 */
export interface NameRules {
  maxLength: number;
  /** Characters allowed; others become '-'. */
  allowed: RegExp;
  /** Prefix for names that must not start with '*' or '_' etc. */
  prefix?: string;
}

export function objectName(commonName: string, serialHex: string, rules: NameRules): string {
  const base = commonName.replace(/^\*\./, 'wildcard.').replace(/\./g, '_');
  const safe = [...base]
    .map((ch) => (rules.allowed.test(ch) ? ch : '-'))
    .join('')
    .replace(/^[^A-Za-z0-9]+/, '');
  const serial = serialHex.toLowerCase().replace(/^0+/, '').slice(-12) || '0';
  const suffix = `-${serial}`;
  const room = rules.maxLength - suffix.length - (rules.prefix?.length ?? 0);
  return `${rules.prefix ?? ''}${safe.slice(0, Math.max(1, room))}${suffix}`;
}
