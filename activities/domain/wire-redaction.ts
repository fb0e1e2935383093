/**
 * Redaction of a device conversation for the wire transcript of a deploy run (issue 12 item 5).
 *
 * By construction first: what is secret by its place (an Authorization or Cookie header, a JSON
 * member, XML element, query or form parameter whose name says key, token, password…, a file part,
 * a raw upload) is replaced without looking at it. Then by pattern over the text that is left: PEM
 * private key blocks and long base64 runs that decode to DER (a key, a PKCS#12). Last, every exact
 * value known to be secret (the target's credentials, the version's key, and every value removed by
 * name earlier in the run) in every encoding it could travel in: plain, JSON-escaped, URL-encoded,
 * hex, base64 and base64url at the three byte alignments, the key's PEM lines, DER and JWK parts.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';

export const REMOVED = '(removed)';

/** Names of headers, JSON members, XML elements and parameters whose value is secret. */
const SECRET_NAME =
  /pass(word|wd|phrase)?|pwd|token|secret|api[-_]?key|^key$|[-_]key$|private|pkcs12|pfx|p12|cookie|session|authori[sz]ation|^auth$|credential|signature|file[-_]?content/i;

export const isSecretName = (name: string): boolean => SECRET_NAME.test(name);

/** Shortest value learned from a removed member (shorter ones are names like "on", not secrets). */
const MIN_LEARNED = 8;
/** Shortest known secret stripped by value. */
const MIN_KNOWN = 4;
/** Shortest encoded form stripped (shorter base64 fragments would match anywhere). */
const MIN_FORM = 8;

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const BASE64_RUN = /[A-Za-z0-9+/_-]{64,}={0,2}/g;
/** Base64 this long is removed whatever it decodes to: devices send nothing that long we need to read. */
const ALWAYS_REMOVED_BASE64 = 1024;

/**
 * The base64 (or base64url) characters that `data` turns into inside a longer base64 stream, for
 * each of the three byte alignments it can have there: the first and last partial groups, which
 * depend on the neighbouring bytes, are dropped. Also the secrets audit's search forms
 * (test/support/secret-forms.ts); test/unit/wire-redaction.test.ts checks it against real streams.
 */
export function base64InStream(data: Buffer, url: boolean): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), data]);
    const encoded = padded.toString(url ? 'base64url' : 'base64');
    out.push(encoded.slice(k === 0 ? 0 : 4, Math.floor(padded.length / 3) * 4));
  }
  return out;
}

/** Every form a text secret can take on the wire. */
export function encodedForms(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  return [
    text,
    JSON.stringify(text).slice(1, -1),
    encodeURIComponent(text),
    new URLSearchParams({ v: text }).toString().slice(2),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    ...base64InStream(bytes, false),
    ...base64InStream(bytes, true),
  ];
}

/** Forms of a private key: both PEM encodings line by line, the DER in base64/base64url/hex, the JWK private parts. */
function keyForms(keyPem: string): string[] {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return [];
  }
  const forms: string[] = [];
  const ders: Buffer[] = [key.export({ type: 'pkcs8', format: 'der' })];
  const pems: string[] = [keyPem, key.export({ type: 'pkcs8', format: 'pem' }).toString()];
  const traditional = key.asymmetricKeyType === 'ec' ? 'sec1' : key.asymmetricKeyType === 'rsa' ? 'pkcs1' : undefined;
  if (traditional) {
    ders.push(key.export({ type: traditional, format: 'der' }));
    pems.push(key.export({ type: traditional, format: 'pem' }).toString());
  }
  for (const pem of pems) {
    forms.push(...encodedForms(pem.trim()));
    for (const line of pem.split('\n'))
      if (line.length >= 16 && !line.startsWith('-----')) forms.push(...encodedForms(line));
  }
  for (const der of ders) forms.push(...base64InStream(der, false), ...base64InStream(der, true), der.toString('hex'));
  const jwk = key.export({ format: 'jwk' });
  for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const value = jwk[part];
    if (typeof value !== 'string') continue;
    const raw = Buffer.from(value, 'base64url');
    forms.push(value, raw.toString('base64'), raw.toString('hex'));
  }
  return forms;
}

/** A base64 run that is (or looks like) binary ASN.1: a key, a certificate or a PKCS#12. */
function base64Replacement(run: string): string {
  const bytes = Buffer.from(
    run.replace(/[-_]/g, (c) => (c === '-' ? '+' : '/')),
    'base64',
  );
  if (run.length >= ALWAYS_REMOVED_BASE64 || bytes[0] === 0x30) return `(base64, ${bytes.length} bytes, removed)`;
  return run;
}

/** Forms grouped by their first MIN_FORM characters, each group longest first. */
function indexByPrefix(forms: Iterable<string>): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const form of forms) {
    const prefix = form.slice(0, MIN_FORM);
    index.set(prefix, [...(index.get(prefix) ?? []), form]);
  }
  for (const group of index.values()) group.sort((a, b) => b.length - a.length);
  return index;
}

/**
 * Redacts text for one deploy run. Created with the secrets known when the run's step starts;
 * `learn` adds secrets met later (a session token the device hands out), so every later mention of
 * them is removed too.
 */
export class WireRedactor {
  private readonly forms = new Set<string>();
  /** The forms by their first MIN_FORM characters, longest first; rebuilt after a new form. */
  private index: Map<string, string[]> | undefined;

  constructor(secrets: { values?: string[]; keyPems?: string[] } = {}) {
    for (const value of secrets.values ?? []) this.learn(value, MIN_KNOWN);
    for (const pem of secrets.keyPems ?? []) this.addForms(keyForms(pem));
  }

  /** A value to strip from now on, in every encoding. */
  learn(value: string, minLength = MIN_LEARNED): void {
    if (value.length < minLength || value === REMOVED) return;
    this.addForms(encodedForms(value));
  }

  private addForms(forms: string[]): void {
    const before = this.forms.size;
    for (const form of forms) if (form.length >= MIN_FORM) this.forms.add(form);
    // Rebuilt only for a new form: a device repeats its session token on every answer.
    if (this.forms.size !== before) this.index = undefined;
  }

  /** Pattern and exact-value redaction of any text (a body, a URL, a command, its output). */
  text(text: string): string {
    const out = text.replace(PEM_PRIVATE_KEY, '(PEM private key removed)').replace(BASE64_RUN, base64Replacement);
    return this.forms.size > 0 ? this.removeKnown(out) : out;
  }

  /**
   * Every known form replaced, left to right, the longest one starting at a place first (so a form that
   * contains another is removed whole). A lookup by the next MIN_FORM characters at each place, not one
   * alternation of all forms as a RegExp: a run's redactor has about 400 forms (a key's alone), and
   * V8 compiled and first ran that pattern anew for every deploy run (bench/wire-redaction.ts).
   */
  private removeKnown(text: string): string {
    const index = (this.index ??= indexByPrefix(this.forms));
    let out = '';
    let copiedTo = 0;
    for (let at = 0; at + MIN_FORM <= text.length;) {
      const form = index.get(text.slice(at, at + MIN_FORM))?.find((f) => text.startsWith(f, at));
      if (form === undefined) {
        at++;
        continue;
      }
      out += text.slice(copiedTo, at) + REMOVED;
      at += form.length;
      copiedTo = at;
    }
    return copiedTo === 0 ? text : out + text.slice(copiedTo);
  }

  /** A header value: removed when its name is secret. */
  header(name: string, value: string): string {
    // WWW-Authenticate (a digest challenge: realm, nonce, qop) stays: it is what a login mismatch is debugged with.
    if (!isSecretName(name)) return this.text(value);
    this.learnHeader(value);
    return REMOVED;
  }

  private learnHeader(value: string): void {
    this.learn(value);
    // "Bearer abc", "Basic abc", "name=value; Path=/": the secret part alone.
    for (const part of value.split(/[\s;,]+/))
      this.learn(part.includes('=') ? part.slice(part.indexOf('=') + 1) : part);
  }

  /** A URL: secret query parameters removed. */
  url(url: URL): string {
    const copy = new URL(url.href);
    for (const [name, value] of [...copy.searchParams]) {
      if (!isSecretName(name)) continue;
      this.learn(value);
      copy.searchParams.set(name, REMOVED);
    }
    return this.text(`${copy.pathname}${copy.search}`);
  }

  /** An application/x-www-form-urlencoded body. */
  form(form: Record<string, string>): string {
    const copy = Object.entries(form).map(([name, value]): [string, string] => {
      if (!isSecretName(name)) return [name, value];
      this.learn(value);
      return [name, REMOVED];
    });
    return this.text(new URLSearchParams(copy).toString());
  }

  /** A JSON value: secret members removed at any depth. */
  json(value: unknown): string {
    return this.text(JSON.stringify(this.jsonValue(value), null, 1) ?? '');
  }

  private jsonValue(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.jsonValue(v));
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([name, member]) => {
        if (!isSecretName(name) || member === null || typeof member === 'boolean' || typeof member === 'number')
          return [name, this.jsonValue(member)];
        this.learnAll(member);
        return [name, REMOVED];
      }),
    );
  }

  /**
   * Learns a removed member's value: a string whole; in an object (F5's `token: {token, userName, …}`)
   * only the strings under secret names, so a user name next to a token is not stripped everywhere.
   */
  private learnAll(value: unknown): void {
    if (typeof value === 'string') this.learn(value);
    else if (Array.isArray(value)) for (const v of value) this.learnAll(v);
    else if (value && typeof value === 'object') {
      for (const [name, v] of Object.entries(value))
        if (isSecretName(name) || (v !== null && typeof v === 'object')) this.learnAll(v);
    }
  }

  /** XML (PAN-OS): the content of elements with secret names removed. */
  xml(text: string): string {
    const redacted = text.replace(
      /<([A-Za-z][\w.-]*)(\s[^>]*)?>([^<]*)<\/\1>/g,
      (whole, name: string, attributes: string | undefined, content: string) => {
        if (!isSecretName(name)) return whole;
        this.learn(content.trim());
        return `<${name}${attributes ?? ''}>${REMOVED}</${name}>`;
      },
    );
    return this.text(redacted);
  }

  /** A response or request body as text, redacted by what it looks like (JSON, XML, form or plain). */
  body(text: string, contentType = ''): string {
    const trimmed = text.trimStart();
    if (/json/i.test(contentType) || trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return this.json(JSON.parse(text));
      } catch {
        // not JSON after all
      }
    }
    if (/xml/i.test(contentType) || trimmed.startsWith('<')) return this.xml(text);
    if (/x-www-form-urlencoded/i.test(contentType)) return this.form(Object.fromEntries(new URLSearchParams(text)));
    return this.text(text);
  }
}

/** At most `max` characters, the cut said in words. */
export function truncated(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n(… ${text.length - max} more characters not kept)`;
}
