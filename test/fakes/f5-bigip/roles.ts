/**
 * The fake BIG-IP's users and roles: what each role may call, and the refusal restjavad sends.
 *
 * Sources:
 * - `partitionAccess: [{name, role}]` on `/mgmt/tm/auth/user/<name>` (kind `tm:auth:user:userstate`),
 *   `all-partitions` for roles that apply everywhere (admin, resource-admin, auditor, no-access,
 *   web-application-security-administrator): F5Networks/f5-ansible `library/bigip_user.py` (BigIpRest
 *   docstring and `_required_all_partitions`); the role ids: the same module's `role` choices.
 * - The refusal: HTTP 401 `{"code":401,"message":"Authorization failed: user=https://localhost/mgmt/shared/authz/users/<u>
 *   resource=<path> verb=<METHOD> uri:http://localhost:8100<path> referrer:<ip> sender:<ip>", …}` quoted in
 *   terraform-provider-bigip issue #160 (a Manager-role user) and f5-appsvcs-extension issue #420; the
 *   rest of the envelope is restjavad's (server.ts `envelope`).
 * - Guest is read-only and Certificate Manager "can administer all security keys and certificates in a
 *   partition" (F5 iControl SOAP `Management::UserManagement::UserRole`; "User Roles" manual chapter);
 *   since 13.1 every role reaches iControl REST, limited by its role (F5 note quoted in
 *   terraform-provider-bigip #160).
 *
 * ASSUMPTIONS (docs/vendors/f5-bigip.md B4, B5, B6):
 * - B4: a Certificate Manager may upload files, install and delete ssl-cert/ssl-key objects in its
 *   partitions and open transactions, but may not patch client-ssl profiles, run `util/unix-rm`, save
 *   the configuration or run config-sync (vendor-apis §10.4: no source shows it may).
 * - B5: every user may read its own `/mgmt/tm/auth/user/<self>`; only an Administrator reads other users.
 * - B6: every role except No Access may read (GET) configuration; Operator, Guest, Auditor and the other
 *   roles may change nothing the fake models (Operator's node/pool-member switches are not modelled).
 */
import { F5Error, fullPathOf, splitPath, VERSION_QUERY } from './device-config';

export interface PartitionAccess {
  /** `all-partitions` or a partition name. */
  name: string;
  role: string;
}

export const ADMIN_ACCESS: PartitionAccess[] = [{ name: 'all-partitions', role: 'admin' }];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function userJson(username: string, access: PartitionAccess[], version: string): Record<string, unknown> {
  return {
    kind: 'tm:auth:user:userstate',
    name: username,
    fullPath: username,
    generation: 1,
    selfLink: `https://localhost/mgmt/tm/auth/user/${username}${VERSION_QUERY(version)}`,
    description: username,
    shell: 'tmsh',
    partitionAccess: access.map((a) => ({
      name: a.name,
      role: a.role,
      ...(a.name === 'all-partitions'
        ? {}
        : { nameReference: { link: `https://localhost/mgmt/tm/auth/partition/${a.name}${VERSION_QUERY(version)}` } }),
    })),
  };
}

/** The 401 restjavad answers when the user's role may not make the call (terraform-provider-bigip #160). */
export function authorizationFailed(username: string, method: string, path: string): F5Error {
  return new F5Error(
    401,
    `Authorization failed: user=https://localhost/mgmt/shared/authz/users/${username} resource=${path} verb=${method} uri:http://localhost:8100${path} referrer:127.0.0.1 sender:127.0.0.1`,
    'rest',
  );
}

/** The partition a certificate/key write touches: the URL's object, or the body's name (and partition). */
function targetPartition(path: string, body: unknown): string | undefined {
  const item = /^\/mgmt\/tm\/sys\/file\/ssl-(?:cert|key)\/([^/]+)$/.exec(path)?.[1];
  if (item) return splitPath(fullPathOf(decodeURIComponent(item))).partition;
  if (isRecord(body) && typeof body['name'] === 'string') {
    return splitPath(fullPathOf(body['name'], typeof body['partition'] === 'string' ? body['partition'] : 'Common'))
      .partition;
  }
  return undefined;
}

const CERTIFICATE_WRITE = /^\/mgmt\/tm\/sys\/(crypto\/(cert|key|pkcs12)|file\/ssl-(cert|key)(\/[^/]+)?)$/;

/** Throws the device's 401 when `access` may not make this call (login and token calls are not checked here). */
export function authorize(
  username: string,
  access: PartitionAccess[],
  method: string,
  path: string,
  body: unknown,
): void {
  const roles = new Set(access.map((a) => a.role));
  if (roles.has('admin')) return;
  const refuse = (): never => {
    throw authorizationFailed(username, method, path);
  };
  if ([...roles].every((r) => r === 'no-access')) refuse();
  const user = /^\/mgmt\/tm\/auth\/user\/([^/]+)$/.exec(path)?.[1];
  if (user !== undefined) {
    if (method === 'GET' && decodeURIComponent(user) === username) return; // B5
    refuse();
  }
  if (method === 'GET') return; // B6
  if (/^\/mgmt\/tm\/transaction(\/\d+)?$/.test(path)) return; // B4: what is queued is checked when it is queued
  const certificateManagerOf = (partition: string | undefined): boolean =>
    partition !== undefined &&
    access.some((a) => a.role === 'certificate-manager' && (a.name === 'all-partitions' || a.name === partition));
  if (
    method === 'POST' &&
    /^\/mgmt\/shared\/file-transfer\/uploads\/[^/]+$/.test(path) &&
    access.some((a) => a.role === 'certificate-manager')
  )
    return; // B4
  if (CERTIFICATE_WRITE.test(path) && certificateManagerOf(targetPartition(path, body))) return;
  refuse();
}
