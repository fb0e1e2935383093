import { totpCode } from './totp';

/** A tiny browser stand-in for the console's HTTP interface: cookie jar, CSRF token, forms. */
export interface ConsoleResponse {
  status: number;
  headers: Headers;
  text: string;
  location: string | undefined;
}

export class ConsoleClient {
  private readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly baseUrl: string) {}

  private remember(headers: Headers): void {
    for (const cookie of headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }

  private async send(
    method: string,
    path: string,
    body?: URLSearchParams,
    headers: Record<string, string> = {},
  ): Promise<ConsoleResponse> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      redirect: 'manual',
      headers: {
        ...headers,
        ...(this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body: body.toString() } : {}),
    });
    this.remember(response.headers);
    if (response.headers.getSetCookie().length) this.lastSetCookies = response.headers.getSetCookie();
    const text = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token) this.csrf = token;
    return {
      status: response.status,
      headers: response.headers,
      text,
      location: response.headers.get('location') ?? undefined,
    };
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** The raw Set-Cookie headers of the last login, for flag checks. */
  lastSetCookies: string[] = [];

  get(path: string, headers?: Record<string, string>): Promise<ConsoleResponse> {
    return this.send('GET', path, undefined, headers);
  }

  /** Posts a form with the current CSRF token (fetch a page first). */
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<ConsoleResponse> {
    return this.send('POST', path, new URLSearchParams({ _csrf: this.csrf, ...form }), headers);
  }

  /** A request whose answer is a file: its bytes, unparsed. */
  private async sendForBytes(
    path: string,
    init: { method: string; form?: Record<string, string> },
  ): Promise<{ status: number; body: Buffer; headers: Headers }> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method: init.method,
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams({ _csrf: this.csrf, ...init.form }).toString() } : {}),
    });
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  }

  getBytes(path: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
    return this.sendForBytes(path, { method: 'GET' });
  }

  /** Posts a form like `post` (fetch a page first) and returns the answer's bytes (a file download). */
  postBytes(path: string, form: Record<string, string>): Promise<{ status: number; body: Buffer; headers: Headers }> {
    return this.sendForBytes(path, { method: 'POST', form });
  }

  /** Signs in; with MFA on, answers the code step with a code of `mfa.secret` (`stepsAhead` as in totpCode). */
  async login(username: string, password: string, mfa?: { secret: string; stepsAhead?: number }): Promise<void> {
    await this.get('/login');
    let response = await this.post('/login', { username, password, next: '/' });
    if (response.status === 303 && response.location?.startsWith('/login/mfa')) {
      if (!mfa) throw new Error(`${username} has two-factor sign-in on: pass its secret`);
      await this.get(response.location);
      response = await this.post('/login/mfa', { code: await totpCode(mfa.secret, mfa.stepsAhead), next: '/' });
    }
    if (response.status !== 303) throw new Error(`login failed with ${response.status}`);
    await this.get('/');
  }

  /** Sets up two-factor sign-in for the signed-in user: returns the TOTP secret and the recovery codes. */
  async enrolMfa(currentPassword: string): Promise<{ secret: string; recoveryCodes: string[] }> {
    await this.get('/account/mfa');
    const setup = await this.post('/account/mfa/setup', { currentPassword });
    if (setup.status !== 303) throw new Error(`MFA set-up failed with ${setup.status}`);
    const page = await this.get('/account/mfa');
    const secret = /id="mfa-secret">([A-Z2-7]+)</.exec(page.text)?.[1];
    if (!secret) throw new Error('no TOTP secret on the set-up page');
    const confirm = await this.post('/account/mfa/confirm', { code: await totpCode(secret) });
    if (confirm.status !== 201) throw new Error(`MFA confirmation failed with ${confirm.status}`);
    const recoveryCodes = [...confirm.text.matchAll(/<li>([a-z0-9]{5}-[a-z0-9]{5})<\/li>/g)].map((m) => m[1] ?? '');
    return { secret, recoveryCodes };
  }
}
