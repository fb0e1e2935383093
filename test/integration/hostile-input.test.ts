/**
 * Hostile input on every route of the console and the API (issue 7, item 5). The routes come from
 * the live app; every form field and JSON member gets very long strings, unicode tricks, invalid PEM,
 * SQL, HTML and header injection and (JSON) wrong types; every path id gets garbage; every body gets
 * the wrong shape, the wrong content type or too many bytes. For each answer:
 *   - never a 5xx;
 *   - a 4xx carries a readable message (an error element in HTML, `{ error }` and `fields` in JSON);
 *   - a refused request leaves the database as it was (no partial writes: row triggers count writes);
 *   - a value that cannot be valid for its field is refused, not stored;
 *   - no HTML response echoes markup unescaped, no header is injected, no redirect leaves the site.
 * Everything found is collected and printed as `METHOD path field=value → status: reason`, the values
 * of one field that fail the same way on one line (`field=v1 | v2 → …`). Sign-in has its own app with
 * the lockout and rate limit out of the way. About 10,000 requests; one and a half to two and a half
 * minutes, depending on the machine.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { insertApiToken } from '../../activities/db/repositories/api-tokens';
import { renewalScheduleId } from '../../temporal/contract';
import { hashToken, TOKEN_PREFIX } from '../../web/operations/api-tokens';
import { hashPassword } from '../../web/passwords';
import { pinnedApiTarget } from '../support/api-fixtures';
import { createTestCa, type TestCa } from '../support/certificates';
import { ConsoleClient } from '../support/console-client';
import { ROLE_PASSWORD, startConsoleApp, type ConsoleApp } from '../support/console-app';
import { isMutating, listRoutes, type AppRoute } from '../support/routes';
import { seedFleet } from '../support/seed';
import { jsonOrUndefined } from '../support/json';
import { LETS_ENCRYPT_PACING } from '../support/console-actions';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------- corpus

/** What a hostile value is, for deciding which fields must refuse it. */
type Tag =
  | 'long'
  | 'huge'
  | 'nul'
  | 'crlf'
  | 'multiline'
  | 'surrogate'
  | 'bidi'
  | 'unicode'
  | 'pem'
  | 'validpem'
  | 'sql'
  | 'html'
  | 'traversal'
  | 'blank'
  | 'type'
  | 'boolean'
  | 'null'
  | 'empty-array'
  | 'object'
  | 'absent';

interface Hostile {
  label: string;
  tags: readonly Tag[];
  /** A string value, sent in forms (unless `jsonOnly`) and as a JSON string. */
  text?: string;
  /** Raw JSON text of the value (wrong types); JSON only. */
  json?: string;
  jsonOnly?: boolean;
  /** Form-only shapes: the key twice (Express makes an array), or `key[]=x` (the key itself missing). */
  form?: 'repeated' | 'bracket';
  /** JSON only: the member left out. */
  omit?: boolean;
}

const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(1)>';
/** Markup that must never come back unescaped in an HTML response. */
const RAW_MARKERS = [SCRIPT, '<img src=x onerror=alert(1)>'];

function stringCorpus(caPem: string, keyPem: string): Hostile[] {
  return [
    { label: '10k chars', text: 'a'.repeat(10_000), tags: ['long'] },
    { label: 'RTL override', text: 'invoice\u202Etxt.exe', tags: ['bidi'] },
    { label: 'zero-width joiner', text: 'Ac\u200Dme', tags: ['unicode'] },
    { label: 'emoji', text: '🔒Ünïcödé✓😀', tags: ['unicode'] },
    { label: 'combining marks', text: 'Z\u0337\u0322a\u0336l\u0334g\u0338o\u0335', tags: ['unicode'] },
    { label: 'NUL', text: 'a\u0000b', tags: ['nul'] },
    { label: 'lone surrogate', text: '\ud800x', tags: ['surrogate'], jsonOnly: true },
    { label: 'truncated PEM', text: '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG', tags: ['pem', 'multiline'] },
    {
      label: 'garbage PEM',
      text: '-----BEGIN CERTIFICATE-----\nthis is not base64 at all!!\n-----END CERTIFICATE-----\n',
      tags: ['pem', 'multiline'],
    },
    { label: 'private key PEM', text: keyPem, tags: ['pem', 'multiline'] },
    { label: 'certificate + junk', text: `${caPem}junk after the certificate`, tags: ['pem', 'multiline'] },
    { label: '10k certificates', text: caPem.repeat(10_000), tags: ['huge', 'long', 'multiline'] },
    { label: '100 certificates', text: caPem.repeat(100), tags: ['validpem', 'multiline'] },
    { label: 'SQL or', text: "' OR 1=1 --", tags: ['sql'] },
    { label: 'SQL drop', text: "'; DROP TABLE customers; --", tags: ['sql'] },
    { label: 'backslash', text: '\\', tags: ['sql'] },
    { label: 'backslash quote', text: "\\'", tags: ['sql'] },
    { label: 'script', text: SCRIPT, tags: ['html'] },
    { label: 'img onerror', text: IMG, tags: ['html'] },
    { label: 'template', text: "{{constructor.constructor('x')()}}", tags: ['html'] },
    { label: 'CRLF header', text: 'a\r\nSet-Cookie: x=1', tags: ['crlf'] },
    { label: 'path traversal', text: '../../etc/passwd', tags: ['traversal'] },
    { label: 'blank', text: '   ', tags: ['blank', 'absent'] },
  ];
}

const TYPE_CORPUS: Hostile[] = [
  { label: 'number', json: '4242424242', tags: ['type'] },
  { label: 'negative', json: '-1', tags: ['type'] },
  { label: 'float', json: '1.5', tags: ['type'] },
  { label: '1e400', json: '1e400', tags: ['type'] },
  { label: 'true', json: 'true', tags: ['type', 'boolean'] },
  { label: 'false', json: 'false', tags: ['type', 'boolean'] },
  { label: 'null', json: 'null', tags: ['null'] },
  { label: '[]', json: '[]', tags: ['empty-array'] },
  { label: '["a","b"]', json: '["a","b"]', tags: ['type'] },
  { label: '{}', json: '{}', tags: ['object'] },
  { label: '{"$gt":""}', json: '{"$gt":""}', tags: ['object'] },
  { label: '__proto__', json: '{"__proto__":{"isAdmin":true}}', tags: ['object'] },
  { label: 'constructor', json: '{"constructor":{"prototype":{"isAdmin":true}}}', tags: ['object'] },
  { label: 'nested', json: '{"a":{"b":{"c":["d"]}}}', tags: ['object'] },
  { label: 'missing', omit: true, tags: ['absent'] },
];

const FORM_SHAPES: Hostile[] = [
  { label: 'repeated key', form: 'repeated', tags: ['type'] },
  { label: 'key[]', form: 'bracket', tags: ['absent'] },
];

/** Path ids that are no id at all (each sent as one path segment). */
const HOSTILE_IDS: { label: string; segment: string }[] = [
  ...[
    'abc',
    '1e3',
    '-1',
    '99999999999999999999',
    '1;DROP TABLE certificates',
    ' 1',
    '0x10',
    '1.0',
    'x'.repeat(5000),
    '../../etc/passwd',
    'ünïcödé😀',
    SCRIPT,
  ].map((id) => ({
    label: id.length > 40 ? `${id.length} chars` : id,
    segment: encodeURIComponent(id),
  })),
  { label: '%00', segment: '%00' },
  { label: 'malformed %', segment: '%E0%A4%A' },
];

// ------------------------------------------------------------------------------- field kinds

/**
 * What a field accepts, which decides which hostile values it must refuse:
 * name: a display name (any printable text, no bidi overrides); line: other one-line text; text:
 * free multi-line text; secret: a token or credential (one line); password: anything up to a length;
 * strict: ids, enums, numbers, addresses, URLs, fingerprints, paths, confirmations, time zones (no
 * hostile string is valid); strict-list: lists of such (text or a JSON array); domain: a host or
 * certificate name (IDN may be valid); pem: PEM certificates; flag: a form checkbox or a documented
 * lenient boolean; bool: a JSON boolean; object: a JSON object group.
 */
type Kind =
  | 'name'
  | 'line'
  | 'text'
  | 'secret'
  | 'password'
  | 'strict'
  | 'strict-list'
  | 'domain'
  | 'pem'
  | 'flag'
  | 'bool'
  | 'object';

function mustRefuse(kind: Kind, h: Hostile): boolean {
  const has = (t: Tag) => h.tags.includes(t);
  if (kind === 'flag' || has('null') || has('absent')) return false;
  if (kind === 'bool') return !has('boolean');
  if (kind === 'object') return !has('object');
  if (has('object')) return true;
  if (has('empty-array')) return kind !== 'strict-list';
  if (has('type') || has('long')) return true;
  if (kind === 'password') return false;
  if (has('nul') || has('surrogate')) return true;
  switch (kind) {
    case 'strict':
    case 'strict-list':
      return true;
    case 'domain':
      return !has('unicode');
    case 'pem':
      return !has('validpem');
    case 'text':
      return false;
    case 'name':
      return has('bidi') || has('crlf') || has('multiline');
    default:
      return has('crlf') || has('multiline');
  }
}

// ---------------------------------------------------------------------------------- route specs

interface Field {
  /** Form field name, or JSON member (dotted for nested groups: `trust.caPem`). */
  name: string;
  kind: Kind;
  /** Base body overrides that make this field matter (e.g. trustMode "ca" for trustCaPem). */
  base?: Json;
  /** A vendor field of a JSON group: finite numbers are read as their decimal text (documented). */
  numbersAsText?: boolean;
}

interface RouteSpec {
  /** Which variant of the route (e.g. the vendor of a new target). */
  label?: string;
  fields: Field[];
  /** A body the route accepts (n keeps names unique). Absent: no valid body exists to send. */
  base?: (n: number) => Json;
  /** Fields go into the query string (DELETE …?confirm=). */
  query?: boolean;
  /** The real id to use instead of the default one of the path's kind. */
  realId?: string;
  /** After a success: undo what would make the next valid request fail (a link, a password). */
  after?: () => Promise<void>;
}

interface Fixtures {
  customerId: string;
  providerId: string;
  directoryId: string;
  certId: string;
  renewCertId: string;
  targetId: string;
  deploymentId: string;
  adminId: string;
  userId: string;
  deleteUserIds: { console: string; api: string };
  tokenIds: { console: string; api: string };
  workflowId: string;
  caPem: string;
}

const FINGERPRINT = 'ab'.repeat(32);

/** Fields from `name: kind` pairs, in their order. */
function fieldsOf(kinds: Record<string, Kind>): Field[] {
  return Object.entries(kinds).map(([name, kind]) => ({ name, kind }));
}

/** Vendor fields of a JSON group (numbersAsText), from `name: kind` pairs. */
function textFieldsOf(kinds: Record<string, Kind>): Field[] {
  return fieldsOf(kinds).map((field) => ({ ...field, numbersAsText: true }));
}

function buildSpecs(fx: Fixtures, c: ConsoleApp, adminHash: string): Record<string, RouteSpec[]> {
  const db = c.db.db;
  const customer = fieldsOf({ name: 'name', notes: 'text', alertRecipients: 'strict-list' });
  const customerForm = (n: number): Json => ({
    name: `Hostile Co ${n}`,
    notes: 'Plain notes.',
    alertRecipients: 'ops@example.test',
  });
  const customerJson = (n: number): Json => ({
    name: `Hostile Co ${n}`,
    notes: 'Plain notes.',
    alertRecipients: ['ops@example.test'],
  });

  const dnsFields = fieldsOf({
    name: 'name',
    token: 'secret',
    zoneName: 'domain',
    zoneId: 'strict',
    apiBaseUrl: 'strict',
  });
  const dnsBase = (n: number): Json => ({
    name: `Hostile DNS ${n}`,
    token: 'cf-token-1234567890',
    zoneName: 'example.test',
    zoneId: '0123456789abcdef0123456789abcdef',
    apiBaseUrl: 'https://api.cloudflare.example.test/client/v4',
  });

  const certCreateFields = fieldsOf({
    commonName: 'domain',
    customerId: 'strict',
    dnsProviderId: 'strict',
    acmeDirectoryId: 'strict',
    keyType: 'strict',
    renewalMode: 'strict',
    renewalValue: 'strict',
    delegationZone: 'domain',
  });
  const certCreate = (n: number): Json => ({
    commonName: `hostile-${n}.example.test`,
    customerId: fx.customerId,
    dnsProviderId: fx.providerId,
    acmeDirectoryId: fx.directoryId,
    keyType: 'ecdsa-p256',
    renewalMode: 'days',
    renewalValue: '30',
  });
  const certSettingsFields = fieldsOf({
    customerId: 'strict',
    dnsProviderId: 'strict',
    keyType: 'strict',
    renewalMode: 'strict',
    renewalValue: 'strict',
    delegationZone: 'domain',
    fallbackDirectoryIds: 'strict-list',
  });
  const certSettings = (): Json => ({
    customerId: fx.customerId,
    dnsProviderId: fx.providerId,
    keyType: 'ecdsa-p256',
    renewalMode: 'days',
    renewalValue: '30',
  });

  const unlink = async () => {
    await db.query(
      'UPDATE deployments SET deleted_at = now() WHERE certificate_id = $1 AND target_id = $2 AND deleted_at IS NULL',
      [fx.certId, fx.targetId],
    );
  };
  /**
   * The prober's admin as it was: its password, its credential version back to the one its session holds
   * (a password change or "sign out everywhere" moved it on), its API tokens revoked by that live again,
   * no pending MFA secret, and "require MFA for admins" off (it would hold the prober at the set-up page).
   */
  const restoreAdmin = async () => {
    await db.query(
      `UPDATE users SET password_hash = $1, mfa_secret_sealed = NULL,
              credential_version = coalesce((SELECT max((sess->>'credentialVersion')::int) FROM web_sessions WHERE sess->>'userId' = $3), credential_version)
        WHERE id = $2`,
      [adminHash, fx.adminId, fx.adminId],
    );
    await db.query(
      'UPDATE api_tokens SET revoked_at = NULL, revoked_reason = NULL WHERE user_id = $1 AND revoked_reason IS NOT NULL',
      [fx.adminId],
    );
    await db.query("DELETE FROM settings WHERE key = 'security'");
  };

  // Targets: a FortiGate (management TLS, token) and an nginx server (SSH, paths, commands).
  const fortigateForm: Field[] = [
    ...fieldsOf({
      name: 'name',
      customerId: 'strict',
      host: 'domain',
      port: 'strict',
      trustMode: 'strict',
      trustFingerprint: 'strict',
    }),
    { name: 'trustCaPem', kind: 'pem', base: { trustMode: 'ca', trustFingerprint: '' } },
    ...fieldsOf({
      cred_token: 'secret',
      opt_vdom: 'strict',
      opt_sslVpnPort: 'strict',
      maintenanceTimeZone: 'strict',
      maintenanceWindows: 'strict-list',
    }),
  ];
  const fortigateFormBase = (n: number): Json => ({
    name: `Hostile FW ${n}`,
    customerId: fx.customerId,
    host: 'fw.example.test',
    port: '443',
    trustMode: 'fingerprint',
    trustFingerprint: FINGERPRINT,
    trustCaPem: fx.caPem,
    cred_token: 'fortigate-token-123',
    opt_vdom: 'root',
    opt_sslVpnPort: '10443',
    maintenanceTimeZone: 'Europe/Berlin',
    maintenanceWindows: 'sat,sun 02:00-05:00',
  });
  const nginxForm = fieldsOf({
    host: 'domain',
    cred_username: 'strict',
    cred_password: 'password',
    cred_privateKey: 'password',
    opt_certPath: 'strict',
    opt_keyPath: 'strict',
    opt_hostKeySha256: 'strict',
    opt_useSudo: 'flag',
    opt_testCommand: 'line',
    opt_reloadCommand: 'line',
    opt_reloadWaitSeconds: 'strict',
  });
  const nginxFormBase = (n: number): Json => ({
    vendor: 'nginx',
    name: `Hostile web ${n}`,
    customerId: fx.customerId,
    host: 'web.example.test',
    port: '22',
    cred_username: 'deploy',
    cred_password: 'ssh-password-1',
    opt_certPath: '/etc/nginx/ssl/site.crt',
    opt_keyPath: '/etc/nginx/ssl/site.key',
    opt_useSudo: 'on',
    opt_testCommand: 'nginx -t',
    opt_reloadCommand: 'nginx -s reload',
    opt_reloadWaitSeconds: '2',
    maintenanceTimeZone: 'UTC',
    maintenanceWindows: '',
  });
  const fortigateJson: Field[] = [
    ...fieldsOf({
      name: 'name',
      customerId: 'strict',
      host: 'domain',
      port: 'strict',
      trust: 'object',
      'trust.fingerprintSha256': 'strict',
    }),
    { name: 'trust.caPem', kind: 'pem', base: { trust: { caPem: fx.caPem } } },
    ...fieldsOf({ credentials: 'object' }),
    ...textFieldsOf({ 'credentials.token': 'secret' }),
    ...fieldsOf({ options: 'object' }),
    ...textFieldsOf({ 'options.vdom': 'strict', 'options.sslVpnPort': 'strict' }),
    ...fieldsOf({ maintenance: 'object', 'maintenance.timeZone': 'strict', 'maintenance.windows': 'strict-list' }),
  ];
  const fortigateJsonBase = (n: number): Json => ({
    name: `Hostile FW ${n}`,
    customerId: fx.customerId,
    host: 'fw.example.test',
    port: 443,
    trust: { fingerprintSha256: FINGERPRINT },
    credentials: { token: 'fortigate-token-123' },
    options: { vdom: 'root', sslVpnPort: 10443 },
    maintenance: { timeZone: 'Europe/Berlin', windows: ['sat,sun 02:00-05:00'] },
  });
  const nginxJson: Field[] = [
    ...textFieldsOf({
      'credentials.username': 'strict',
      'credentials.password': 'password',
      'credentials.privateKey': 'password',
      'options.certPath': 'strict',
      'options.keyPath': 'strict',
    }),
    ...fieldsOf({ 'options.hostKeySha256': 'strict', 'options.useSudo': 'bool' }),
    ...textFieldsOf({
      'options.testCommand': 'line',
      'options.reloadCommand': 'line',
      'options.reloadWaitSeconds': 'strict',
    }),
  ];
  const nginxJsonBase = (n: number): Json => ({
    vendor: 'nginx',
    name: `Hostile web ${n}`,
    customerId: fx.customerId,
    host: 'web.example.test',
    port: 22,
    credentials: { username: 'deploy', password: 'ssh-password-1' },
    options: {
      certPath: '/etc/nginx/ssl/site.crt',
      keyPath: '/etc/nginx/ssl/site.key',
      useSudo: true,
      testCommand: 'nginx -t',
      reloadCommand: 'nginx -s reload',
      reloadWaitSeconds: 2,
    },
  });

  const users = fieldsOf({ username: 'name', role: 'strict', password: 'password' });
  const userBase = (n: number): Json => ({
    username: `hostile-user-${n}`,
    role: 'readonly',
    password: 'user-password-123',
  });
  const acme = fieldsOf({ name: 'name', url: 'strict', caBundlePem: 'pem' });
  const acmeBase = (n: number): Json => ({
    name: `Hostile ACME ${n}`,
    url: `https://acme-${n}.example.test/directory`,
    caBundlePem: '',
  });
  const defaults = fieldsOf({
    acmeDirectoryId: 'strict',
    keyType: 'strict',
    renewalMode: 'strict',
    renewalValue: 'strict',
  });
  const email = fieldsOf({
    host: 'domain',
    port: 'strict',
    secure: 'flag',
    username: 'line',
    password: 'secret',
    allowPasswordWithoutTls: 'flag',
    from: 'strict',
    recipients: 'strict-list',
  });
  const emailBase = (): Json => ({
    host: 'smtp.example.test',
    port: '587',
    username: 'mailer',
    password: 'smtp-password-1',
    from: 'CertFleet <certfleet@example.test>',
    recipients: 'ops@example.test',
  });
  const command: RouteSpec[] = [{ fields: [], base: () => ({}) }];
  // Revocations and directory options reach the CA or change a binding: hostile bodies only.
  const directoryOptions = fieldsOf({ defaultProfile: 'strict', eabKeyId: 'strict', eabHmacKey: 'secret' });
  const dnsCreate: RouteSpec[] = [
    {
      fields: [...dnsFields, { name: 'kind', kind: 'strict' }],
      base: (n) => ({ ...dnsBase(n), kind: 'cloudflare' }),
    },
  ];

  return {
    // Console
    'POST /customers': [{ fields: customer, base: customerForm }],
    'POST /customers/:id': [{ fields: customer, base: customerForm }],
    'POST /customers/:id/delete': command,
    'POST /dns-providers': dnsCreate,
    'POST /dns-providers/:id': [{ fields: dnsFields, base: dnsBase }],
    'POST /dns-providers/:id/delete': [{ fields: [{ name: 'confirm', kind: 'strict' }] }],
    'POST /dns-providers/:id/verify': command,
    'POST /certificates': [{ fields: certCreateFields, base: certCreate }],
    'POST /certificates/:id/settings': [
      {
        fields: [...certSettingsFields, { name: 'enabled', kind: 'flag' }],
        base: () => ({ ...certSettings(), enabled: 'on' }),
      },
    ],
    'POST /certificates/:id/delete': [{ fields: [{ name: 'confirm', kind: 'strict' }] }],
    'POST /certificates/:id/renew': [{ fields: [], base: () => ({}), realId: fx.renewCertId }],
    'POST /certificates/:id/delegation/check': command,
    'POST /certificates/:id/download/pfx': [
      {
        fields: fieldsOf({ password: 'password', legacy: 'flag' }),
        base: () => ({ password: 'pfx-password-1' }),
      },
    ],
    'POST /certificates/:id/deployments': [
      {
        fields: fieldsOf({
          targetId: 'strict',
          bind_adminGui: 'flag',
          bind_sslVpn: 'flag',
          verifyEndpoints: 'strict-list',
          deployNow: 'flag',
        }),
        base: () => ({ targetId: fx.targetId, bind_adminGui: 'on', verifyEndpoints: 'fw1.example.test:443' }),
        after: unlink,
      },
    ],
    'POST /targets': [
      {
        label: 'fortigate',
        fields: [{ name: 'vendor', kind: 'strict' }, ...fortigateForm],
        base: (n) => ({ vendor: 'fortigate', ...fortigateFormBase(n) }),
      },
      { label: 'nginx', fields: nginxForm, base: nginxFormBase },
    ],
    'POST /targets/:id': [{ fields: fortigateForm, base: fortigateFormBase }],
    'POST /targets/:id/delete': [{ fields: [{ name: 'confirm', kind: 'strict' }] }],
    'POST /targets/:id/preflight': command,
    'POST /targets/fetch-fingerprint': [
      {
        fields: fieldsOf({ host: 'domain', port: 'strict', vendor: 'strict' }),
        base: () => ({ vendor: 'fortigate', host: 'fw.example.test', port: '443' }),
      },
    ],
    'POST /deployments/:id/redeploy': command,
    'POST /deployments/:id/retry': command,
    'POST /deployments/:id/deploy-now': command,
    'POST /deployments/:id/mark-done': command,
    'POST /deployments/:id/delete': command,
    'POST /account/password': [
      {
        fields: fieldsOf({ currentPassword: 'strict', newPassword: 'password' }),
        base: () => ({ currentPassword: ROLE_PASSWORD, newPassword: ROLE_PASSWORD }),
        after: restoreAdmin,
      },
    ],
    'POST /account/sign-out-everywhere': [{ fields: [], base: () => ({}), after: restoreAdmin }],
    'POST /account/mfa/setup': [
      {
        fields: [{ name: 'currentPassword', kind: 'strict' }],
        base: () => ({ currentPassword: ROLE_PASSWORD }),
        after: restoreAdmin,
      },
    ],
    // No valid body: a code cannot be known in advance here (test/integration/mfa.test.ts signs in with real ones).
    'POST /account/mfa/confirm': [{ fields: [{ name: 'code', kind: 'strict' }] }],
    'POST /account/mfa/disable': [
      {
        fields: fieldsOf({ currentPassword: 'strict', code: 'strict' }),
      },
    ],
    'POST /settings/users/:id/end-sessions': command,
    'POST /settings/users/:id/reset-mfa': command,
    'POST /settings/security': [
      { fields: [{ name: 'requireAdminMfa', kind: 'flag' }], base: () => ({}), after: restoreAdmin },
    ],
    'POST /account/tokens': [{ fields: [{ name: 'name', kind: 'name' }], base: (n) => ({ name: `token ${n}` }) }],
    'POST /account/tokens/:id/revoke': [{ fields: [], base: () => ({}), realId: fx.tokenIds.console }],
    'POST /settings/acme-directories': [{ fields: acme, base: acmeBase }],
    'POST /certificates/:id/versions/:versionId/revoke': [{ fields: [{ name: 'reason', kind: 'strict' }] }],
    'POST /settings/acme-directories/:id/options': [{ fields: directoryOptions }],
    'POST /settings/acme-directories/:id/read-profiles': command,
    'POST /settings/acme-directories/:id/key-rollover': command,
    'POST /settings/acme-directories/:id/pacing': [
      {
        fields: fieldsOf({
          ordersPerAccount: 'strict',
          accountWindowSeconds: 'strict',
          certificatesPerDomain: 'strict',
          duplicatesPerIdentifiers: 'strict',
          domainWindowSeconds: 'strict',
          fallbackDirectoryIds: 'strict-list',
          fallbackAfterSeconds: 'strict',
        }),
        base: () => ({ ...LETS_ENCRYPT_PACING }),
      },
    ],
    'POST /settings/renewal-defaults': [
      {
        fields: defaults,
        base: () => ({
          acmeDirectoryId: fx.directoryId,
          keyType: 'ecdsa-p256',
          renewalMode: 'days',
          renewalValue: '30',
        }),
      },
    ],
    'POST /settings/email': [{ fields: email, base: emailBase }],
    'POST /settings/email/test': command,
    'POST /settings/networks': [
      { fields: [{ name: 'allowed', kind: 'strict-list' }], base: () => ({ allowed: '10.20.0.0/16' }) },
    ],
    'POST /settings/users': [{ fields: users, base: userBase }],
    'POST /settings/users/:id': [
      {
        fields: fieldsOf({ role: 'strict', password: 'password', unlock: 'flag' }),
        base: () => ({ role: 'readonly' }),
      },
    ],
    'POST /settings/users/:id/delete': [{ fields: [], base: () => ({}), realId: fx.deleteUserIds.console }],

    // API
    'POST /api/v1/customers': [{ fields: customer, base: customerJson }],
    'PATCH /api/v1/customers/:id': [{ fields: customer, base: customerJson }],
    'DELETE /api/v1/customers/:id': command,
    'POST /api/v1/dns-providers': dnsCreate,
    'PATCH /api/v1/dns-providers/:id': [{ fields: [...dnsFields, { name: 'config', kind: 'object' }], base: dnsBase }],
    'DELETE /api/v1/dns-providers/:id': command,
    'POST /api/v1/dns-providers/:id/verify': command,
    'POST /api/v1/targets': [
      {
        label: 'fortigate',
        fields: [{ name: 'vendor', kind: 'strict' }, ...fortigateJson],
        base: (n) => ({ vendor: 'fortigate', ...fortigateJsonBase(n) }),
      },
      { label: 'nginx', fields: nginxJson, base: nginxJsonBase },
    ],
    'PATCH /api/v1/targets/:id': [
      { fields: [{ name: 'vendor', kind: 'strict' }, ...fortigateJson], base: fortigateJsonBase },
    ],
    'DELETE /api/v1/targets/:id': command,
    'POST /api/v1/targets/:id/test-connection': command,
    'POST /api/v1/certificates': [
      {
        fields: certCreateFields,
        base: (n) => ({ ...certCreate(n), customerId: Number(fx.customerId), renewalValue: 30 }),
      },
    ],
    'PATCH /api/v1/certificates/:id': [
      {
        fields: [...certSettingsFields, { name: 'enabled', kind: 'bool' }],
        base: () => ({ ...certSettings(), renewalValue: 30, enabled: true }),
      },
    ],
    'DELETE /api/v1/certificates/:id': [{ fields: [{ name: 'confirm', kind: 'strict' }], query: true }],
    'POST /api/v1/certificates/:id/renew': [{ fields: [], base: () => ({}), realId: fx.renewCertId }],
    'POST /api/v1/certificates/:id/pfx': [
      {
        fields: fieldsOf({ password: 'password', legacy: 'bool' }),
        base: () => ({ password: 'pfx-password-1', legacy: false }),
      },
    ],
    'POST /api/v1/certificates/:id/deployments': [
      {
        fields: [
          { name: 'targetId', kind: 'strict' },
          { name: 'binding', kind: 'object' },
          { name: 'binding.adminGui', kind: 'bool', base: { binding: { sslVpn: true } } },
          { name: 'binding.sslVpn', kind: 'bool' },
          { name: 'verifyEndpoints', kind: 'strict-list' },
          { name: 'deployNow', kind: 'bool' },
        ],
        base: () => ({
          targetId: fx.targetId,
          binding: { adminGui: true, sslVpn: false },
          verifyEndpoints: ['fw1.example.test:443'],
          deployNow: false,
        }),
        after: unlink,
      },
    ],
    'DELETE /api/v1/deployments/:id': command,
    'POST /api/v1/deployments/:id/retry': command,
    'POST /api/v1/deployments/:id/redeploy': command,
    'POST /api/v1/deployments/:id/mark-done': command,
    'POST /api/v1/deployments/:id/deploy-now': command,
    'DELETE /api/v1/me/tokens/:id': [{ fields: [], base: () => ({}), realId: fx.tokenIds.api }],
    'POST /api/v1/users': [{ fields: users, base: userBase }],
    'PATCH /api/v1/users/:id': [
      {
        fields: fieldsOf({ role: 'strict', password: 'password', unlock: 'bool', disabled: 'bool' }),
        base: () => ({ role: 'readonly' }),
      },
    ],
    'DELETE /api/v1/users/:id': [{ fields: [], base: () => ({}), realId: fx.deleteUserIds.api }],
    'POST /api/v1/users/:id/end-sessions': command,
    'POST /api/v1/users/:id/reset-mfa': command,
    'PUT /api/v1/settings/security': [
      {
        fields: [{ name: 'requireAdminMfa', kind: 'bool' }],
        base: () => ({ requireAdminMfa: false }),
        after: restoreAdmin,
      },
    ],
    'PUT /api/v1/settings/email': [
      { fields: email, base: () => ({ ...emailBase(), secure: false, recipients: ['ops@example.test'] }) },
    ],
    'POST /api/v1/settings/email/test': command,
    'PUT /api/v1/settings/renewal-defaults': [
      {
        fields: defaults,
        base: () => ({ acmeDirectoryId: fx.directoryId, keyType: 'ecdsa-p256', renewalMode: 'days', renewalValue: 30 }),
      },
    ],
    'POST /api/v1/settings/acme-directories': [{ fields: acme, base: acmeBase }],
    'POST /api/v1/certificates/:id/versions/:versionId/revoke': [{ fields: [{ name: 'reason', kind: 'strict' }] }],
    'PUT /api/v1/settings/acme-directories/:id/options': [{ fields: directoryOptions }],
    'POST /api/v1/settings/acme-directories/:id/read-profiles': command,
    'PUT /api/v1/settings/networks': [
      { fields: [{ name: 'allowed', kind: 'strict-list' }], base: () => ({ allowed: ['10.20.0.0/16'] }) },
    ],
  };
}

/** The real id for a route's path parameter. */
function realIdFor(path: string, fx: Fixtures): string {
  if (path.includes(':workflowId')) return fx.workflowId;
  const rules: [RegExp, string][] = [
    [/^(\/api\/v1)?\/customers\//, fx.customerId],
    [/^(\/api\/v1)?\/settings\/acme-directories\//, fx.directoryId],
    [/^(\/api\/v1)?\/dns-providers\//, fx.providerId],
    [/^(\/api\/v1)?\/certificates\//, fx.certId],
    [/^(\/api\/v1)?\/targets\//, fx.targetId],
    [/^(\/api\/v1)?\/deployments\//, fx.deploymentId],
    [/^\/settings\/users\/|^\/api\/v1\/users\//, fx.userId],
    [/^\/account\/tokens\/|^\/api\/v1\/me\/tokens\//, fx.tokenIds.console],
  ];
  const hit = rules.find(([re]) => re.test(path));
  if (!hit) throw new Error(`hostile-input: no real id for ${path}`);
  return hit[1];
}

const hasParam = (path: string): boolean => /:[A-Za-z]+/.test(path);
const fillPath = (path: string, segment: string): string => path.replace(/:[A-Za-z]+/, segment);
const nonExistentId = (path: string): string =>
  path.includes(':workflowId') ? 'test-email:00000000-0000-0000-0000-000000000000' : '999999999';
const isApi = (path: string): boolean => path.startsWith('/api/');
/** For monitors, not people: Prometheus reads a plain-text 401 from /metrics (its token is not a session). */
const isMachineEndpoint = (path: string): boolean => path.split('?')[0] === '/metrics';
const keyOf = (r: AppRoute): string => `${r.method} ${r.path}`;
const isDeletion = (r: AppRoute): boolean =>
  r.method === 'DELETE' || r.path.endsWith('/delete') || r.path.endsWith('/revoke');

// ----------------------------------------------------------------------------------- bodies

const PLACEHOLDER = '\u0001hostile\u0001';

function setPath(body: Json, path: string, value: unknown): void {
  const parts = path.split('.');
  let node: Json = body;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Json;
  }
  node[parts.at(-1) as string] = value;
}

function deletePath(body: Json, path: string): void {
  const parts = path.split('.');
  let node: unknown = body;
  for (const part of parts.slice(0, -1))
    node = typeof node === 'object' && node !== null ? (node as Json)[part] : undefined;
  if (typeof node === 'object' && node !== null) delete (node as Json)[parts.at(-1) as string];
}

/** The base body with one member replaced by the hostile value (raw JSON text for wrong types). */
function jsonWith(base: Json, field: string, h: Hostile): string {
  const body = structuredClone(base);
  if (h.omit) {
    deletePath(body, field);
    return JSON.stringify(body);
  }
  setPath(body, field, PLACEHOLDER);
  const value = h.json ?? JSON.stringify(h.text);
  return JSON.stringify(body).replace(JSON.stringify(PLACEHOLDER), () => value);
}

const formText = (pairs: [string, string][]): string => new URLSearchParams(pairs).toString();
const formPairs = (body: Json): [string, string][] =>
  Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);

function formWith(base: Json, field: string, h: Hostile): string {
  const rest = formPairs(base).filter(([k]) => k !== field);
  if (h.form === 'repeated') return formText([...rest, [field, 'a'], [field, 'b']]);
  if (h.form === 'bracket') return formText([...rest, [`${field}[]`, 'x']]);
  return formText([...rest, [field, h.text ?? '']]);
}

interface WholeBody {
  label: string;
  contentType?: string;
  data?: string;
  headers?: Record<string, string>;
  /** Must be refused (any 4xx), or must get exactly this status. */
  refuse?: boolean;
  status?: number;
}

/** `readsBody`: the route reads its body, so a body of the wrong shape must be refused (commands ignore theirs). */
function apiWholeBodies(base: Json, readsBody: boolean): WholeBody[] {
  const text = JSON.stringify(base);
  const merge = (prefix: string) => (text === '{}' ? `{${prefix}}` : `{${prefix},${text.slice(1)}`);
  const json = 'application/json';
  return [
    { label: 'malformed JSON', contentType: json, data: '{"name": ', refuse: true },
    { label: 'array body', contentType: json, data: '[]', refuse: readsBody },
    { label: 'string body', contentType: json, data: '"x"', refuse: true },
    { label: 'number body', contentType: json, data: '42', refuse: true },
    { label: 'null body', contentType: json, data: 'null', refuse: true },
    { label: 'empty object', contentType: json, data: '{}' },
    { label: 'no body' },
    {
      label: 'extra fields',
      contentType: json,
      data: JSON.stringify({
        ...base,
        id: '1',
        createdAt: '2000-01-01T00:00:00Z',
        deletedAt: null,
        role: 'admin',
        isAdmin: true,
        extra: SCRIPT,
      }),
    },
    { label: '__proto__ member', contentType: json, data: merge('"__proto__":{"isAdmin":true,"role":"admin"}') },
    { label: 'constructor member', contentType: json, data: merge('"constructor":{"prototype":{"isAdmin":true}}') },
    { label: 'text/plain', contentType: 'text/plain', data: text },
    { label: 'form to the API', contentType: 'application/x-www-form-urlencoded', data: formText(formPairs(base)) },
    { label: 'utf-16 charset', contentType: 'application/json; charset=utf-16', data: text, refuse: true },
    {
      label: 'unknown content-encoding',
      contentType: json,
      data: text,
      headers: { 'content-encoding': 'x-hostile' },
      refuse: true,
    },
    { label: '300k body', contentType: json, data: merge(`"pad":"${'a'.repeat(300_000)}"`), status: 413 },
    { label: 'deep nesting', contentType: json, data: merge(`"deep":${'['.repeat(40_000)}${']'.repeat(40_000)}`) },
  ];
}

function consoleWholeBodies(base: Json): WholeBody[] {
  const pairs = formPairs(base);
  const form = 'application/x-www-form-urlencoded';
  return [
    { label: 'JSON body', contentType: 'application/json', data: JSON.stringify(base) },
    { label: 'text/plain', contentType: 'text/plain', data: formText(pairs) },
    {
      label: 'multipart',
      contentType: 'multipart/form-data; boundary=XyZ',
      data: '--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--XyZ--\r\n',
    },
    { label: 'no body' },
    { label: 'empty form', contentType: form, data: '' },
    { label: 'malformed percent', contentType: form, data: `${formText(pairs)}&name=%E0%A4%A&notes=%` },
    {
      label: '2000 parameters',
      contentType: form,
      data: Array.from({ length: 2000 }, (_, i) => `p${i}=x`).join('&'),
      refuse: true,
    },
    { label: 'utf-16 charset', contentType: `${form}; charset=utf-16`, data: formText(pairs), refuse: true },
    { label: '300k form', contentType: form, data: formText([...pairs, ['pad', 'a'.repeat(300_000)]]), status: 413 },
  ];
}

// ------------------------------------------------------------------------------ transport

interface Reply {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
  headers: Headers;
}

interface Request {
  method: string;
  path: string;
  contentType?: string | undefined;
  data?: string | undefined;
  headers?: Record<string, string> | undefined;
}

interface Credentials {
  cookie: string;
  csrf: string;
  token: string;
}

async function send(base: string, creds: Credentials, req: Request): Promise<Reply> {
  const headers: Record<string, string> = { ...req.headers };
  if (isApi(req.path)) headers['authorization'] = `Bearer ${creds.token}`;
  else {
    headers['cookie'] = creds.cookie;
    headers['x-csrf-token'] = creds.csrf;
  }
  if (req.contentType) headers['content-type'] = req.contentType;
  try {
    const response = await fetch(new URL(req.path, base), {
      method: req.method,
      headers,
      redirect: 'manual',
      ...(req.data !== undefined ? { body: req.data } : {}),
    });
    const text = await response.text();
    const json = jsonOrUndefined(text);
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text,
      json,
      headers: response.headers,
    };
  } catch (error) {
    // The server dropped the connection (e.g. an error after a streamed answer had begun): status 0.
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return {
      status: 0,
      contentType: '',
      text: `connection dropped: ${(error as Error).message}${cause ? ` (${cause})` : ''}`,
      json: undefined,
      headers: new Headers(),
    };
  }
}

// ----------------------------------------------------------------------------------- snapshot

/**
 * Writes are counted per table by row triggers installed in this test's own database (every table
 * but the audit log, the sessions and the migrations list, which legitimately change on a refused
 * request). A write rolled back with its transaction rolls its count back too, so a changed count
 * after a refused request is exactly a partial write. An API token's "last used" stamp is no write.
 */
/** Written by refused requests on purpose: the audit log, sessions, and sign-in failures (a wrong current password counts). */
const IGNORED_TABLES = ['audit_log', 'web_sessions', 'schema_migrations', 'hostile_writes', 'login_failures'];
const WRITE_COUNTERS_SQL = `
  CREATE TABLE hostile_writes (tbl text PRIMARY KEY, n bigint NOT NULL);
  CREATE FUNCTION hostile_count_write() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO hostile_writes VALUES (TG_TABLE_NAME, 1) ON CONFLICT (tbl) DO UPDATE SET n = hostile_writes.n + 1;
    RETURN NULL;
  END $$;
  DO $$
  DECLARE t text;
  BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> ALL (ARRAY[${IGNORED_TABLES.map((t) => `'${t}'`).join(', ')}]) LOOP
      IF t = 'api_tokens' THEN
        EXECUTE 'CREATE TRIGGER hostile_count AFTER INSERT OR DELETE ON api_tokens FOR EACH ROW EXECUTE FUNCTION hostile_count_write()';
        EXECUTE 'CREATE TRIGGER hostile_count_update AFTER UPDATE ON api_tokens FOR EACH ROW
                 WHEN ((OLD.user_id, OLD.name, OLD.token_hash, OLD.prefix, OLD.revoked_at) IS DISTINCT FROM (NEW.user_id, NEW.name, NEW.token_hash, NEW.prefix, NEW.revoked_at))
                 EXECUTE FUNCTION hostile_count_write()';
      ELSE
        EXECUTE format('CREATE TRIGGER hostile_count AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION hostile_count_write()', t);
      END IF;
    END LOOP;
  END $$;`;
const SNAPSHOT_SQL = "SELECT coalesce(json_object_agg(tbl, n), '{}') AS s FROM hostile_writes";

type Snapshot = Record<string, number>;

const changedTables = (a: Snapshot, b: Snapshot): string[] =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]);

// ------------------------------------------------------------------------------------- judge

const show = (value: string, max = 40): string => {
  const json = JSON.stringify(value);
  return json.length > max ? `${json.slice(0, max)}…(${value.length} chars)` : json;
};
const snippet = (reply: Reply): string => {
  const fromJson = typeof reply.json === 'object' && reply.json !== null ? JSON.stringify(reply.json) : undefined;
  const fromHtml = /class="(?:field-)?error"[^>]*>([^<]*)</.exec(reply.text)?.[1];
  return (fromJson ?? fromHtml ?? reply.text.replace(/\s+/g, ' ')).slice(0, 160);
};

interface Expectation {
  /** What was hostile: `id`, a field name, `body`, `query` … and its value as printed. */
  key: string;
  value: string;
  /** The path as printed (the route pattern for hostile ids); default the request's path. */
  at?: string;
  /** The field (for "is the message about it"). */
  field?: string;
  refuse?: boolean;
  status?: number;
}

/** Violations grouped by route, key, status and reason: `METHOD path key=v1 | v2 → status: reason`. */
class Violations {
  private readonly groups = new Map<string, { head: string; values: string[]; tail: string }>();
  count = 0;

  add(head: string, value: string, tail: string): void {
    this.count += 1;
    const id = `${head}\u0000${tail}`;
    const group = this.groups.get(id) ?? { head, values: [], tail };
    if (!group.values.includes(value)) group.values.push(value);
    this.groups.set(id, group);
  }

  lines(): string[] {
    return [...this.groups.values()].map((g) => `${g.head}=${g.values.join(' | ')} → ${g.tail}`);
  }
}

/** A 4xx a user can act on: an error element in HTML; `{ error }` (and `fields` for a field error) in JSON. */
function readable(req: Request, reply: Reply, field: string | undefined): string | undefined {
  if (isApi(req.path)) {
    const body = reply.json as { error?: unknown; fields?: unknown } | undefined;
    if (typeof body?.error !== 'string' || body.error.trim() === '')
      return `no JSON { error } message (got ${show(reply.text, 60)})`;
    if (field && reply.status === 400) {
      const fields = body.fields;
      const named = typeof fields === 'object' && fields !== null && Object.keys(fields).length > 0;
      const leaf = field.split('.').at(-1) ?? field;
      if (!named && !body.error.toLowerCase().includes(leaf.toLowerCase()) && !/json|body/i.test(body.error))
        return `400 without "fields" or a word about ${field}: ${show(body.error, 80)}`;
    }
    return undefined;
  }
  if (isMachineEndpoint(req.path)) return reply.text.trim() ? undefined : 'no message';
  if (!reply.contentType.includes('text/html'))
    return `error answered as ${reply.contentType || 'no content type'}, not an HTML page`;
  if (!/class="(?:field-)?error"[^>]*>\s*[^<\s]/.test(reply.text))
    return `HTML error page without an error message (${show(reply.text.replace(/\s+/g, ' '), 80)})`;
  return undefined;
}

function judge(req: Request, reply: Reply, expect: Expectation): string[] {
  const problems: string[] = [];
  const { status } = reply;
  if (status === 0) problems.push(reply.text);
  else if (status >= 500) problems.push(`server error: ${snippet(reply)}`);
  else if (expect.status !== undefined && status !== expect.status) problems.push(`expected ${expect.status}`);
  else if (expect.refuse && status < 400) problems.push('accepted input that must be refused');
  if (status >= 400 && status < 500) {
    const unreadable = readable(req, reply, expect.field);
    if (unreadable) problems.push(unreadable);
  }
  if (reply.contentType.includes('html')) {
    for (const marker of RAW_MARKERS)
      if (reply.text.includes(marker)) problems.push(`HTML echoes ${show(marker)} unescaped`);
  }
  if (reply.headers.getSetCookie().some((cookie) => /^x=/.test(cookie)))
    problems.push('header injection: Set-Cookie x=1');
  const location = reply.headers.get('location');
  if (location !== null && (!location.startsWith('/') || /^\/[/\\]/.test(location)))
    problems.push(`redirects off-site to ${show(location, 60)}`);
  return problems;
}

// ------------------------------------------------------------------------------------ prober

class Prober {
  violations = new Violations();
  requests = 0;
  private last: Snapshot | undefined;

  constructor(
    private readonly c: ConsoleApp,
    private readonly creds: Credentials,
  ) {}

  async snapshot(): Promise<Snapshot> {
    const [row] = await this.c.db.db.query<{ s: Snapshot }>(SNAPSHOT_SQL);
    return row?.s ?? {};
  }

  private record(req: Request, reply: { status: number }, expect: Expectation, problem: string): void {
    const at = expect.at ?? req.path;
    this.violations.add(
      `${req.method} ${at.length > 100 ? `${at.slice(0, 100)}…` : at} ${expect.key}`,
      expect.value,
      `${reply.status}: ${problem}`,
    );
  }

  /** One request on its own: judged, and (refused, or a GET) the main tables must not have moved. */
  async one(req: Request, expect: Expectation): Promise<Reply> {
    this.last ??= await this.snapshot();
    const reply = await send(this.c.url, this.creds, req);
    this.requests += 1;
    for (const problem of judge(req, reply, expect)) this.record(req, reply, expect, problem);
    const now = await this.snapshot();
    const changed = changedTables(this.last, now);
    if (changed.length > 0 && (reply.status >= 400 || req.method === 'GET')) {
      this.record(
        req,
        reply,
        expect,
        `${req.method === 'GET' ? 'a read' : 'a refused request'} changed ${changed.join(', ')}`,
      );
    }
    this.last = now;
    return reply;
  }

  /** Reads, a few at a time: none of them may change the main tables. */
  async reads(batch: { req: Request; expect: Expectation }[]): Promise<void> {
    const before = await this.snapshot();
    await Promise.all(
      batch.map(async ({ req, expect }) => {
        const reply = await send(this.c.url, this.creds, req);
        this.requests += 1;
        for (const problem of judge(req, reply, expect)) this.record(req, reply, expect, problem);
      }),
    );
    const changed = changedTables(before, await this.snapshot());
    if (changed.length > 0)
      this.violations.add(
        `reads ${batch.map(({ req }) => `${req.method} ${req.path.slice(0, 60)}`).join(', ')} batch`,
        'of 8',
        `changed ${changed.join(', ')}`,
      );
    this.last = undefined;
  }

  /** Forget the snapshot (something outside the prober wrote). */
  resync(): void {
    this.last = undefined;
  }
}

// ------------------------------------------------------------------------------------- tests

const DATE_KEYS = ['from', 'to'];
const QUERY_KEYS = [
  'q',
  'status',
  'customer',
  'expiry',
  'vendor',
  'sort',
  'dir',
  'page',
  'pageSize',
  'before',
  'limit',
  'from',
  'to',
  'actor',
  'action',
  'entityType',
  'entityId',
  'outcome',
  'target',
  'certificate',
  'test',
  'id',
  'polling',
  'next',
  'confirm',
];

describe('hostile input on every route', () => {
  let c: ConsoleApp;
  let ca: TestCa;
  let fx: Fixtures;
  let specs: Record<string, RouteSpec[]>;
  let probe: Prober;
  let routes: AppRoute[];
  let strings: Hostile[];
  let token: string;
  let counter = 0;

  before(async () => {
    // Hostile current passwords count as failed sign-ins: keep the lockout from ending the prober's session.
    c = await startConsoleApp({
      login: { maxFailures: 1_000_000, lockMs: 60_000, rateLimit: 20, rateWindowMs: 60_000 },
    });
    ca = createTestCa();
    const leaf = ca.issue('hostile.example.test');
    const db = c.db.db;
    const fleet = await seedFleet(
      db,
      { customers: 3, certificates: 12, targetsPerCustomer: 2, deploymentRuns: 12, auditEntries: 30 },
      c.box.seal('placeholder', SecretPurpose.versionKey),
    );
    // The seed's placeholders are not what the console opens: a real key and certificate for the
    // versions, and credentials sealed for their purpose.
    await db.query('UPDATE certificate_versions SET cert_pem = $1, chain_pem = $2, key_encrypted = $3', [
      leaf.certPem,
      leaf.chainPems.join(''),
      c.box.seal(leaf.keyPem, SecretPurpose.versionKey),
    ]);
    await db.query('UPDATE targets SET credentials_encrypted = $1', [
      c.box.seal('{}', SecretPurpose.targetCredentials),
    ]);
    await db.query(WRITE_COUNTERS_SQL);

    const admin = await c.addUser('admin', 'hostile-admin');
    const client = new ConsoleClient(c.url);
    await client.login(admin.username, ROLE_PASSWORD);
    token = TOKEN_PREFIX + 'hostile'.padEnd(43, 'x');
    await insertApiToken(db, {
      userId: admin.id,
      name: 'prober',
      tokenHash: hashToken(token),
      prefix: token.slice(0, 10),
    });
    const victimToken = async (name: string) =>
      (
        await insertApiToken(db, {
          userId: admin.id,
          name,
          tokenHash: hashToken(`${TOKEN_PREFIX}${name}`.padEnd(47, 'v')),
          prefix: 'cft_victim',
        })
      ).id;

    const customerId = fleet.customerIds[0] as string;
    const certs = await db.query<{ id: string }>(
      'SELECT id FROM certificates WHERE customer_id = $1 AND current_version_id IS NOT NULL ORDER BY id',
      [customerId],
    );
    const target = await c.api(token, 'POST', '/api/v1/targets', {
      ...pinnedApiTarget('fortigate', 'Hostile fixture FW', customerId, 'fw1.example.test', FINGERPRINT),
      credentials: { token: 'fortigate-token-123' },
      options: { vdom: 'root' },
    });
    assert.equal(target.status, 201, target.text);
    const testEmail = await c.api(token, 'POST', '/api/v1/settings/email/test', {});
    assert.equal(testEmail.status, 202, testEmail.text);
    const [deployment] = await db.query<{ id: string }>('SELECT id FROM deployments ORDER BY id LIMIT 1');
    fx = {
      customerId,
      providerId: fleet.dnsProviderId,
      directoryId: fleet.directoryId,
      certId: certs[0]?.id ?? '',
      renewCertId: certs[1]?.id ?? '',
      targetId: (target.json as { id: string }).id,
      deploymentId: deployment?.id ?? '',
      adminId: admin.id,
      userId: (await c.addUser('readonly', 'victim-update')).id,
      deleteUserIds: {
        console: (await c.addUser('readonly', 'victim-console')).id,
        api: (await c.addUser('readonly', 'victim-api')).id,
      },
      tokenIds: { console: await victimToken('victim-console'), api: await victimToken('victim-api') },
      workflowId: (testEmail.json as { workflowId: string }).workflowId,
      caPem: ca.rootPem,
    };
    specs = buildSpecs(fx, c, await hashPassword(ROLE_PASSWORD));
    probe = new Prober(c, {
      cookie: `certfleet.sid=${client.cookie('certfleet.sid') ?? ''}`,
      csrf: client.csrf,
      token,
    });
    routes = listRoutes(c.app);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    strings = stringCorpus(ca.rootPem, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  });

  after(async () => {
    ca?.dispose();
    await c?.stop();
  });

  /** Runs one phase with its own violations, then prints them (grouped) and asserts there are none. */
  const phase = async (label: string, work: () => Promise<void>) => {
    probe.violations = new Violations();
    const n0 = probe.requests;
    const t0 = Date.now();
    await work();
    const lines = probe.violations.lines();
    console.log(
      `# hostile-input ${label}: ${probe.requests - n0} requests in ${Math.round((Date.now() - t0) / 1000)} s, ${probe.violations.count} violation(s)`,
    );
    if (lines.length > 0)
      assert.fail(`${probe.violations.count} violation(s) in ${lines.length} group(s):\n${lines.join('\n')}`);
  };

  it('every mutating route (but sign-in and sign-out) has a spec of its fields here', () => {
    const mutating = routes
      .filter(isMutating)
      .map(keyOf)
      .filter((k) => k !== 'POST /login' && k !== 'POST /login/mfa' && k !== 'POST /logout');
    console.log(
      `# hostile-input: ${routes.length} routes, ${mutating.length} mutating (plus sign-in, tested on its own), ${routes.filter((r) => r.method === 'GET').length} reads`,
    );
    assert.deepEqual(
      mutating.filter((k) => !(k in specs)),
      [],
      'routes without a hostile-input spec',
    );
    assert.deepEqual(
      Object.keys(specs).filter((k) => !mutating.includes(k)),
      [],
      'specs of routes the app no longer has',
    );
  });

  /** Hostile ids in the path, then the fields one by one, then whole bodies, for one route. */
  const exercise = async (route: AppRoute, spec: RouteSpec) => {
    const api = isApi(route.path);
    const json = 'application/json';
    const form = 'application/x-www-form-urlencoded';
    const realPath = hasParam(route.path) ? fillPath(route.path, spec.realId ?? realIdFor(route.path, fx)) : route.path;
    const bodyOf = (body: Json | undefined): Pick<Request, 'contentType' | 'data'> =>
      body === undefined || spec.query
        ? {}
        : api
          ? { contentType: json, data: JSON.stringify(body) }
          : { contentType: form, data: formText(formPairs(body)) };
    const tag = spec.label ? `[${spec.label}] ` : '';
    const afterSuccess = async (reply: Reply) => {
      if (reply.status >= 400 || !spec.after) return;
      await spec.after();
      probe.resync();
    };

    if (hasParam(route.path)) {
      const body = bodyOf(spec.base?.(++counter));
      const at = route.path;
      for (const id of HOSTILE_IDS)
        await probe.one(
          { method: route.method, path: fillPath(route.path, id.segment), ...body },
          { at, key: `${tag}id`, value: show(id.label), refuse: true },
        );
      const missing = nonExistentId(route.path);
      await probe.one(
        { method: route.method, path: fillPath(route.path, missing), ...body },
        { at, key: `${tag}id`, value: missing, refuse: true },
      );
      if (!api)
        await probe.one(
          { method: route.method, path: fillPath(route.path, 'abc'), headers: { 'HX-Request': 'true' }, ...body },
          { at, key: `${tag}id`, value: '"abc" (htmx)', refuse: true },
        );
    }

    if (spec.base && spec.fields.length > 0) {
      const reply = await probe.one(
        { method: route.method, path: realPath, ...bodyOf(spec.base(++counter)) },
        { key: `${tag}body`, value: 'the valid base body' },
      );
      if (reply.status >= 400)
        probe.violations.add(
          `${route.method} ${realPath} ${tag}[test setup] body`,
          'the valid base body',
          `${reply.status}: refused: ${snippet(reply)}`,
        );
      await afterSuccess(reply);
    }

    for (const field of spec.fields) {
      const values = [
        ...strings.filter((h) => !h.tags.includes('huge') || field.kind === 'pem'),
        ...(api ? TYPE_CORPUS : FORM_SHAPES),
      ];
      for (const h of values) {
        if (!api && (h.jsonOnly || h.json !== undefined || h.omit)) continue;
        // Query values stay under Node's 16 kB header limit (beyond it Node answers 431 before the app sees anything).
        if (
          spec.query &&
          (h.json !== undefined || h.omit || h.jsonOnly || encodeURIComponent(h.text ?? '').length > 12_000)
        )
          continue;
        const base = { ...(spec.base?.(++counter) ?? {}), ...field.base };
        // Names must be unique: a suffix keeps an earlier acceptance (say by the API) from hiding this one behind "name taken".
        const sent: Hostile =
          field.kind === 'name' && h.text !== undefined && !h.tags.includes('absent')
            ? { ...h, text: `${h.text} ${counter}` }
            : h;
        const query = () =>
          h.form === 'repeated'
            ? `${field.name}=a&${field.name}=b`
            : h.form === 'bracket'
              ? `${field.name}[]=x`
              : `${field.name}=${encodeURIComponent(h.text ?? '')}`;
        const req: Request = spec.query
          ? { method: route.method, path: `${realPath}?${query()}` }
          : api
            ? { method: route.method, path: realPath, contentType: json, data: jsonWith(base, field.name, sent) }
            : { method: route.method, path: realPath, contentType: form, data: formWith(base, field.name, sent) };
        const numberAsText = field.numbersAsText === true && h.json !== undefined && /^-?\d+(\.\d+)?$/.test(h.json);
        const reply = await probe.one(req, {
          at: realPath,
          key: `${tag}${field.name}`,
          value: h.text !== undefined && h.text.length <= 40 ? show(h.text) : h.label,
          field: field.name,
          refuse: mustRefuse(field.kind, h) && !numberAsText,
          ...(h.tags.includes('huge') ? { status: 413 } : {}),
        });
        await afterSuccess(reply);
      }
    }

    const readsBody = spec.fields.length > 0;
    const wholes = api
      ? apiWholeBodies(spec.base?.(++counter) ?? {}, readsBody)
      : consoleWholeBodies(spec.base?.(++counter) ?? {});
    for (const w of wholes) {
      const reply = await probe.one(
        { method: route.method, path: realPath, contentType: w.contentType, data: w.data, headers: w.headers },
        {
          key: `${tag}body`,
          value: w.label,
          ...(w.refuse ? { refuse: true } : {}),
          ...(w.status ? { status: w.status } : {}),
        },
      );
      await afterSuccess(reply);
    }
    probe.resync();
  };

  it('forms and API commands: hostile ids, fields and bodies get a readable 4xx, never a 5xx or a partial write', async () => {
    await phase('forms and commands', async () => {
      for (const route of routes.filter((r) => isMutating(r) && !isDeletion(r))) {
        for (const spec of specs[keyOf(route)] ?? []) {
          await exercise(route, spec);
        }
      }
      if (Object.prototype.hasOwnProperty.call(Object.prototype, 'isAdmin'))
        probe.violations.add('Object.prototype', 'isAdmin', 'polluted by a request body');
    });
  });

  it('reads: hostile ids and query strings get a 4xx or are ignored, never a 5xx, never a write, never raw markup', async () => {
    await phase('reads', async () => {
      const requests: { req: Request; expect: Expectation }[] = [];
      // Query strings stay under Node's 16 kB header limit (beyond it Node answers 431 before the app sees anything).
      const queryValues = strings.filter(
        (h) => h.text !== undefined && !h.jsonOnly && encodeURIComponent(h.text).length <= 12_000,
      );
      for (const route of routes.filter((r) => r.method === 'GET')) {
        const real = hasParam(route.path) ? fillPath(route.path, realIdFor(route.path, fx)) : route.path;
        if (hasParam(route.path)) {
          const at = route.path;
          for (const id of HOSTILE_IDS)
            requests.push({
              req: { method: 'GET', path: fillPath(route.path, id.segment) },
              expect: { at, key: 'id', value: show(id.label), refuse: true },
            });
          // A test-email id of the right shape that never ran is answered "none", like the console's fragment.
          if (!route.path.includes(':workflowId'))
            requests.push({
              req: { method: 'GET', path: fillPath(route.path, nonExistentId(route.path)) },
              expect: { at, key: 'id', value: 'non-existent', refuse: true },
            });
          if (!isApi(route.path))
            requests.push({
              req: { method: 'GET', path: fillPath(route.path, 'abc'), headers: { 'HX-Request': 'true' } },
              expect: { at, key: 'id', value: '"abc" (htmx)', refuse: true },
            });
        }
        requests.push({ req: { method: 'GET', path: real }, expect: { key: 'id', value: 'real' } });
        for (const h of queryValues) {
          // Dates are checked first (a bad one is a 400), so they go separately: otherwise they would hide the other keys.
          const groups =
            (h.text ?? '').length > 200 ? [['q']] : [QUERY_KEYS.filter((k) => !DATE_KEYS.includes(k)), DATE_KEYS];
          for (const keys of groups) {
            requests.push({
              req: {
                method: 'GET',
                path: `${real}?${keys.map((k) => `${k}=${encodeURIComponent(h.text ?? '')}`).join('&')}`,
              },
              expect: { at: real, key: `query ${keys.length > 2 ? '(all keys)' : keys.join(',')}`, value: h.label },
            });
          }
        }
        requests.push({
          req: { method: 'GET', path: `${real}?${QUERY_KEYS.map((k) => `${k}=1&${k}=2&${k}[]=3`).join('&')}` },
          expect: { at: real, key: 'query', value: 'repeated keys' },
        });
        requests.push({
          req: { method: 'GET', path: `${real}?page=99999999999&pageSize=-5&limit=1e9&before=99999999999999999999` },
          expect: { at: real, key: 'query', value: 'huge numbers' },
        });
      }
      for (let i = 0; i < requests.length; i += 8) await probe.reads(requests.slice(i, i + 8));
    });
  });

  it('deletions: hostile ids and bodies are refused; the real one goes through cleanly', async () => {
    await phase('deletions', async () => {
      for (const route of routes.filter((r) => isMutating(r) && isDeletion(r))) {
        for (const spec of specs[keyOf(route)] ?? []) await exercise(route, spec);
      }
    });
  });

  it('an IDN certificate name is stored (and scheduled) as punycode; an RTL override is refused', async () => {
    const body = {
      commonName: 'bücher.example.test',
      customerId: fx.customerId,
      dnsProviderId: fx.providerId,
      acmeDirectoryId: fx.directoryId,
    };
    const created = await c.api(token, 'POST', '/api/v1/certificates', body);
    assert.equal(created.status, 201, created.text);
    const id = (created.json as { id: string }).id;
    const [row] = await c.db.db.query<{ common_name: string }>('SELECT common_name FROM certificates WHERE id = $1', [
      id,
    ]);
    assert.equal(row?.common_name, 'xn--bcher-kva.example.test');
    const schedule = await c.deps.temporal.client.schedule.getHandle(renewalScheduleId(id)).describe();
    assert.equal(schedule.memo?.['commonName'], 'xn--bcher-kva.example.test');

    const before = await probe.snapshot();
    const refused = await c.api(token, 'POST', '/api/v1/certificates', {
      ...body,
      commonName: 'www.exa\u202Eelpmaxe.test',
    });
    assert.equal(refused.status, 400, refused.text);
    assert.ok((refused.json as { fields?: Record<string, string> }).fields?.['commonName'], refused.text);
    assert.deepEqual(changedTables(before, await probe.snapshot()), []);
  });

  it('sign-in answers its throttle with a 429 and a message, never a 5xx', async () => {
    const client = new ConsoleClient(c.url);
    await client.get('/login');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i += 1) {
      const reply = await client.post('/login', { username: `nobody-${i}`, password: 'wrong-password' });
      statuses.push(reply.status);
      if (reply.status === 429) assert.match(reply.text, /class="error"[^>]*>\s*Too many sign-in attempts/);
    }
    assert.ok(
      statuses.every((s) => s === 401 || s === 429),
      `statuses: ${statuses.join(', ')}`,
    );
    assert.ok(statuses.includes(429), 'the rate limit applies');
  });
});

describe('sign-in with hostile input', () => {
  let c: ConsoleApp;
  let username: string;
  let strings: Hostile[];

  before(async () => {
    // Limits out of the way, so every attempt reaches the handler.
    c = await startConsoleApp({
      login: { maxFailures: 1_000, lockMs: 60_000, rateLimit: 100_000, rateWindowMs: 60_000 },
    });
    username = (await c.addUser('technician', 'signin-user')).username;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    strings = stringCorpus(
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
  });
  after(async () => {
    await c?.stop();
  });

  it('hostile usernames, passwords and bodies get 400/401/413/415/423/429 with a message, and sign nobody in', async () => {
    const client = new ConsoleClient(c.url);
    await client.get('/login');
    // Before sign-in the form's CSRF token belongs to the certfleet.csrf cookie (no session yet).
    const creds = (): Credentials => ({
      cookie: ['certfleet.sid', 'certfleet.csrf']
        .flatMap((name) => (client.cookie(name) ? [`${name}=${client.cookie(name) ?? ''}`] : []))
        .join('; '),
      csrf: client.csrf,
      token: '',
    });
    const violations: string[] = [];
    const form = 'application/x-www-form-urlencoded';
    const attempts: { what: string; req: Request; status?: number }[] = [];
    /** A sign-in attempt posting `data` as `contentType` (both absent: no body); `status` when only one answer will do. */
    const signIn = (what: string, contentType?: string, data?: string, status?: number) => ({
      what,
      req: { method: 'POST', path: '/login', contentType, data },
      ...(status ? { status } : {}),
    });
    const signInForm = (what: string, user: string, password: string, status?: number) =>
      signIn(
        what,
        form,
        formText([
          ['username', user],
          ['password', password],
        ]),
        status,
      );
    for (const h of strings.filter((s) => !s.jsonOnly && !s.tags.includes('huge'))) {
      attempts.push(signInForm(`username=${h.label}`, h.text ?? '', 'wrong-password'));
      attempts.push(signInForm(`password=${h.label}`, username, h.text ?? ''));
    }
    attempts.push(
      signIn('username repeated', form, `username=${username}&username=${username}&password=${ROLE_PASSWORD}`),
      signIn('password repeated', form, `username=${username}&password=${ROLE_PASSWORD}&password=${ROLE_PASSWORD}`),
      signIn('JSON body', 'application/json', JSON.stringify({ username, password: ROLE_PASSWORD })),
      signIn('text/plain body', 'text/plain', `username=${username}`),
      signIn('no body'),
      signInForm('300k body', username, 'a'.repeat(300_000), 413),
      signIn('utf-16 charset', `${form}; charset=utf-16`, 'username=x'),
    );
    for (const { what, req, status } of attempts) {
      const reply = await send(c.url, creds(), req);
      const problems = judge(req, reply, {
        key: 'POST /login',
        value: what,
        refuse: true,
        ...(status ? { status } : {}),
      });
      if (reply.status < 500 && ![400, 401, 413, 415, 423, 429].includes(reply.status))
        problems.push('not a sign-in refusal');
      for (const p of problems) violations.push(`POST /login ${what} → ${reply.status}: ${p}`);
    }

    // A correct sign-in with a hostile `next` stays on this site.
    for (const next of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example/',
      '/%0d%0aSet-Cookie:%20x=1',
      `/${SCRIPT}`,
      'javascript:alert(1)',
    ]) {
      const fresh = new ConsoleClient(c.url);
      await fresh.get('/login');
      const reply = await fresh.post('/login', { username, password: ROLE_PASSWORD, next });
      const location = reply.location ?? '';
      if (reply.status !== 303 || !location.startsWith('/') || /^\/[/\\]/.test(location))
        violations.push(`POST /login next=${show(next)} → ${reply.status}: redirected to ${show(location)}`);
    }
    if (violations.length > 0) assert.fail(`${violations.length} violation(s):\n${violations.join('\n')}`);
  });
});
