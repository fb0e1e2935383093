/**
 * The BIG-IP account's role, read from its own user object and judged against what CertFleet needs
 * (docs/vendors/f5-bigip.md, "What the account needs"). Pure except `readAccountRole`.
 *
 * Needed: Administrator (`admin`), which BIG-IP only grants on all partitions (f5-ansible
 * `library/bigip_user.py`: admin, resource-admin, auditor, no-access and
 * web-application-security-administrator are all-partitions roles). No source shows that a lesser
 * role may patch client-ssl profiles, run `util/unix-rm`, save the configuration or run config-sync
 * (vendor-apis §10.4), so Administrator is required until one does (ASSUMPTION B4).
 */
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { BigipHttpError, type BigipClient, type BigipPartitionRole } from './client';
import { COMPONENT } from './failures';

export const REQUIRED_ROLE = 'admin';

/** Role ids as iControl REST names them → the names the BIG-IP GUI shows (F5 "User Roles" manual chapter; f5-ansible bigip_user choices). */
const ROLE_NAMES: Record<string, string> = {
  admin: 'Administrator',
  'resource-admin': 'Resource Administrator',
  'user-manager': 'User Manager',
  manager: 'Manager',
  'certificate-manager': 'Certificate Manager',
  'irule-manager': 'iRule Manager',
  'application-editor': 'Application Editor',
  'acceleration-policy-editor': 'Acceleration Policy Editor',
  'web-application-security-administrator': 'Application Security Administrator',
  'web-application-security-editor': 'Application Security Editor',
  operator: 'Operator',
  auditor: 'Auditor',
  guest: 'Guest',
  'no-access': 'No Access',
};

export const roleName = (role: string): string => `${ROLE_NAMES[role] ?? role} (${role})`;

/** What reading the account's own user object gave. */
export type AccountAccess =
  | { kind: 'read'; access: BigipPartitionRole[] }
  /** No local user of that name (404): a remote (LDAP, RADIUS, TACACS+) user, whose role CertFleet cannot read. */
  | { kind: 'remote' }
  /** The device refused to show the account its own user object (401 "Authorization failed" / 403). */
  | { kind: 'refused'; message: string };

export interface RoleVerdict {
  /** The account has the required role. */
  ok: boolean;
  /** The role could be established (false: a remote user; the device decides call by call). */
  known: boolean;
  detail: string;
}

export function describeAccess(access: BigipPartitionRole[]): string {
  if (access.length === 0) return 'no role';
  return access
    .map(
      (a) =>
        `${roleName(a.role)} on ${a.partition === 'all-partitions' ? 'all partitions' : `partition ${a.partition}`}`,
    )
    .join(', ');
}

const REQUIRED = `${roleName(REQUIRED_ROLE)} on all partitions`;

export function judgeRole(username: string, found: AccountAccess): RoleVerdict {
  if (found.kind === 'remote') {
    return {
      ok: false,
      known: false,
      detail: `required: ${REQUIRED}; user "${username}" is not a local BIG-IP user (a remote LDAP/RADIUS/TACACS+ user?), so CertFleet cannot read its role: make sure it maps to Administrator`,
    };
  }
  if (found.kind === 'refused') {
    // An Administrator may read every user account; a refusal means the account is not one.
    return {
      ok: false,
      known: true,
      detail: `required: ${REQUIRED}; user "${username}" may not even read its own user object (${found.message}), so it is not an Administrator`,
    };
  }
  const ok = found.access.some((a) => a.role === REQUIRED_ROLE);
  return { ok, known: true, detail: `required: ${REQUIRED}; user "${username}" has ${describeAccess(found.access)}` };
}

/** GET /mgmt/tm/auth/user/<self>: the account's partitionAccess, or why it could not be read. */
export async function readAccountRole(client: BigipClient, username: string): Promise<AccountAccess> {
  try {
    const access = await client.userPartitionAccess(username);
    return access ? { kind: 'read', access } : { kind: 'remote' };
  } catch (error) {
    if (
      error instanceof BigipHttpError &&
      (error.status === 403 || (error.status === 401 && /authorization failed/i.test(error.deviceMessage)))
    ) {
      return { kind: 'refused', message: `HTTP ${error.status}` };
    }
    throw error;
  }
}

/** The refusal a deploy step throws before it changes anything, when the role is known to be too weak. */
export function insufficientRole(verdict: RoleVerdict): ClassifiedError | undefined {
  if (verdict.ok || !verdict.known) return undefined;
  return classified(
    FailureType.targetPermission,
    `${COMPONENT}: the BIG-IP account's role is not enough (${verdict.detail}). Nothing was changed on the device. Give the user the Administrator role.`,
  );
}
