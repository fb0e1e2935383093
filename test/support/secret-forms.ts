/**
 * The forms a secret can take (plain, JSON-escaped, URL-encoded, hex, base64 and base64url at the
 * three byte alignments, a key's PEM lines, DER and JWK parts) and a one-pass search for all of them:
 * shared by the secrets audit and every test that checks a text (a transcript, a log) holds no secret.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { utils as sshUtils } from 'ssh2';
import { base64InStream } from '../../activities/domain/wire-redaction';

export { base64InStream };

/** Every needle is at least this long (the window of the rolling hash below). */
export const WINDOW = 16;

export interface Needle<K extends string = string> {
  kind: K;
  /** Which value, e.g. "SMTP password" or "version 3 key". */
  label: string;
  /** Which form of it, e.g. "base64@1". */
  form: string;
  text: string;
}

/** A text value: itself, JSON-escaped, URL-encoded, hex, and base64/base64url at each alignment. */
export function textForms(text: string): { form: string; text: string }[] {
  const bytes = Buffer.from(text, 'utf8');
  const forms = [
    { form: 'plain', text },
    { form: 'JSON-escaped', text: JSON.stringify(text).slice(1, -1) },
    { form: 'URL-encoded', text: encodeURIComponent(text) },
    { form: 'hex', text: bytes.toString('hex') },
    ...base64InStream(bytes, false).map((t, k) => ({ form: `base64@${k}`, text: t })),
    ...base64InStream(bytes, true).map((t, k) => ({ form: `base64url@${k}`, text: t })),
  ];
  const seen = new Set<string>();
  return forms.filter((f) => f.text.length >= WINDOW && !seen.has(f.text) && seen.add(f.text));
}

export const needlesOf = <K extends string>(
  kind: K,
  label: string,
  base: { form: string; text: string }[],
): Needle<K>[] =>
  base.flatMap((b) =>
    textForms(b.text).map((f) => ({
      kind,
      label,
      form: f.form === 'plain' ? b.form : b.form === 'plain' ? f.form : `${b.form}, ${f.form}`,
      text: f.text,
    })),
  );

export const pemLines = (pem: string): string[] => pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));

/**
 * A private key: the text given, its PKCS#8 and traditional (SEC1/PKCS#1) PEM and DER, every full
 * 64-character PEM line that holds private bytes (lines made only of public-key bytes are left out:
 * the certificate shows them), the DER inside any base64 stream, and the private JWK components.
 */
export function keyNeedles<K extends string>(kind: K, label: string, original: string, key: KeyObject): Needle<K>[] {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const encodings: { name: string; pem: string; der: Buffer }[] = [
    {
      name: 'PKCS#8',
      pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      der: key.export({ type: 'pkcs8', format: 'der' }),
    },
  ];
  if (key.asymmetricKeyType === 'ec') {
    encodings.push({
      name: 'SEC1',
      pem: key.export({ type: 'sec1', format: 'pem' }).toString(),
      der: key.export({ type: 'sec1', format: 'der' }),
    });
  } else if (key.asymmetricKeyType === 'rsa') {
    encodings.push({
      name: 'PKCS#1',
      pem: key.export({ type: 'pkcs1', format: 'pem' }).toString(),
      der: key.export({ type: 'pkcs1', format: 'der' }),
    });
  }
  const base: { form: string; text: string }[] = [{ form: 'as stored', text: original.trim() }];
  for (const { name, pem, der } of encodings) {
    base.push({ form: `${name} PEM`, text: pem.trim() });
    base.push({ form: `${name} DER base64`, text: der.toString('base64') });
    pemLines(pem).forEach((line, i) => {
      if (line.length === 64 && !spki.includes(Buffer.from(line, 'base64')))
        base.push({ form: `${name} PEM line ${i + 1}`, text: line });
    });
  }
  const needles = needlesOf(kind, label, base);
  for (const { name, der } of encodings) {
    for (const url of [false, true]) {
      base64InStream(der, url).forEach((text, k) =>
        needles.push({ kind, label, form: `${name} DER in a ${url ? 'base64url' : 'base64'} stream @${k}`, text }),
      );
    }
  }
  const jwk = key.export({ format: 'jwk' });
  for (const component of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const value = jwk[component];
    if (typeof value !== 'string') continue;
    const raw = Buffer.from(value, 'base64url');
    for (const [form, text] of [
      ['base64url', value],
      ['base64', raw.toString('base64')],
      ['hex', raw.toString('hex')],
    ] as const) {
      if (text.length >= WINDOW) needles.push({ kind, label, form: `JWK ${component} (${form})`, text });
    }
  }
  return needles;
}

/** An OpenSSH private key: its text and base64 body (whole and by line), and the key itself as above. */
export function opensshKeyNeedles<K extends string>(
  kind: K,
  label: string,
  text: string,
): { needles: Needle<K>[]; key: KeyObject } {
  const lines = pemLines(text.trim());
  const base = [
    { form: 'OpenSSH text', text: text.trim() },
    { form: 'OpenSSH body', text: lines.join('') },
    ...lines.filter((l) => l.length >= 60).map((line, i) => ({ form: `OpenSSH line ${i + 1}`, text: line })),
  ];
  const parsed = sshUtils.parseKey(text);
  const first = Array.isArray(parsed) ? (parsed as unknown[])[0] : parsed;
  assert.ok(first && !(first instanceof Error), `the SSH key parses: ${String(first)}`);
  const pkcs8 = (first as { getPrivatePEM(): string }).getPrivatePEM();
  const key = createPrivateKey(pkcs8);
  return { needles: [...needlesOf(kind, label, base), ...keyNeedles(kind, label, pkcs8, key)], key };
}

// Searching: a rolling hash over a window of WINDOW characters finds every needle in one pass.

const HASH_BASE = 0x01000193;
const BLOOM_BITS = 22;

function windowHash(text: string, start: number): number {
  let h = 0;
  for (let i = 0; i < WINDOW; i++) h = (Math.imul(h, HASH_BASE) + text.charCodeAt(start + i)) | 0;
  return h;
}

export interface Hit<K extends string = string> {
  needle: Needle<K>;
  index: number;
}

export class Finder<K extends string = string> {
  private readonly table = new Map<number, Needle<K>[]>();
  private readonly bloom = new Uint8Array(1 << BLOOM_BITS);
  private readonly outPow: number;

  constructor(needles: readonly Needle<K>[]) {
    let pow = 1;
    for (let i = 1; i < WINDOW; i++) pow = Math.imul(pow, HASH_BASE);
    this.outPow = pow;
    for (const needle of needles) {
      assert.ok(needle.text.length >= WINDOW, `needle ${needle.label} (${needle.form}) is shorter than ${WINDOW}`);
      const h = windowHash(needle.text, 0);
      this.bloom[h & ((1 << BLOOM_BITS) - 1)] = 1;
      const bucket = this.table.get(h);
      if (bucket) bucket.push(needle);
      else this.table.set(h, [needle]);
    }
  }

  find(text: string): Hit<K>[] {
    const hits: Hit<K>[] = [];
    if (text.length < WINDOW) return hits;
    const mask = (1 << BLOOM_BITS) - 1;
    let h = windowHash(text, 0);
    for (let i = 0; ; i++) {
      if (this.bloom[h & mask] === 1) {
        for (const needle of this.table.get(h) ?? [])
          if (text.startsWith(needle.text, i)) hits.push({ needle, index: i });
      }
      if (i + WINDOW >= text.length) break;
      h =
        (Math.imul((h - Math.imul(text.charCodeAt(i), this.outPow)) | 0, HASH_BASE) + text.charCodeAt(i + WINDOW)) | 0;
    }
    return hits;
  }
}
