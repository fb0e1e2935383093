/** Maps ssh2 connection errors to classified failures. Messages never carry credentials. */
import { FailureType } from '../../../temporal/contract';
import { transportFailureText } from '../../domain/transport-failure';
import { classified, ClassifiedError } from '../../errors';
import type { HostKeyIdentity } from './pin';

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

export interface ConnectFailureContext {
  component: string;
  host: string;
  port: number;
  username?: string;
  /** The methods offered, for the auth message: "key", "password". */
  methods?: string[];
  /** The pinned fingerprint, when one was checked. */
  pinned?: string;
  /** The key the server presented, once the handshake got that far. */
  presented?: HostKeyIdentity;
  /** True when our host-key check refused the presented key. */
  hostKeyRefused?: boolean;
  readyTimeoutMs?: number;
}

const errorCode = (error: Error): string | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};
const errorLevel = (error: Error): string | undefined => {
  const level = (error as { level?: unknown }).level;
  return typeof level === 'string' ? level : undefined;
};

/** Classifies an error raised while connecting or authenticating. */
export function classifyConnectError(error: unknown, ctx: ConnectFailureContext): ClassifiedError {
  // Ours already: the socket's lookup refused the address (activities/target-address.ts).
  if (error instanceof ClassifiedError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const where = `${ctx.host}:${ctx.port}`;
  const prefix = `${ctx.component}: SSH ${where}`;
  if (ctx.hostKeyRefused && ctx.presented) {
    return classified(
      FailureType.targetTlsUntrusted,
      `${prefix}: the server's host key does not match the pinned fingerprint: it presents ${ctx.presented.sha256} (${ctx.presented.keyType}), pinned is ${ctx.pinned ?? '(none)'}. If the server's key was changed on purpose, compare and pin the new one.`,
    );
  }
  const level = errorLevel(err);
  const code = errorCode(err);
  if (level === 'client-authentication') {
    const methods = ctx.methods && ctx.methods.length > 0 ? ` with ${ctx.methods.join(' and ')}` : '';
    return classified(
      FailureType.targetAuth,
      `${prefix}: login as ${ctx.username ?? '?'}${methods} was refused. Check the user name, and that the key is in its authorized_keys (or the password).`,
    );
  }
  if (level === 'client-timeout') {
    return classified(
      FailureType.targetUnreachable,
      `${prefix}: no SSH handshake within ${(ctx.readyTimeoutMs ?? 0) / 1000} s`,
    );
  }
  if ((code && UNREACHABLE_CODES.has(code)) || level === 'client-socket' || level === 'client-dns') {
    return classified(FailureType.targetUnreachable, `${prefix}: cannot connect: ${transportFailureText(err)}`);
  }
  if (level === 'handshake' || level === 'protocol') {
    return classified(FailureType.targetRejected, `${prefix}: SSH handshake failed: ${err.message}`);
  }
  return classified(FailureType.targetUnreachable, `${prefix}: ${err.message}`);
}

/** Errors thrown by ssh2 while parsing the private key, before any connection. */
export function classifyKeyError(error: unknown, component: string): ClassifiedError {
  const message = error instanceof Error ? error.message : String(error);
  if (/passphrase|decrypt/i.test(message)) {
    return classified(
      FailureType.targetAuth,
      `${component}: the private key cannot be decrypted: the passphrase is missing or wrong`,
    );
  }
  return classified(
    FailureType.validation,
    `${component}: the private key cannot be used (${message.replace(/^Cannot parse privateKey: /, '')}); paste an OpenSSH or PEM private key`,
  );
}
