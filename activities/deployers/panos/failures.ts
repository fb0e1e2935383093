/**
 * What a PAN-OS XML API reply means: readable text and a classified failure (docs/vendors/panos.md
 * "Failure modes"). Pure.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, type ClassifiedError } from '../../errors';
import type { PanReply } from './client';

/** XML API error codes (PAN-OS XML API "API Error Codes" page). */
const CODE_MEANINGS: Record<string, string> = {
  '1': 'unknown command',
  '2': 'internal error',
  '3': 'internal error',
  '4': 'internal error',
  '5': 'internal error',
  '6': 'bad xpath',
  '7': 'object not present',
  '8': 'object not unique',
  '10': 'reference count not zero',
  '11': 'internal error',
  '12': 'invalid object',
  '14': 'operation not possible',
  '15': 'operation denied',
  '16': 'unauthorized',
  '17': 'invalid command',
  '18': 'malformed command',
  '21': 'internal error',
  '22': 'session timed out',
  '403': 'invalid credential',
};
const TRANSIENT_CODES = new Set(['2', '3', '4', '5', '11', '21']);

/** What the device said, readable: its messages, the code and its meaning, a non-200 HTTP status. */
export function describeReply(reply: PanReply): string {
  const parts = [reply.messages.join('; ') || reply.raw || 'no message'];
  if (reply.code && reply.code !== '19' && reply.code !== '20')
    parts.push(`code ${reply.code}${CODE_MEANINGS[reply.code] ? `: ${CODE_MEANINGS[reply.code]}` : ''}`);
  if (reply.httpStatus !== 200) parts.push(`HTTP ${reply.httpStatus}`);
  return parts.join(', ');
}

/** The key or the credentials were refused (docs/vendors/panos.md: HTTP 403 "Invalid Credential"), or the key's session ended. */
export const credentialRejected = (reply: PanReply): boolean => {
  if (reply.status === 'success') return false;
  if (reply.code === '22') return true;
  const forbidden = reply.httpStatus === 403 || reply.code === '403';
  return forbidden && (reply.messages.length === 0 || reply.messages.some((m) => /invalid credential/i.test(m)));
};

/** Maps a failed reply to a classified error whose message names the action and the device's words. */
export function failureOf(action: string, reply: PanReply): ClassifiedError {
  const detail = describeReply(reply);
  if (credentialRejected(reply))
    return classified(
      FailureType.targetAuth,
      `panos: ${action}: the device rejected the API key or credentials (${detail})`,
    );
  if (reply.httpStatus === 403 || reply.code === '16' || reply.status === 'unauth') {
    return classified(
      FailureType.targetPermission,
      `panos: ${action}: not allowed for this admin (${detail}); its admin role needs XML API access to configuration, import, commit and operational requests`,
    );
  }
  if (reply.httpStatus >= 500 || (reply.code !== undefined && TRANSIENT_CODES.has(reply.code)))
    return classified(
      FailureType.targetUnreachable,
      `panos: ${action}: the device reported a temporary error (${detail})`,
    );
  if (!reply.status)
    return classified(
      FailureType.targetRejected,
      `panos: ${action}: the answer is not a PAN-OS XML API reply (${detail}); check host and port`,
    );
  return classified(FailureType.targetRejected, `panos: ${action} failed: ${detail}`);
}

export const ensureSuccess = (action: string, reply: PanReply): PanReply => {
  if (reply.status !== 'success') throw failureOf(action, reply);
  return reply;
};
