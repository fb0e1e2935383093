/** Environment parsing shared by the web and the worker: validated once per process, clear errors. */
import path from 'node:path';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

export function text(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`${name} is required (see .env.example)`);
}

export function optionalText(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function integer(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Whole numbers separated by commas, each within the bounds (e.g. "7,14,30"). */
export function integers(env: Env, name: string, fallback: number[], min: number, max: number): number[] {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const values = raw
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((part) => {
      if (!/^\d+$/.test(part) || Number(part) < min || Number(part) > max)
        throw new ConfigError(`${name} must list whole numbers from ${min} to ${max}, got "${raw}"`);
      return Number(part);
    });
  return [...new Set(values)].sort((a, b) => a - b);
}

export function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function url(env: Env, name: string, fallback?: string): string {
  const value = text(env, name, fallback);
  try {
    new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${value}"`);
  }
  return value;
}

/** Settings every process needs. */
export interface CommonConfig {
  databaseUrl: string;
  masterKey: { envValue: string | undefined; keyFile: string };
  temporal: { address: string; namespace: string; uiUrl: string | undefined };
  renewalSchedule: { intervalSeconds: number; jitterSeconds: number };
  logLevel: string;
  dataDir: string;
}

export function loadCommonConfig(env: Env): CommonConfig {
  const dataDir = path.resolve(text(env, 'CERTFLEET_DATA_DIR', 'data'));
  return {
    databaseUrl: url(env, 'DATABASE_URL'),
    masterKey: {
      envValue: optionalText(env, 'CERTFLEET_MASTER_KEY'),
      keyFile: path.resolve(text(env, 'CERTFLEET_MASTER_KEY_FILE', path.join(dataDir, 'master.key'))),
    },
    temporal: {
      address: text(env, 'TEMPORAL_ADDRESS', '127.0.0.1:7233'),
      namespace: text(env, 'TEMPORAL_NAMESPACE', 'default'),
      uiUrl: optionalText(env, 'TEMPORAL_UI_URL'),
    },
    renewalSchedule: {
      // Hourly: a 6-day certificate (Let's Encrypt's shortlived profile) renews at most an hour after
      // the moment chosen in its ARI window, and a window moved into the past (a revocation coming) is
      // seen within an hour of the next ARI poll. The CA is asked only at its Retry-After (bounded).
      intervalSeconds: integer(env, 'RENEWAL_CHECK_INTERVAL_SECONDS', 3600, 1),
      jitterSeconds: integer(env, 'RENEWAL_CHECK_JITTER_SECONDS', 300, 0),
    },
    logLevel: text(env, 'LOG_LEVEL', 'info'),
    dataDir,
  };
}
