/** Validation of a user-set base URL of an API that receives a secret (a DNS provider's token). Pure. */
import { isIP } from 'node:net';

/** Plain HTTP is accepted only to this machine (a local proxy, a test double): nothing leaves it unencrypted. */
const isLoopback = (hostname: string): boolean => {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
};

export function checkApiBaseUrl(input: string): { ok: true; url: string } | { ok: false; error: string } {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, error: 'Enter the https:// URL of the API, without credentials.' };
  }
  if (url.username || url.password)
    return { ok: false, error: 'Enter the https:// URL of the API, without credentials.' };
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    return {
      ok: false,
      error:
        'The API URL must start with https://: the token would otherwise travel unencrypted (plain http is only allowed to this machine, 127.0.0.1 or localhost).',
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { ok: false, error: 'Enter the https:// URL of the API, without credentials.' };
  return { ok: true, url: input.replace(/\/$/, '') };
}

/**
 * An optional URL field of a provider's configuration (a proxy, a private endpoint): the checked URL,
 * or undefined when the field is empty or refused (then `errors[key]` says why).
 */
export function optionalApiBaseUrl(
  input: Record<string, unknown>,
  key: string,
  errors: Record<string, string>,
): string | undefined {
  const value = typeof input[key] === 'string' ? input[key].trim() : '';
  if (!value) return undefined;
  const checked = checkApiBaseUrl(value);
  if (checked.ok) return checked.url;
  errors[key] = checked.error;
  return undefined;
}
