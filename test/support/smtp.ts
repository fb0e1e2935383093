/**
 * An in-process SMTP catcher (smtp-server) on 127.0.0.1:<free port>: no TLS (no STARTTLS offered),
 * optional auth (one user, checked when given), the name of every command clients sent, every
 * message recorded with its envelope, raw source and a minimally parsed subject/text (headers,
 * RFC 2047 encoded words, quoted-printable/base64, multipart → first text/plain and text/html).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface CaughtMail {
  /** Envelope MAIL FROM. */
  from: string;
  /** Envelope RCPT TO. */
  to: string[];
  raw: string;
  subject: string;
  /** Decoded text/plain body (empty if the message has none). */
  text: string;
  /** Decoded text/html body, if any. */
  html?: string;
  /** Top-level headers, lower-case names, unfolded, first occurrence, not decoded. */
  headers: Record<string, string>;
}

export interface SmtpCatcher {
  host: string;
  port: number;
  messages: CaughtMail[];
  /** The command names (EHLO, STARTTLS, AUTH, MAIL, …) clients sent, in order, across connections. */
  commands: string[];
  /** User names that signed in with the right password. */
  logins: string[];
  /** Resolves with the first message (already received or future) matching pred. */
  waitFor(pred: (msg: CaughtMail) => boolean, timeoutMs?: number): Promise<CaughtMail>;
  /** Forget received messages. */
  clear(): void;
  close: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Minimal MIME parsing

interface MimePart {
  headers: Record<string, string>;
  body: string;
}

function splitHeaderBody(raw: string): MimePart {
  const normalized = raw.replace(/\r\n/g, '\n');
  const sep = normalized.indexOf('\n\n');
  const head = sep === -1 ? normalized : normalized.slice(0, sep);
  const body = sep === -1 ? '' : normalized.slice(sep + 2);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function qpToBytes(input: string): Buffer {
  const soft = input.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const ch = soft[i] ?? '';
    const hex = soft.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(ch, 'utf8')) out.push(b);
    }
  }
  return Buffer.from(out);
}

/** RFC 2047 encoded words (=?charset?Q|B?…?=), adjacent words joined without the space between. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, charset: string, enc: string, text: string) => {
      const cs = charset.split('*')[0] ?? 'utf-8';
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : qpToBytes(text.replace(/_/g, ' '));
      return decodeBytes(bytes, cs);
    });
}

function contentType(headers: Record<string, string>): { type: string; params: Record<string, string> } {
  const value = headers['content-type'] ?? 'text/plain';
  const [type = 'text/plain', ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq === -1) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { type: type.trim().toLowerCase(), params };
}

function decodeBody(part: MimePart, charset: string): string {
  const cte = (part.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (cte === 'quoted-printable') return decodeBytes(qpToBytes(part.body), charset);
  if (cte === 'base64') return decodeBytes(Buffer.from(part.body.replace(/\s+/g, ''), 'base64'), charset);
  return part.body;
}

function collectBodies(part: MimePart, found: { text?: string; html?: string }): void {
  const { type, params } = contentType(part.headers);
  if (type.startsWith('multipart/') && params.boundary !== undefined) {
    const delimiter = `--${params.boundary}`;
    const sections = part.body.split('\n');
    let current: string[] | undefined;
    const parts: string[] = [];
    for (const line of sections) {
      if (line === `${delimiter}--` || line.startsWith(`${delimiter}--`)) {
        if (current) parts.push(current.join('\n'));
        current = undefined;
        break;
      }
      if (line === delimiter || line.trimEnd() === delimiter) {
        if (current) parts.push(current.join('\n'));
        current = [];
        continue;
      }
      current?.push(line);
    }
    if (current) parts.push(current.join('\n'));
    for (const p of parts) collectBodies(splitHeaderBody(p), found);
    return;
  }
  if (/^attachment/i.test(part.headers['content-disposition'] ?? '')) return;
  const charset = params.charset ?? 'utf-8';
  if (type === 'text/plain' && found.text === undefined) found.text = decodeBody(part, charset);
  else if (type === 'text/html' && found.html === undefined) found.html = decodeBody(part, charset);
}

export function parseMail(raw: string): {
  subject: string;
  text: string;
  html?: string;
  headers: Record<string, string>;
} {
  const top = splitHeaderBody(raw);
  const found: { text?: string; html?: string } = {};
  collectBodies(top, found);
  const result: { subject: string; text: string; html?: string; headers: Record<string, string> } = {
    subject: decodeEncodedWords(top.headers.subject ?? ''),
    text: found.text ?? '',
    headers: top.headers,
  };
  if (found.html !== undefined) result.html = found.html;
  return result;
}

// ---------------------------------------------------------------------------------------------

export async function startSmtpCatcher(
  options: { auth?: { username: string; password: string } } = {},
): Promise<SmtpCatcher> {
  const messages: CaughtMail[] = [];
  const commands: string[] = [];
  const logins: string[] = [];
  const waiters = new Set<(msg: CaughtMail) => void>();
  const ignore = (): void => undefined;
  // smtp-server logs each client command at debug level with its name (credentials redacted).
  const logger = {
    trace: ignore,
    info: ignore,
    warn: ignore,
    error: ignore,
    fatal: ignore,
    debug: (meta: { tnx?: string; command?: string }) => {
      if (meta.tnx === 'command' && meta.command) commands.push(meta.command);
    },
  };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: logger as unknown as SMTPServerOptions['logger'],
    closeTimeout: 500,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.username && auth.password === options.auth.password) {
        logins.push(auth.username);
        callback(null, { user: auth.username });
      } else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const mailFrom = session.envelope.mailFrom;
        const msg: CaughtMail = {
          from: mailFrom === false ? '' : mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...parseMail(raw),
        };
        messages.push(msg);
        for (const w of [...waiters]) w(msg);
        callback(null);
      });
    },
  });
  server.on('error', () => undefined); // connection-level errors (client resets) are not test failures

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    messages,
    commands,
    logins,
    clear: () => {
      messages.length = 0;
    },
    waitFor: (pred, timeoutMs = 5_000) =>
      new Promise<CaughtMail>((resolve, reject) => {
        const existing = messages.find(pred);
        if (existing) return resolve(existing);
        const waiter = (msg: CaughtMail): void => {
          if (!pred(msg)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(msg);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = messages.map((m) => `  ${m.from} -> ${m.to.join(', ')}: ${m.subject}`).join('\n');
          reject(new Error(`no matching mail within ${timeoutMs} ms; received ${messages.length}:\n${seen}`));
        }, timeoutMs);
        waiters.add(waiter);
      }),
    close: () => {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}
