import { integer, loadCommonConfig, optionalText, text, type CommonConfig, type Env } from '../config/env';

export interface WebConfig extends CommonConfig {
  host: string;
  port: number;
  publicUrl: string;
  secureCookies: boolean;
  initialAdminPassword: string | undefined;
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
  };
}
