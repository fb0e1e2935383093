/**
 * Reading the replies of the IIS deployer's PowerShell scripts (./scripts.ts; facts:
 * docs/vendors/iis.md): the JSON reply line, stderr (plain or CLIXML), failures classified, and the
 * reply's fields read defensively (Windows PowerShell 5.1 serialises a one-element array as the
 * element, numbers sometimes as strings).
 */
import { FailureType } from '../../../temporal/contract';
import { classified, type ClassifiedError } from '../../errors';
import { trimOutput } from '../ssh/shell';

/** Decodes PowerShell's `_xHHHH_` escapes (UTF-16 code units) and XML entities of CLIXML strings. */
function unescapeClixml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Error text from stderr: plain text as is; CLIXML (`#< CLIXML` then `<Objs …>` with `<S S="Error">`
 * lines) decoded to its error lines. Progress and other streams are dropped.
 */
export function stderrText(stderr: string): string {
  const start = stderr.indexOf('#< CLIXML');
  if (start < 0) return stderr;
  const errors = [...stderr.slice(start).matchAll(/<S S="Error">([\s\S]*?)<\/S>/g)].map((m) =>
    unescapeClixml(m[1] ?? ''),
  );
  const rest = stderr
    .slice(start)
    .replace(/#< CLIXML\r?\n?/g, '')
    .replace(/<Objs[\s\S]*?<\/Objs>/g, '');
  return `${stderr.slice(0, start)}${errors.join('')}${rest}`.trim();
}

/** The reply object: the last stdout line that parses as a JSON object (a UTF-8 BOM tolerated). */
export function parseReply(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((line) => line.replace(/^\uFEFF/, '').trim())
    .filter((line) => line.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const value: unknown = JSON.parse(lines[i] ?? '');
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

/** Output fit for an error message: secrets replaced, PEM/base64 runs removed, trimmed. */
export function cleanOutput(text: string, secrets: string[] = [], maxLines = 8, maxChars = 800): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return trimOutput(out, maxLines, maxChars);
}

/** "A specified logon session does not exist" (0x80070520, ERROR_NO_SUCH_LOGON_SESSION): docs/vendors/iis.md. */
export const LOGON_SESSION = /0x80070520|logon session does not exist/i;
const PERMISSION =
  /Access is denied|Access to the path .* is denied|UnauthorizedAccessException|requires elevation|PermissionDenied|0x80070005/i;
const TRANSIENT = /being used by another process|timed out|timeout|0x80070020|RPC server is unavailable/i;
const NOT_POWERSHELL = /is not recognized as an internal or external command|command not found/i;
const LEGACY_PFX = /specified network password is not correct/i;

export const LOGON_SESSION_EXPLANATION =
  'IIS/HTTP.sys cannot use the private key of the certificate. This happens when the key was imported into a user profile instead of the machine key store, by another account, or from a remote session without MachineKeySet (see win-acme #64, Certify #222). CertFleet imports with MachineKeySet|PersistKeySet; check that the SSH user is a local administrator with a full (elevated) token, that SYSTEM can read the key under C:\\ProgramData\\Microsoft\\Crypto, or import the certificate once as SYSTEM. Retrying will not help until that is fixed.';

/** A failed script as a classified error. */
export function scriptFailure(
  component: string,
  what: string,
  output: string,
  options: { code?: number; secrets?: string[]; legacyPfx?: boolean } = {},
): ClassifiedError {
  const text = cleanOutput(output, options.secrets);
  const exit = options.code !== undefined && options.code !== 0 ? ` (exit ${options.code})` : '';
  const detail = `${component}: ${what} failed${exit}: ${text || 'no output'}`;
  if (LOGON_SESSION.test(output))
    return classified(FailureType.targetRejected, `${detail}. ${LOGON_SESSION_EXPLANATION}`);
  if (NOT_POWERSHELL.test(output))
    return classified(
      FailureType.targetRejected,
      `${detail}. Is this a Windows server with Windows PowerShell (powershell.exe on the PATH)?`,
    );
  if (LEGACY_PFX.test(output) && !options.legacyPfx) {
    return classified(
      FailureType.targetRejected,
      `${detail}. Windows before Server 2016 1709 (build 16299) cannot read AES-256 PFX files: tick "Legacy PFX (3DES)" in the target options.`,
    );
  }
  if (PERMISSION.test(output))
    return classified(FailureType.targetPermission, `${detail}. The SSH user must be a local administrator.`);
  if (TRANSIENT.test(output)) return classified(FailureType.targetUnreachable, detail);
  return classified(FailureType.targetRejected, detail);
}

/**
 * Reads the reply of a script run: the JSON object on success, else a classified error with the
 * script's stderr (CLIXML decoded, secrets redacted, trimmed).
 */
export function readReply(
  component: string,
  what: string,
  result: { code: number; stdout: string; stderr: string },
  options: { secrets?: string[]; legacyPfx?: boolean } = {},
): Record<string, unknown> {
  const stderr = stderrText(result.stderr);
  if (result.code !== 0)
    return fail(scriptFailure(component, what, stderr || result.stdout, { ...options, code: result.code }));
  const reply = parseReply(result.stdout);
  if (!reply) {
    return fail(
      scriptFailure(
        component,
        what,
        `the script printed no JSON reply: ${[result.stdout, stderr].filter((s) => s.trim() !== '').join('\n') || '(nothing)'}`,
        options,
      ),
    );
  }
  return reply;
}

const fail = (error: ClassifiedError): never => {
  throw error;
};

// Reply fields

export type Json = Record<string, unknown>;
export const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
/** Windows PowerShell 5.1 may serialise a one-element array as the element itself. */
export const listOf = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
export const str = (o: Json, key: string): string => {
  const v = o[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
};
export const num = (o: Json, key: string): number => {
  const v = o[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) ? n : -1;
};

export interface CertInfo {
  store: string;
  thumbprint: string;
  present: boolean;
  hasPrivateKey: boolean;
  subject: string;
  notAfter: string;
  friendlyName: string;
}

export const certInfoOf = (value: unknown): CertInfo | undefined =>
  isObject(value)
    ? {
        store: str(value, 'store'),
        thumbprint: str(value, 'thumbprint').toUpperCase(),
        present: value['present'] === true,
        hasPrivateKey: value['hasPrivateKey'] === true,
        subject: str(value, 'subject'),
        notAfter: str(value, 'notAfter'),
        friendlyName: str(value, 'friendlyName'),
      }
    : undefined;
