/**
 * FortiOS answers → readable, classified errors (docs/vendors/fortigate.md, "Failure modes"). Never
 * includes the token or a body.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, type ClassifiedError } from '../../errors';
import type { FortiEnvelope, FortiResponse } from './client';

export const COMPONENT = 'fortigate';

export type Action = 'import' | 'ca-import' | 'read' | 'bind' | 'delete';

/** Readable meanings of the FortiOS error codes seen in the wild (docs/vendors/fortigate.md). */
export function describeFortiOsError(code: number, action: Action = 'read'): string {
  switch (code) {
    case -3:
      return 'the object does not exist';
    case -5:
      return 'an object with that name exists already';
    case -23:
      return action === 'delete' ? 'the object is still in use' : 'an identical certificate exists already';
    case -145:
      return 'invalid input format';
    case -327:
      return 'the certificate or key was refused (key size or format)';
    case -328:
      return 'the CA certificate exists already';
    case -651:
      // terraform-provider-fortios #193: "node_check_object fail! for name … value parse error before '…'".
      return action === 'bind'
        ? 'the device does not know the certificate named (or it is not visible in this VDOM)'
        : 'a value names an object the device does not have';
    default:
      return `error ${code}`;
  }
}

export const ok = (r: FortiResponse): boolean =>
  r.status === 200 && (r.envelope?.status === undefined || r.envelope.status === 'success');
export const codeOf = (r: FortiResponse): number | undefined =>
  typeof r.envelope?.error === 'number' ? r.envelope.error : undefined;

/** What the admin profile needs for a path (terraform-provider-fortios fortios_system_accprofile: sysgrp, vpngrp, fwgrp, authgrp). */
function permissionFor(what: string): string {
  if (/\bVIP\b/.test(what)) return 'read/write on Firewall (fwgrp)';
  if (/auth portal|user settings/.test(what)) return 'read/write on User & Authentication (authgrp)';
  if (/IPsec|SSL-VPN|certificate/i.test(what)) return 'read/write on VPN (vpngrp)';
  return 'read/write on System Configuration (sysgrp) and VPN (vpngrp)';
}

/** Maps a non-success answer to a classified error. */
export function fortigateFailure(r: FortiResponse, what: string, action: Action): ClassifiedError {
  const prefix = `${COMPONENT}: ${what}`;
  if (r.status === 401) {
    return classified(
      FailureType.targetAuth,
      `${prefix}: the API token was rejected (HTTP 401). Check the token, that its REST API admin still exists, and that this server's address is in the admin's trusted hosts.`,
    );
  }
  if (r.status === 403) {
    return classified(
      FailureType.targetPermission,
      `${prefix}: permission denied (HTTP 403). The REST API admin's profile needs ${permissionFor(what)}; with VDOMs its scope must be global.`,
    );
  }
  const code = codeOf(r);
  if (code !== undefined) {
    const cli = r.envelope?.cli_error
      ?.split('\n')
      .find((line) => line.trim() !== '')
      ?.trim();
    const meaning = describeFortiOsError(code, action);
    const detail = meaning === `error ${code}` ? meaning : `${meaning} (error ${code})`;
    return classified(FailureType.targetRejected, `${prefix}: ${detail}${cli ? `: ${cli}` : ''}`);
  }
  if (r.status >= 500 || r.status === 408 || r.status === 429) {
    return classified(
      FailureType.targetUnreachable,
      `${prefix}: the device answered HTTP ${r.status} without a FortiOS error code (busy or restarting); retrying may help`,
    );
  }
  if (r.status === 404) return classified(FailureType.targetRejected, `${prefix}: not found (HTTP 404)`);
  return classified(FailureType.targetRejected, `${prefix}: refused with HTTP ${r.status}`);
}

/** Throws the classified failure unless the answer is a success. */
export async function expectOk(request: Promise<FortiResponse>, what: string, action: Action): Promise<FortiResponse> {
  const response = await request;
  if (!ok(response)) throw fortigateFailure(response, what, action);
  return response;
}

/** `results` as a list: CMDB tables give arrays, singletons an object (or an array of one). */
export function resultList(envelope: FortiEnvelope | undefined): Record<string, unknown>[] {
  const results = envelope?.results;
  const items = Array.isArray(results) ? results : results !== undefined ? [results] : [];
  return items.filter(
    (item): item is Record<string, unknown> => typeof item === 'object' && item !== null && !Array.isArray(item),
  );
}

/** A certificate reference as FortiOS returns it: a name, `{q_origin_key}`/`{name}`, or a list of one. */
export function referencedName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return referencedName(value[0]);
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    const key = v['q_origin_key'] ?? v['name'];
    return typeof key === 'string' ? key : undefined;
  }
  return undefined;
}

/** Every name of a reference list (`[{name}]`, `[{q_origin_key}]`), a single reference, or an empty string (none). */
export function referencedNames(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map(referencedName).filter((n): n is string => n !== undefined && n !== '');
}
