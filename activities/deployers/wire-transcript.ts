/**
 * The wire transcript of a deploy step (issue 12 item 5): what CertFleet said to the device and what
 * the device answered, redacted as it is recorded (see domain/wire-redaction.ts), so a user whose
 * real device behaves unlike our fakes can show us what it said.
 *
 * The deploy activities open a recording around a step (`withWireTranscript`); the one place each
 * kind of traffic passes records into it: device-http.ts (HTTPS APIs), ssh/session.ts (commands and
 * their output, never file contents written over SFTP), sonicwall/ftp-drop.ts (the PKCS#12 upload,
 * by its size only). Outside a recording (tests, "Test connection") nothing is recorded. Nothing of
 * it goes through Temporal: the activity writes it to PostgreSQL itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FormData } from 'undici';
import { truncated, WireRedactor } from '../domain/wire-redaction';

/** Bodies and outputs are cut to this many characters (after redaction). */
export const MAX_BODY_CHARS = 16 * 1024;
/** A step keeps its last this many exchanges. */
export const MAX_EXCHANGES = 200;

export interface WireExchange {
  at: Date;
  /** The redacted exchange as text, request first. */
  text: string;
}

interface Recording {
  redactor: WireRedactor;
  exchanges: WireExchange[];
}

const current = new AsyncLocalStorage<Recording>();

function push(recording: Recording, text: string): void {
  recording.exchanges.push({ at: new Date(), text });
  if (recording.exchanges.length > MAX_EXCHANGES)
    recording.exchanges.splice(0, recording.exchanges.length - MAX_EXCHANGES);
}

/**
 * Runs `work` while recording its device traffic, then hands the exchanges to `save` (also when the
 * work failed: a failed step's transcript is the point). A failure to save never fails the step.
 */
export async function withWireTranscript<T>(
  redactor: WireRedactor,
  work: () => Promise<T>,
  save: (exchanges: WireExchange[]) => Promise<void>,
): Promise<T> {
  const { outcome, exchanges } = await recordWireTranscript(redactor, work);
  if (exchanges.length > 0) await save(exchanges).catch(() => undefined);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** What `work` did, and its device traffic: for a caller that writes the exchanges with its own record of the step. */
export interface RecordedWork<T> {
  outcome: { ok: true; value: T } | { ok: false; error: unknown };
  exchanges: WireExchange[];
}

/** Runs `work` while recording its device traffic; never throws (the work's error is in the outcome). */
export async function recordWireTranscript<T>(
  redactor: WireRedactor,
  work: () => Promise<T>,
): Promise<RecordedWork<T>> {
  const recording: Recording = { redactor, exchanges: [] };
  try {
    return { outcome: { ok: true, value: await current.run(recording, work) }, exchanges: recording.exchanges };
  } catch (error) {
    return { outcome: { ok: false, error }, exchanges: recording.exchanges };
  }
}

/** A secret met during the step (a session key stored for later): removed from everything recorded after. */
export function learnWireSecret(value: string): void {
  current.getStore()?.redactor.learn(value);
}

/** What device-http sends, in the shape it has before it is encoded. */
export interface HttpRequestRecord {
  method: string;
  url: URL;
  headers: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  multipart?: FormData;
  bytes?: Buffer;
}

const headerLines = (redactor: WireRedactor, headers: Iterable<[string, string]>): string[] =>
  [...headers].map(([name, value]) => `${name}: ${redactor.header(name, value)}`);

function requestBody(redactor: WireRedactor, request: HttpRequestRecord): string {
  if (request.json !== undefined) return redactor.json(request.json);
  if (request.form) return redactor.form(request.form);
  if (request.multipart) {
    return [...request.multipart.entries()]
      .map(([name, value]) =>
        typeof value === 'string'
          ? `part ${name}: ${redactor.header(name, value)}`
          : `part ${name}: (file part, ${value.size} bytes, removed)`,
      )
      .join('\n');
  }
  if (request.bytes) return `(binary body, ${request.bytes.length} bytes, removed)`;
  return '';
}

/**
 * Starts recording one HTTPS exchange; returns undefined outside a recording. Call `answered` with
 * the response or `failed` with the transport error.
 */
/** The part of a fetch response's headers the transcript reads. */
interface ResponseHeaders {
  forEach(callback: (value: string, name: string) => void): void;
  get(name: string): string | null;
}

export function recordHttpExchange(
  request: HttpRequestRecord,
):
  { answered(status: number, headers: ResponseHeaders, text: string): void; failed(error: unknown): void } | undefined {
  const recording = current.getStore();
  if (!recording) return undefined;
  const { redactor } = recording;
  const sent = [
    `> ${request.method} ${redactor.url(request.url)}`,
    ...headerLines(redactor, Object.entries(request.headers)),
  ];
  const body = requestBody(redactor, request);
  if (body) sent.push('', truncated(body, MAX_BODY_CHARS));
  return {
    answered(status, headers, text) {
      const received: [string, string][] = [];
      headers.forEach((value, name) => received.push([name, value]));
      const answer = [`< ${status}`, ...headerLines(redactor, received)];
      if (text) answer.push('', truncated(redactor.body(text, headers.get('content-type') ?? ''), MAX_BODY_CHARS));
      push(recording, `${sent.join('\n')}\n\n${answer.join('\n')}`);
    },
    failed(error) {
      push(
        recording,
        `${sent.join('\n')}\n\n< (no answer: ${redactor.text(error instanceof Error ? error.message : String(error))})`,
      );
    },
  };
}

/** One command run over SSH: the command line, the size of its input, its status and output. */
export function recordCommand(
  command: string,
  stdinBytes: number | undefined,
  result: { code: number; stdout: Buffer; stderr: string } | { error: unknown },
): void {
  const recording = current.getStore();
  if (!recording) return;
  const { redactor } = recording;
  // An encoded PowerShell script (IIS) embeds a per-run PFX password no redactor knows: removed whole.
  const shown = command.replace(
    /(-EncodedCommand\s+)\S+/gi,
    (_whole, flag: string) => `${flag}(encoded script removed)`,
  );
  const lines = [`$ ${redactor.text(shown)}`];
  if (stdinBytes !== undefined) lines.push(`(standard input, ${stdinBytes} bytes, removed)`);
  if ('error' in result) {
    lines.push(
      `(failed: ${redactor.text(result.error instanceof Error ? result.error.message : String(result.error))})`,
    );
  } else {
    lines.push(`exit status ${result.code}`);
    const stdout = result.stdout.includes(0)
      ? `(binary output, ${result.stdout.length} bytes, removed)`
      : redactor.text(result.stdout.toString('utf8'));
    if (stdout) lines.push('stdout:', truncated(stdout, MAX_BODY_CHARS));
    if (result.stderr) lines.push('stderr:', truncated(redactor.text(result.stderr), MAX_BODY_CHARS));
  }
  push(recording, lines.join('\n'));
}

/** Something said without its content (a file upload): the description is redacted like any text. */
export function recordNote(note: string): void {
  const recording = current.getStore();
  if (recording) push(recording, recording.redactor.text(note));
}
