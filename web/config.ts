import { DEFAULT_LOGIN_PROTECTION, type LoginProtection } from './deps';
import { integer, loadCommonConfig, optionalText, text, type CommonConfig, type Env } from '../config/env';

export interface WebConfig extends CommonConfig {
  host: string;
  port: number;
  publicUrl: string;
  secureCookies: boolean;
  initialAdminPassword: string | undefined;
  login: LoginProtection;
  metricsToken: string | undefined;
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
    trustProxy: text(env, 'TRUST_PROXY', 'loopback'),
    login: {
      maxFailures: integer(env, 'LOGIN_MAX_FAILURES', DEFAULT_LOGIN_PROTECTION.maxFailures, 1, 1000),
      lockMs: integer(env, 'LOGIN_LOCK_MINUTES', DEFAULT_LOGIN_PROTECTION.lockMs / 60_000, 1, 7 * 24 * 60) * 60_000,
      rateLimit: integer(env, 'LOGIN_RATE_LIMIT', DEFAULT_LOGIN_PROTECTION.rateLimit, 1, 100_000),
      rateWindowMs: integer(env, 'LOGIN_RATE_WINDOW_SECONDS', DEFAULT_LOGIN_PROTECTION.rateWindowMs / 1000, 1, 86_400) * 1000,
    },
  };
}
