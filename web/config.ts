import { DEFAULT_LOGIN_PROTECTION, type LoginProtection, type MetricsPublic } from './deps';
import { ConfigError, integer, loadCommonConfig, optionalText, text, type CommonConfig, type Env } from '../config/env';

export interface WebConfig extends CommonConfig {
  host: string;
  port: number;
  publicUrl: string;
  secureCookies: boolean;
  initialAdminPassword: string | undefined;
  login: LoginProtection;
  metricsToken: string | undefined;
  metricsPublic: MetricsPublic;
  /** Which proxies' X-Forwarded-* headers count (Express `trust proxy`). */
  trustProxy: string;
}

export function loadWebConfig(env: Env): WebConfig {
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = text(env, 'HOST', '127.0.0.1');
  const publicUrl = text(env, 'PUBLIC_URL', `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`);
  return {
    ...loadCommonConfig(env),
    host,
    port,
    publicUrl,
    secureCookies: publicUrl.startsWith('https://'),
    initialAdminPassword: optionalText(env, 'CERTFLEET_ADMIN_PASSWORD'),
    metricsToken: optionalText(env, 'METRICS_TOKEN'),
    metricsPublic: metricsPublic(env),
    trustProxy: text(env, 'TRUST_PROXY', 'loopback'),
    login: {
      maxFailures: integer(env, 'LOGIN_MAX_FAILURES', DEFAULT_LOGIN_PROTECTION.maxFailures, 1, 1000),
      lockMs: integer(env, 'LOGIN_LOCK_MINUTES', DEFAULT_LOGIN_PROTECTION.lockMs / 60_000, 1, 7 * 24 * 60) * 60_000,
      rateLimit: integer(env, 'LOGIN_RATE_LIMIT', DEFAULT_LOGIN_PROTECTION.rateLimit, 1, 100_000),
      rateWindowMs:
        integer(env, 'LOGIN_RATE_WINDOW_SECONDS', DEFAULT_LOGIN_PROTECTION.rateWindowMs / 1000, 1, 86_400) * 1000,
    },
  };
}

function metricsPublic(env: Env): MetricsPublic {
  const value = text(env, 'METRICS_PUBLIC', 'none').toLowerCase();
  if (value === 'none' || value === 'unlabelled') return value;
  throw new ConfigError(`METRICS_PUBLIC must be none or unlabelled, got "${value}"`);
}

/** The start-up warning when /metrics is off for want of a token (none when METRICS_PUBLIC chose otherwise). */
export function metricsStartupNotice(config: Pick<WebConfig, 'metricsToken' | 'metricsPublic'>): string | undefined {
  if (config.metricsToken) return undefined;
  if (config.metricsPublic === 'unlabelled') {
    return 'METRICS_TOKEN is not set: /metrics serves only the series without customer and certificate names (METRICS_PUBLIC=unlabelled)';
  }
  return 'METRICS_TOKEN is not set: /metrics answers 401 to every scraper. Set METRICS_TOKEN (a long random string, e.g. openssl rand -hex 32) and scrape with Authorization: Bearer <token>, or METRICS_PUBLIC=unlabelled for the series without customer and certificate names';
}
