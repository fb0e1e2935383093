/**
 * The SonicWall deployer against test/fakes/sonicwall and a real FTP server (ftp-srv): the shared
 * deployer contract, the fake's own fidelity (docs/vendors/sonicwall.md), and SonicWall-specific cases
 * (one session at a time, pending changes, the FTP drop).
 *
 *   npx tsx --test test/unit/deployer-sonicwall.test.ts
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPfx, type PfxAlgorithm } from '../../activities/crypto/pem';
import {
  createDeviceHttp,
  FormData,
  type DeviceHttp,
  type DeviceRequest,
  type DeviceResponse,
} from '../../activities/deployers/device-http';
import { DigestSigner, nextNonceOf, parseDigestChallenges } from '../../activities/deployers/sonicwall/digest';
import { objectName } from '../../activities/deployers/naming';
import { sonicPathSegment } from '../../activities/deployers/sonicwall/client';
import { sonicwallDescriptor } from '../../activities/deployers/sonicwall/descriptor';
import {
  chapDigest,
  createSonicWallDeployer,
  createSonicWallDeployerWith,
  isSessionBusy,
  SONICWALL_NAME_RULES,
} from '../../activities/deployers/sonicwall/index';
import type {
  CertificateMaterial,
  Deployer,
  DeployerContext,
  ManagementTrust,
  StagedObjects,
} from '../../activities/deployers/types';
import { verifyServedFingerprint } from '../../activities/deployers/verify-served';
import { withWireTranscript, type WireExchange } from '../../activities/deployers/wire-transcript';
import { WireRedactor } from '../../activities/domain/wire-redaction';
import { ClassifiedError } from '../../activities/errors';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../temporal/contract';
import {
  redactPath,
  startFakeSonicWall,
  type FakeSonicWall,
  type FakeSonicWallOptions,
} from '../fakes/sonicwall/server';
import { assertChecks, assertChecksPassed, assertFailure, rejection as rejectionOf } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';
import { closing } from '../support/closing';
import { SONICWALL_FTP_OPTIONS } from '../support/appliance-targets';
import { runDeployerContract } from '../support/deployer-contract';
import { startFtpServer, type TestFtpServer } from '../support/ftp';
import { pinnedTarget } from '../support/pinned-target';
import { servedChainFingerprints } from '../support/served-chain';

const USER = 'certfleet';
const PASSWORD = 'SwAdminSECRET-0123456789';
const WRONG_PASSWORD = 'SwWrongSECRET-9876543210';
const HUMAN = 'admin';
const HUMAN_PASSWORD = 'HumanAdminSECRET-4242';
const FTP_PASSWORD = 'FtpSECRET0123456789';
const FTP_DIR = 'certfleet';
const USERS = { [USER]: PASSWORD, [HUMAN]: HUMAN_PASSWORD };
/** SonicOS 6.5 has no upload path: the FTP pull is the import there (docs/vendors/sonicwall.md). */
const SONICOS_65 = { firmware: 'SonicOS Enhanced 6.5.4.4-44n', model: 'NSA 2650' };
/** What the fake reports for both services while they still use the built-in self-signed certificate. */
const NOTHING_BOUND = { webManagement: { use_self_signed: true }, sslVpn: { use_self_signed: true } };
/** The PKCS#12 file a person would upload by hand (password `pfxPass123`; AES-256 unless `algorithm` says otherwise). */
const pfxOf = (v: CertificateMaterial, algorithm?: PfxAlgorithm): Buffer =>
  buildPfx({ keyPem: v.keyPem, certPem: v.certPem, chainPems: v.chainPems, password: 'pfxPass123', algorithm });
/** A SonicOS refusal (HTTP 400 with its status code and message), for `fake.failNext`. */
const refused = (code: string, message: string) => ({ status: 400, code, message });

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

interface ContextInput {
  binding?: Record<string, unknown>;
  options?: Record<string, unknown>;
  credentials?: Partial<Record<'username' | 'password' | 'ftpPassword', string>>;
  /** Versions this run deploys (binding web management replaces the management certificate). */
  versions?: CertificateMaterial[];
  trust?: ManagementTrust;
  /** No FTP drop on the target (SonicOS 7 needs none). */
  noFtp?: boolean;
}

function contextFor(fake: FakeSonicWall, ftp: TestFtpServer, input: ContextInput = {}): DeployerContext {
  return {
    target: {
      ...pinnedTarget('target-sw', 'sw-test', fake, input),
      credentials: {
        username: USER,
        password: PASSWORD,
        ...(input.noFtp ? {} : { ftpPassword: ftp.password }),
        ...input.credentials,
      },
      options: {
        ...(input.noFtp ? {} : { ftpHost: ftp.host, ftpPort: ftp.port, ftpUser: ftp.user, ftpDirectory: FTP_DIR }),
        sslVpnPort: fake.endpoints.sslVpn.port,
        ...input.options,
      },
    },
    binding: input.binding ?? { webManagement: true, sslVpn: true },
  };
}

const use = <T>(ctx: DeployerContext, work: (d: Deployer) => Promise<T>): Promise<T> =>
  closing(createSonicWallDeployer(ctx), work);

const withFake = <T>(options: Partial<FakeSonicWallOptions>, work: (fake: FakeSonicWall) => Promise<T>): Promise<T> =>
  closing(startFakeSonicWall({ users: USERS, legacyPkcs12Only: true, ...options }), work);

/** Raw API access to the fake, pinned to its built-in certificate (plus `alsoAccept`). */
function raw(fake: FakeSonicWall, alsoAccept: string[] = []): DeviceHttp {
  return createDeviceHttp(
    { host: fake.host, port: fake.port, trust: { fingerprintSha256: fake.managementFingerprint(), alsoAccept } },
    'test',
  );
}

const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const info = (r: DeviceResponse): { code?: string; message?: string; level?: string } =>
  ((r.json as { status?: { info?: { code?: string; message?: string; level?: string }[] } } | undefined)?.status
    ?.info ?? [])[0] ?? {};
const success = (r: DeviceResponse): boolean | undefined =>
  (r.json as { status?: { success?: boolean } } | undefined)?.status?.success;

/** A raw API session: every call signed with the Digest parameters the login announced (session security). */
interface RawSession {
  response: DeviceResponse;
  /** `bytes` sent to the cert-key-pair import become the documented multipart body (`certPasswd` + file). */
  request(method: string, path: string, req?: DeviceRequest): Promise<DeviceResponse>;
}

/** Logs in over raw HTTP (Basic); later calls carry Digest headers when the login announced them. */
async function rawLogin(
  http: DeviceHttp,
  user = HUMAN,
  password = HUMAN_PASSWORD,
  override = false,
): Promise<RawSession> {
  const response = await http.request('POST', '/api/sonicos/auth', {
    headers: basic(user, password),
    json: { override },
  });
  return rawSessionFor(http, response, user, password);
}

function rawSessionFor(http: DeviceHttp, response: DeviceResponse, user: string, password: string): RawSession {
  const offered = parseDigestChallenges(response.headers.get('authentication-info'))[0];
  const signer = offered ? new DigestSigner(user, password, offered) : undefined;
  return {
    response,
    async request(method, path, req = {}) {
      const upload = /\/import\/certificates\/cert-key-pair\/name\/[^/]+\/password\/([^/]+)$/.exec(path);
      let body: DeviceRequest = req;
      if (upload && req.bytes) {
        const form = new FormData();
        form.append('certPasswd', upload[1] ?? '');
        form.append('file', new Blob([new Uint8Array(req.bytes)]), 'cert.p12');
        body = { multipart: form };
      }
      const r = await http.request(method, path, {
        ...body,
        headers: { ...body.headers, ...(signer ? { authorization: signer.sign(method, path) } : {}) },
      });
      const next = nextNonceOf(r.headers.get('authentication-info'));
      if (next) signer?.renew({ nonce: next });
      return r;
    },
  };
}

/** Fingerprints of the certificates a TLS endpoint on this machine sends, leaf first. */
const peerChain = (port: number): Promise<string[]> => servedChainFingerprints({ host: '127.0.0.1', port });

const dropFiles = (ftp: TestFtpServer): string[] => ftp.files().filter((f) => f.startsWith(`${FTP_DIR}/`));

// ---------------------------------------------------------------------------------------------
// The shared contract, with a real FTP server and a fake that takes only 3DES PKCS#12 files

const contractFtps: TestFtpServer[] = [];
/**
 * The whole contract runs three times against the strict fake: SonicOS 7 with session security on
 * (the default: Digest on every call) and off, both without any FTP server on the target, and
 * SonicOS 6.5, which imports over FTP. Every run ends with no session left open.
 */
function sonicwallContract(label: string, fakeOptions: Partial<FakeSonicWallOptions>, noFtp: boolean): void {
  runDeployerContract({
    vendor: `sonicwall (${label})`,
    create: createSonicWallDeployer,
    async setup() {
      const ftp = await startFtpServer({ password: FTP_PASSWORD, directories: [FTP_DIR] });
      contractFtps.push(ftp);
      const fake = await startFakeSonicWall({ users: USERS, legacyPkcs12Only: true, ...fakeOptions });
      // The contract issues its versions before setup() but does not hand them over, so alsoAccept is
      // read lazily (each deployer builds its dispatcher when it is created): the fingerprints of the
      // certificates imported into the fake so far, i.e. exactly the contract's versions.
      const trust: ManagementTrust = {
        fingerprintSha256: fake.managementFingerprint(),
        get alsoAccept(): string[] {
          return fake.certificates().map((c) => c.fingerprintSha256);
        },
      };
      const context = contextFor(fake, ftp, { trust, noFtp });
      const view = fake.view();
      return {
        context,
        endpoints: [fake.endpoints.management, fake.endpoints.sslVpn],
        fake: {
          certificateObjects: () => view.certificateObjects(),
          mutatingCalls: () => view.mutatingCalls(),
          get secrets(): string[] {
            return [...view.secrets, FTP_PASSWORD, PASSWORD];
          },
          serveLeafOnly: (on: boolean) => view.serveLeafOnly?.(on),
        },
        withWrongCredentials: () => ({
          ...context,
          target: { ...context.target, credentials: { ...context.target.credentials, password: WRONG_PASSWORD } },
        }),
        async stop() {
          try {
            // Whatever the contract did, every session was closed and every uploaded file removed.
            assert.equal(fake.activeSessions(), 0, 'no session left open');
            assert.equal(fake.maxConcurrentSessions(), 1, 'never two sessions at once');
            assert.equal(fake.refusedLogins(), 0);
            assert.deepEqual(dropFiles(ftp), [], 'no file left on the FTP server');
            assert.ok(
              fake.calls.every((c) => c.override !== true),
              'never pre-empted anyone',
            );
            assert.ok(
              fake.calls.every((c) => !c.cookie),
              'never sent a cookie (SonicOS sets none)',
            );
            if (noFtp) assert.deepEqual(fake.ftpPulls, [], 'SonicOS 7: no FTP');
            else assert.ok(fake.ftpPulls.length > 0, 'SonicOS 6.5: imported over FTP');
          } finally {
            await fake.close();
            await ftp.close();
          }
        },
      };
    },
  });
}
sonicwallContract('SonicOS 7, session security on', {}, true);
sonicwallContract('SonicOS 7, session security off', { sessionSecurity: false }, true);
sonicwallContract('SonicOS 6.5, FTP import', SONICOS_65, false);
after(() => Promise.all(contractFtps.map((f) => f.close())));

// ---------------------------------------------------------------------------------------------
// Vendor cases

describe('sonicwall', () => {
  const ca = suiteTestCa();
  let ftp: TestFtpServer;
  before(async () => {
    ftp = await startFtpServer({ password: FTP_PASSWORD, directories: [FTP_DIR] });
  });
  after(async () => {
    await ftp?.close();
  });

  /** A fake with default settings, one version of `commonName`, its deploy context, and that version staged. */
  const withStaged = (
    commonName: string,
    work: (s: {
      fake: FakeSonicWall;
      v: CertificateMaterial;
      ctx: DeployerContext;
      staged: StagedObjects;
    }) => Promise<void>,
  ): Promise<void> =>
    withFake({}, async (fake) => {
      const v = ca.issue(commonName);
      const ctx = contextFor(fake, ftp, { versions: [v] });
      await work({ fake, v, ctx, staged: await use(ctx, (d) => d.stage(v)) });
    });

  describe('fake SonicWall (docs/vendors/sonicwall.md)', () => {
    it('Basic login sets NO cookie; session security: every later call needs a Digest header with a rising nonce count; logout ends the session', async () => {
      await withFake({ maxNonceUse: 3 }, async (fake) => {
        const http = raw(fake);
        try {
          const anonymous = await http.request('GET', '/api/sonicos/version');
          assert.equal(anonymous.status, 401);
          assert.deepEqual(anonymous.json, {
            status: {
              success: false,
              info: [{ level: 'error', code: 'E_UNAUTHORIZED', message: 'Not authenticated.' }],
            },
          });
          const challenges = parseDigestChallenges(anonymous.headers.get('www-authenticate'));
          assert.deepEqual(
            challenges.map((c) => c.algorithm),
            ['SHA-256', 'MD5'],
            'a Digest challenge per algorithm',
          );
          const wrong = await rawLogin(http, USER, WRONG_PASSWORD);
          assert.equal(wrong.response.status, 401);
          assert.equal(info(wrong.response).code, 'E_UNAUTHORIZED');

          const session = await rawLogin(http, USER, PASSWORD);
          const { response } = session;
          assert.equal(response.status, 200);
          assert.deepEqual(response.json, {
            status: { success: true, info: [{ level: 'info', code: 'E_OK', message: 'Success.' }] },
          });
          assert.deepEqual(
            response.headers.getSetCookie(),
            [],
            'SonicOS sets no session cookie (docs/vendors/sonicwall.md)',
          );
          assert.match(
            response.headers.get('authentication-info') ?? '',
            /^Digest algorithm=SHA-256, realm="[^"]+", qop="auth", nonce="[^"]+", opaque="[^"]+"$/,
          );
          // The logged-in client without a Digest header (a cookie-riding client) is refused with a challenge.
          const unsigned = await http.request('GET', '/api/sonicos/version', { headers: { cookie: 'SessId=0123' } });
          assert.equal(unsigned.status, 401);
          assert.ok(parseDigestChallenges(unsigned.headers.get('www-authenticate')).length > 0);
          // A replayed header (same nonce count) is refused.
          const challenge = parseDigestChallenges(unsigned.headers.get('www-authenticate'))[0];
          assert.ok(challenge);
          const header = new DigestSigner(USER, PASSWORD, challenge).sign('GET', '/api/sonicos/version');
          assert.equal(
            (await http.request('GET', '/api/sonicos/version', { headers: { authorization: header } })).status,
            200,
          );
          assert.equal(
            (await http.request('GET', '/api/sonicos/version', { headers: { authorization: header } })).status,
            401,
            'replay refused',
          );
          const version = await session.request('GET', '/api/sonicos/version', {});
          assert.equal(version.status, 200);
          assert.equal(success(version), true);
          assert.equal((version.json as Record<string, unknown>)['firmware_version'], 'SonicOS 7.0.1-5145');
          const unknown = await session.request('GET', '/api/sonicos/no-such-thing', {});
          assert.equal(unknown.status, 404);
          assert.equal(info(unknown).code, 'E_NOT_FOUND');

          // The nonce was used 3 times (maxNonceUse): the reply carried nextnonce, which the helper adopted.
          assert.equal((await session.request('GET', '/api/sonicos/version')).status, 200, 'nextnonce honoured');
          assert.equal((await session.request('DELETE', '/api/sonicos/auth', {})).status, 200);
          const after = await session.request('GET', '/api/sonicos/version', {});
          assert.equal(after.status, 401);
          assert.equal(success(after), false);
        } finally {
          await http.close();
        }
        assert.ok(
          fake.calls.every((c) => c.auth !== 'address'),
          'session security on: no call rode the address',
        );
        assert.equal(fake.activeSessions(), 0);
        assert.deepEqual(fake.loginsByUser, { [USER]: 1 });
        assert.ok(
          !JSON.stringify(fake.calls).includes(PASSWORD) && !JSON.stringify(fake.calls).includes(WRONG_PASSWORD),
          'no password recorded',
        );
      });
    });

    it('a second login while a session is open is refused (E_BUSY, naming the holder) unless it overrides', async () => {
      await withFake({}, async (fake) => {
        const http = raw(fake);
        try {
          const first = await rawLogin(http, HUMAN, HUMAN_PASSWORD);
          assert.equal(first.response.status, 200);
          const second = await rawLogin(http, USER, PASSWORD);
          assert.equal(second.response.status, 401);
          assert.equal(success(second.response), false);
          assert.equal(info(second.response).code, 'E_BUSY');
          assert.match(
            info(second.response).message ?? '',
            /Another administrator is logged in: admin \(API from 127\.0\.0\.1\)/,
          );
          assert.deepEqual(second.response.headers.getSetCookie(), [], 'no session for the refused login');
          // The same user cannot open a second session either.
          assert.equal((await rawLogin(http, HUMAN, HUMAN_PASSWORD)).response.status, 401);
          assert.equal(fake.refusedLogins(), 2);
          assert.equal(fake.activeSessions(), 1);
          assert.equal(
            (await first.request('GET', '/api/sonicos/version', {})).status,
            200,
            'the first session is untouched',
          );
        } finally {
          await http.close();
        }
        assert.equal(fake.maxConcurrentSessions(), 1);
      });
    });

    it('override kicks the open session: its pending changes are dropped and its next call fails', async () => {
      await withFake({}, async (fake) => {
        const http = raw(fake);
        const v = ca.issue('override.example.test');
        try {
          const human = await rawLogin(http, HUMAN, HUMAN_PASSWORD);
          const pfx = pfxOf(v, '3des');
          const put = await human.request(
            'PUT',
            '/api/sonicos/import/certificates/cert-key-pair/name/by-hand/password/pfxPass123',
            { bytes: pfx },
          );
          assert.equal(put.status, 200, put.text);
          const pending = await human.request('GET', '/api/sonicos/config/pending', {});
          assert.deepEqual((pending.json as Record<string, unknown>)['pending'], [
            { action: 'import', object: 'certificate', name: 'by-hand' },
          ]);

          const robot = await rawLogin(http, USER, PASSWORD, true);
          assert.equal(robot.response.status, 200);
          const kicked = await human.request('POST', '/api/sonicos/config/pending', { json: {} });
          assert.equal(kicked.status, 401);
          assert.match(info(kicked).message ?? '', /pre-empted by another administrator \(certfleet\)/);
          assert.equal(fake.droppedChanges(), 1);
          assert.deepEqual(fake.certificates(), [], 'the pending import was never committed');
          assert.equal(fake.activeSessions(), 1);
          assert.deepEqual(
            fake.sessions().map((s) => [s.user, s.state]),
            [
              [HUMAN, 'preempted'],
              [USER, 'active'],
            ],
          );
        } finally {
          await http.close();
        }
        assert.equal(fake.maxConcurrentSessions(), 1);
      });
    });

    it('pending changes are visible in their session only, committed by POST, dropped at logout and at the idle timeout', async () => {
      await withFake({ idleTimeoutMs: 1_500 }, async (fake) => {
        const http = raw(fake);
        const v = ca.issue('pending.example.test');
        const pfx = pfxOf(v, '3des');
        try {
          // Logout drops an uncommitted import.
          let s = await rawLogin(http, USER, PASSWORD);
          assert.equal(
            (
              await s.request(
                'PUT',
                '/api/sonicos/import/certificates/cert-key-pair/name/dropped/password/pfxPass123',
                { bytes: pfx },
              )
            ).status,
            200,
          );
          const listed = await s.request('GET', '/api/sonicos/reporting/certificates', {});
          assert.deepEqual(
            (listed.json as { certificate: string }[]).map((c) => c.certificate),
            ['dropped'],
            'the session sees its pending import',
          );
          await s.request('DELETE', '/api/sonicos/auth', {});
          assert.deepEqual(fake.certificates(), []);
          assert.equal(fake.droppedChanges(), 1);

          // The idle timeout drops it too, and the session is gone.
          s = await rawLogin(http, USER, PASSWORD);
          assert.equal(
            (
              await s.request(
                'PUT',
                '/api/sonicos/import/certificates/cert-key-pair/name/timed-out/password/pfxPass123',
                { bytes: pfx },
              )
            ).status,
            200,
          );
          await new Promise((resolve) => setTimeout(resolve, 1_700));
          const expired = await s.request('POST', '/api/sonicos/config/pending', { json: {} });
          assert.equal(expired.status, 401);
          assert.equal(info(expired).message, 'Session expired.');
          assert.deepEqual(fake.certificates(), []);
          assert.equal(fake.droppedChanges(), 2);

          // Committed changes stay; DELETE config/pending discards.
          s = await rawLogin(http, USER, PASSWORD);
          await s.request('PUT', '/api/sonicos/import/certificates/cert-key-pair/name/kept/password/pfxPass123', {
            bytes: pfx,
          });
          assert.equal((await s.request('POST', '/api/sonicos/config/pending', { json: {} })).status, 200);
          await s.request('PUT', '/api/sonicos/administration/global', {
            json: { administration: { web_management: { certificate: { name: 'kept' } } } },
          });
          assert.equal((await s.request('DELETE', '/api/sonicos/config/pending', {})).status, 200);
          await s.request('DELETE', '/api/sonicos/auth', {});
        } finally {
          await http.close();
        }
        assert.deepEqual(
          fake.certificates().map((c) => c.name),
          ['kept'],
        );
        assert.deepEqual(
          fake.bindings().webManagement,
          { use_self_signed: true },
          'the discarded binding never applied',
        );
      });
    });

    it('CHAP: challenge, then MD5 over id, password and challenge; a digest for another password is refused', async () => {
      await withFake({}, async (fake) => {
        const http = raw(fake);
        try {
          const challenge = await http.request('GET', '/api/sonicos/auth');
          const body = challenge.json as { id: string; challenge: string };
          assert.match(body.id, /^[0-9a-f]{2}$/);
          assert.match(body.challenge, /^[0-9a-f]{32}$/);
          const bad = await http.request('POST', '/api/sonicos/auth', {
            json: {
              override: false,
              id: body.id,
              user: USER,
              digest: chapDigest(body.id, WRONG_PASSWORD, body.challenge),
            },
          });
          assert.equal(bad.status, 401);
          const again = (await http.request('GET', '/api/sonicos/auth')).json as { id: string; challenge: string };
          const good = await http.request('POST', '/api/sonicos/auth', {
            json: {
              override: false,
              id: again.id,
              user: USER,
              digest: chapDigest(again.id, PASSWORD, again.challenge),
            },
          });
          assert.equal(good.status, 200, good.text);
          assert.equal(
            (await rawSessionFor(http, good, USER, PASSWORD).request('GET', '/api/sonicos/version')).status,
            200,
          );
        } finally {
          await http.close();
        }
        assert.deepEqual(
          fake.calls.filter((c) => c.method === 'POST').map((c) => [c.auth, c.status]),
          [
            ['chap', 401],
            ['chap', 200],
          ],
        );
      });
    });

    it('E_DISABLED: the API switched off answers 403 "Service disabled." to everything', async () => {
      await withFake({ apiDisabled: true }, async (fake) => {
        const http = raw(fake);
        try {
          const r = await rawLogin(http, USER, PASSWORD);
          assert.equal(r.response.status, 403);
          assert.deepEqual(r.response.json, {
            status: { success: false, info: [{ level: 'error', code: 'E_DISABLED', message: 'Service disabled.' }] },
          });
        } finally {
          await http.close();
        }
      });
    });

    it('a bound certificate cannot be deleted; the binding body is read-modify-write and validated', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('bound.example.test');
        const staged = await use(contextFor(fake, ftp, { versions: [v], binding: { sslVpn: true } }), (d) =>
          d.stage(v),
        );
        await use(contextFor(fake, ftp, { versions: [v], binding: { sslVpn: true } }), (d) => d.activate(staged));
        const http = raw(fake, [v.fingerprintSha256]);
        try {
          const s = await rawLogin(http, USER, PASSWORD);
          const refused = await s.request('DELETE', `/api/sonicos/certificates/name/${staged['cert'] ?? ''}`);
          assert.equal(refused.status, 400);
          assert.equal(info(refused).code, 'E_IN_USE');
          assert.match(info(refused).message ?? '', /in use by SSL VPN/);
          const both = await s.request('PUT', '/api/sonicos/ssl-vpn/server/base', {
            json: { ssl_vpn: { server: { certificate: { name: staged['cert'], use_self_signed: true } } } },
          });
          assert.equal(both.status, 400);
          const unknown = await s.request('PUT', '/api/sonicos/ssl-vpn/server/base', {
            json: { ssl_vpn: { server: { certificate: { name: 'nope' } } } },
          });
          assert.equal(info(unknown).code, 'E_INVALID');
          const server = (
            (await s.request('GET', '/api/sonicos/ssl-vpn/server/base', {})).json as {
              ssl_vpn: { server: Record<string, unknown> };
            }
          ).ssl_vpn.server;
          assert.deepEqual(server['certificate'], { name: staged['cert'] });
          assert.equal(server['port'], fake.endpoints.sslVpn.port);
          await s.request('DELETE', '/api/sonicos/auth', {});
        } finally {
          await http.close();
        }
        assert.deepEqual(
          fake.certificates().map((c) => c.name),
          [staged['cert']],
        );
      });
    });

    it('PKCS#12: 3DES accepted; AES refused by legacy firmware; a wrong password is a clear error; the chain is kept', async () => {
      await withFake({}, async (fake) => {
        const http = raw(fake);
        const v = ca.issue('p12.example.test', 'rsa-2048');
        try {
          const s = await rawLogin(http, USER, PASSWORD);
          const aes = pfxOf(v);
          const modern = await s.request(
            'PUT',
            '/api/sonicos/import/certificates/cert-key-pair/name/aes/password/pfxPass123',
            { bytes: aes },
          );
          assert.equal(info(modern).code, 'E_CERT_FORMAT');
          const des = pfxOf(v, '3des');
          const wrong = await s.request(
            'PUT',
            '/api/sonicos/import/certificates/cert-key-pair/name/des/password/otherPass',
            { bytes: des },
          );
          assert.equal(wrong.status, 400);
          assert.equal(info(wrong).code, 'E_CERT_PASSWORD');
          const good = await s.request(
            'PUT',
            '/api/sonicos/import/certificates/cert-key-pair/name/des/password/pfxPass123',
            { bytes: des },
          );
          assert.equal(good.status, 200, good.text);
          const dup = await s.request(
            'PUT',
            '/api/sonicos/import/certificates/cert-key-pair/name/des/password/pfxPass123',
            { bytes: des },
          );
          assert.equal(info(dup).code, 'E_EXISTS');
          await s.request('POST', '/api/sonicos/config/pending', { json: {} });
          await s.request('DELETE', '/api/sonicos/auth', {});
        } finally {
          await http.close();
        }
        assert.deepEqual(fake.certificates(), [
          {
            name: 'des',
            fingerprintSha256: v.fingerprintSha256,
            serialHex: v.serialHex.toLowerCase(),
            chainLength: 1,
            via: 'upload',
          },
        ]);
        assert.ok(
          fake.calls.every((c) => !c.path.includes('pfxPass123') && !c.path.includes('otherPass')),
          'no PFX password recorded',
        );
      });
    });

    it('records FTP import URLs without their passwords', () => {
      assert.equal(
        redactPath(
          '/api/sonicos/certificates/import/cert-key-pair-ftp/name/a/password/Secret1/url/ftp:%2f%2fuser:FtpPass@127.0.0.1:21/d/f.p12/',
        ),
        '/api/sonicos/certificates/import/cert-key-pair-ftp/name/a/password/[omitted]/url/ftp:%2f%2fuser:[omitted]@127.0.0.1:21/d/f.p12/',
      );
    });
  });

  describe('deployer', () => {
    it('stage pulls the PKCS#12 over FTP (3DES, path-encoded URL), commits, deletes the file, and logs out', async () => {
      await withFake(SONICOS_65, async (fake) => {
        const v = ca.issue('stage.example.test');
        const staged = await use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v));
        const name = objectName(v.commonName, v.serialHex, SONICWALL_NAME_RULES);
        assert.deepEqual(staged, { cert: name });
        assert.deepEqual(fake.certificates(), [
          {
            name,
            fingerprintSha256: v.fingerprintSha256,
            serialHex: v.serialHex.toLowerCase(),
            chainLength: 1,
            via: 'ftp',
          },
        ]);

        const imports = fake.calls.filter((c) => c.path.includes('/cert-key-pair-ftp/'));
        assert.equal(imports.length, 1);
        const escapedName = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        const pattern = new RegExp(
          `^/api/sonicos/certificates/import/cert-key-pair-ftp/name/${escapedName}/password/\\[omitted\\]/url/ftp:%2f%2f${ftp.user}:\\[omitted\\]@127\\.0\\.0\\.1:${ftp.port}/${FTP_DIR}/certfleet-[0-9a-f]{8}-[0-9a-f]{16}\\.p12/$`,
        );
        assert.match(imports[0]?.path ?? '', pattern);
        assert.deepEqual(
          fake.calls.map((c) => `${c.method} ${c.path.replace(/\/name\/.*/, '/…')} ${c.status}`),
          [
            // A session a crashed attempt may have left is ended first (Digest challenge, then the signed logout).
            'DELETE /api/sonicos/auth 401',
            'DELETE /api/sonicos/auth 200',
            'POST /api/sonicos/auth 200',
            'GET /api/sonicos/version 200',
            'GET /api/sonicos/reporting/certificates 200',
            'POST /api/sonicos/certificates/import/cert-key-pair-ftp/… 200',
            'POST /api/sonicos/config/pending 200',
            'GET /api/sonicos/config/pending 200',
            'GET /api/sonicos/reporting/certificates 200',
            'GET /api/sonicos/reporting/certificates/… 200',
            'DELETE /api/sonicos/auth 200',
          ],
        );
        assert.deepEqual(dropFiles(ftp), [], 'the uploaded file is gone');
        const file = fake.ftpPulls[0]?.url.split('/').pop() ?? '';
        assert.deepEqual(
          ftp.events.filter((e) => e.path.endsWith(file)).map((e) => e.kind),
          ['upload', 'download', 'delete'],
        );
        assert.equal(fake.activeSessions(), 0);
        assert.deepEqual(fake.bindings(), NOTHING_BOUND, 'stage binds nothing');
        const pfxPassword =
          fake.view().secrets.find((s) => s !== PASSWORD && s !== HUMAN_PASSWORD && s !== FTP_PASSWORD) ?? '';
        assert.match(pfxPassword, /^[A-Za-z0-9]{24}$/, 'a random PFX password of safe characters');
      });
    });

    it('the FTP file is deleted and the session logged out when the import fails (download fails, or the device refuses the file)', async () => {
      await withFake(SONICOS_65, async (fake) => {
        const v = ca.issue('fail.example.test');
        // The firewall cannot reach the FTP server at the address it is given.
        const unreachable = contextFor(fake, ftp, { versions: [v], options: { ftpUrlHost: '127.0.0.2' } });
        const error = await rejection(use(unreachable, (d) => d.stage(v)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(
          error.message,
          /^sonicwall: import \S+ over FTP: E_FTP_DOWNLOAD: Failed to download the file from ftp:\/\/certfleet:\[omitted\]@127\.0\.0\.2:\d+\/certfleet\/certfleet-\S+\.p12/,
        );
        assert.match(error.message, /Check that the firewall reaches 127\.0\.0\.2:\d+/);
        assert.ok(!error.message.includes(FTP_PASSWORD));
        assert.equal(fake.ftpPulls.length, 1);
        assert.equal(fake.ftpPulls[0]?.ok, false);
        assert.deepEqual(dropFiles(ftp), []);
        assert.equal(fake.activeSessions(), 0);
        assert.equal(fake.calls.at(-1)?.path, '/api/sonicos/auth');
        assert.equal(fake.calls.at(-1)?.method, 'DELETE');

        fake.failNext(/cert-key-pair-ftp/, {
          status: 400,
          code: 'E_CERT_FORMAT',
          message: 'Failed to import the certificate: invalid file.',
          afterProcessing: true,
        });
        const refused = await rejection(use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v)));
        assert.equal(refused.type, FailureType.targetRejected);
        assert.match(refused.message, /E_CERT_FORMAT: Failed to import the certificate: invalid file\./);
        assert.deepEqual(dropFiles(ftp), []);
        assert.equal(fake.activeSessions(), 0);
        assert.deepEqual(fake.certificates(), [], 'the import staged before the failure was dropped at logout');

        // A transport failure during the import: same clean-up, retryable.
        fake.failNext(/cert-key-pair-ftp/, { status: 0, dropConnection: true });
        const dropped = await rejection(use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v)));
        assert.equal(dropped.type, FailureType.targetUnreachable);
        assert.deepEqual(dropFiles(ftp), []);
        assert.equal(fake.activeSessions(), 0);

        const staged = await use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v));
        assert.ok(staged['cert'], 'a retry succeeds');
        assert.equal(fake.maxConcurrentSessions(), 1);
      });
    });

    it('the FTP server refusing the deletion after the import: nothing is committed; the retry removes the file first', async () => {
      await withFake(SONICOS_65, async (fake) => {
        const v = ca.issue('undeletable.example.test');
        const ctx = contextFor(fake, ftp, { versions: [v] });
        // The firewall downloads the file, then the FTP server stops allowing deletions.
        fake.beforeNext(/cert-key-pair-ftp/, () => ftp.setReadOnly(true));
        try {
          const error = await rejection(use(ctx, (d) => d.stage(v)));
          assert.equal(error.type, FailureType.targetRejected);
          assert.match(
            error.message,
            /^sonicwall: delete certfleet\/certfleet-\S+\.p12 from ftp:.*the FTP server refused \(550 DELE: permission denied\).*The import was not committed; the next attempt removes the file first\.$/,
          );
        } finally {
          ftp.setReadOnly(false);
        }
        assert.deepEqual(fake.certificates(), [], 'the import died with the session');
        assert.equal(fake.droppedChanges(), 1);
        assert.equal(dropFiles(ftp).length, 1, 'the file is still there');
        assert.equal(fake.activeSessions(), 0);
        const staged = await use(ctx, (d) => d.stage(v));
        assert.ok(staged['cert']);
        assert.deepEqual(dropFiles(ftp), [], 'the retry removed the leftover and its own file');
      });
    });

    it("a leftover file of an interrupted attempt is removed by the next stage; other targets' files are left alone", async () => {
      await withFake(SONICOS_65, async (fake) => {
        const v = ca.issue('leftover.example.test');
        // The prefix is derived from the target id; find it from a probe (preflight uploads and deletes one).
        await use(contextFor(fake, ftp), (d) => d.preflight());
        const probe = ftp.events.filter((e) => e.kind === 'upload').at(-1)?.path ?? '';
        const prefix = /\/(certfleet-[0-9a-f]{8}-)/.exec(probe)?.[1] ?? '';
        assert.ok(prefix, probe);
        writeFileSync(path.join(ftp.root, FTP_DIR, `${prefix}0123456789abcdef.p12`), 'stale');
        writeFileSync(path.join(ftp.root, FTP_DIR, 'certfleet-ffffffff-0123456789abcdef.p12'), 'someone else');
        await use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v));
        assert.deepEqual(dropFiles(ftp), [`${FTP_DIR}/certfleet-ffffffff-0123456789abcdef.p12`]);
      });
      rmSync(path.join(ftp.root, FTP_DIR, 'certfleet-ffffffff-0123456789abcdef.p12'));
    });

    it('a refused login (someone is logged in) is DEVICE_SESSION_BUSY naming the holder; CertFleet never overrides by default', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('busy.example.test');
        const human = fake.holdSession({ user: HUMAN, address: '192.0.2.10' });
        const error = await rejection(use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v)));
        assert.equal(error.type, FailureType.deviceSessionBusy);
        assert.ok(!NON_RETRYABLE_FAILURES.includes(error.type), 'retried later');
        assert.equal(error.retryAfterMs, 60_000);
        assert.match(
          error.message,
          /^sonicwall: login as "certfleet" was refused because another session holds the firewall: "Another administrator is logged in: admin \(GUI from 192\.0\.2\.10\)/,
        );
        assert.match(error.message, /does not pre-empt it/);
        assert.equal(human.state(), 'active', 'the human was not kicked');
        assert.deepEqual(
          fake.calls.map((c) => [c.method, c.path, c.status, c.override]),
          [
            ['DELETE', '/api/sonicos/auth', 401, undefined],
            ['DELETE', '/api/sonicos/auth', 200, undefined],
            ['POST', '/api/sonicos/auth', 401, false],
          ],
          "the leftover-session cleanup ends only CertFleet's own API session, then the login is refused",
        );
        assert.deepEqual(dropFiles(ftp), [], 'nothing uploaded');

        // Preflight reports busy as a failed check (no exception) and still checks the FTP side.
        const report = await use(contextFor(fake, ftp), (d) => d.preflight());
        assertChecks(report, ['management TLS', 'login', 'FTP drop'], ['login']);
        assert.match(
          report.checks[1]?.detail ?? '',
          /^the firewall is busy: login as "certfleet" was refused .*admin \(GUI from 192\.0\.2\.10\)/,
        );
        assert.equal(report.firmware, undefined);

        // With a custom retry hint.
        const hinted = await rejection(
          createSonicWallDeployerWith({ busyRetryAfterMs: 5_000 })(contextFor(fake, ftp, { versions: [v] })).stage(v),
        );
        assert.equal(hinted.retryAfterMs, 5_000);

        human.release();
        assert.ok((await use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v)))['cert']);
        assert.ok(fake.calls.every((c) => c.override !== true));
      });
    });

    it('override on: deploy steps pre-empt the other session; preflight never does', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('kick.example.test');
        const ctx = contextFor(fake, ftp, { versions: [v], options: { override: true } });
        let human = fake.holdSession({ user: HUMAN });
        const report = await use(ctx, (d) => d.preflight());
        assert.equal(report.checks.find((c) => c.name === 'login')?.ok, false);
        assert.match(
          report.checks.find((c) => c.name === 'login')?.detail ?? '',
          /never pre-empts anyone for a connection test/,
        );
        assert.equal(human.state(), 'active');

        const staged = await use(ctx, (d) => d.stage(v));
        assert.equal(human.state(), 'preempted');
        human = fake.holdSession({ user: HUMAN });
        await use(ctx, (d) => d.activate(staged));
        assert.equal(human.state(), 'preempted');
        assert.deepEqual(fake.bindings().sslVpn, { name: staged['cert'] });
        assert.equal(fake.maxConcurrentSessions(), 1);
      });
    });

    it('another administrator pre-empting CertFleet mid-step: DEVICE_SESSION_BUSY, nothing half-done, the file still deleted', async () => {
      await withFake(SONICOS_65, async (fake) => {
        const v = ca.issue('preempted.example.test');
        fake.beforeNext(/cert-key-pair-ftp/, () => void fake.holdSession({ user: HUMAN, override: true }));
        const error = await rejection(use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v)));
        assert.equal(error.type, FailureType.deviceSessionBusy);
        assert.match(
          error.message,
          /another administrator pre-empted CertFleet's session .*dropped the uncommitted changes/,
        );
        assert.deepEqual(fake.certificates(), []);
        assert.deepEqual(dropFiles(ftp), []);
        assert.equal(fake.activeSessions(), 1, 'only the human is logged in');
      });
    });

    it('CHAP login works end to end; Basic disabled answers an empty 401 that the deployer explains', async () => {
      await withFake({ basicAuth: false }, async (fake) => {
        const v = ca.issue('chap.example.test');
        const basicCtx = contextFor(fake, ftp, { versions: [v] });
        const refused = await rejection(use(basicCtx, (d) => d.preflight()));
        assert.equal(refused.type, FailureType.targetAuth);
        assert.match(refused.message, /empty HTTP 401\. Basic authentication is probably disabled/);

        const chap = contextFor(fake, ftp, { versions: [v], options: { authMethod: 'chap' } });
        const report = await use(chap, (d) => d.preflight());
        assert.ok(
          report.checks.every((c) => c.ok),
          JSON.stringify(report.checks),
        );
        const staged = await use(chap, (d) => d.stage(v));
        await use(chap, (d) => d.activate(staged));
        await verifyServedFingerprint(
          'sonicwall',
          [fake.endpoints.management, fake.endpoints.sslVpn],
          v.fingerprintSha256,
        );
        const logins = fake.calls.filter((c) => c.method === 'POST' && c.path === '/api/sonicos/auth');
        assert.deepEqual([...new Set(logins.map((c) => `${c.auth} ${c.status}`))], ['basic 401', 'chap 200']);
        assert.equal(fake.activeSessions(), 0);
        const wrong = await rejection(
          use(
            contextFor(fake, ftp, {
              versions: [v],
              options: { authMethod: 'chap' },
              credentials: { password: WRONG_PASSWORD },
            }),
            (d) => d.preflight(),
          ),
        );
        assert.equal(wrong.type, FailureType.targetAuth);
      });
    });

    it('E_DISABLED: TARGET_PERMISSION_DENIED telling where to enable the API', async () => {
      await withFake({ apiDisabled: true }, async (fake) => {
        const error = await rejection(use(contextFor(fake, ftp), (d) => d.preflight()));
        assert.equal(error.type, FailureType.targetPermission);
        assert.match(
          error.message,
          /^sonicwall: login as "certfleet": the SonicOS API is disabled on the firewall \(E_DISABLED "Service disabled\."\)\. Enable it under Device → Settings → Administration → SonicOS API/,
        );
        const chap = await rejection(
          use(contextFor(fake, ftp, { options: { authMethod: 'chap' } }), (d) => d.preflight()),
        );
        assert.equal(chap.type, FailureType.targetPermission);
      });
    });

    it('a first login that demands a new password is TARGET_AUTH_FAILED, and the session is closed', async () => {
      await withFake({ passwordUpdateRequired: [USER] }, async (fake) => {
        const error = await rejection(use(contextFor(fake, ftp), (d) => d.preflight()));
        assert.equal(error.type, FailureType.targetAuth);
        assert.match(error.message, /API_AUTH_PASSWORD_UPDATE/);
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('activate binds both services in one commit and returns the previous use_self_signed; rollback restores it as such', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('bind.example.test');
        const ctx = contextFor(fake, ftp, { versions: [v] });
        const report = await use(ctx, (d) => d.preflight());
        assert.deepEqual(report.changes, [
          'web management: self-signed → new certificate',
          'SSL-VPN: self-signed → new certificate',
        ]);
        assert.equal(report.firmware, 'SonicOS 7.0.1-5145');
        const staged = await use(ctx, (d) => d.stage(v));
        const before = fake.calls.length;
        const activation = await use(ctx, (d) => d.activate(staged));
        assert.deepEqual(activation, { previous: { sslVpnSelfSigned: 'true', webManagementSelfSigned: 'true' } });
        assert.deepEqual(
          fake.calls.slice(before).map((c) => `${c.method} ${c.path}`),
          [
            'DELETE /api/sonicos/auth',
            'DELETE /api/sonicos/auth',
            'POST /api/sonicos/auth',
            'GET /api/sonicos/ssl-vpn/server/base',
            'GET /api/sonicos/administration/global',
            'PUT /api/sonicos/ssl-vpn/server/base',
            'PUT /api/sonicos/administration/global',
            'POST /api/sonicos/config/pending',
            'GET /api/sonicos/config/pending',
            'DELETE /api/sonicos/auth',
          ],
        );
        assert.deepEqual(fake.bindings(), {
          webManagement: { name: staged['cert'] },
          sslVpn: { name: staged['cert'] },
        });
        await verifyServedFingerprint(
          'sonicwall',
          [fake.endpoints.management, fake.endpoints.sslVpn],
          v.fingerprintSha256,
        );
        const intermediate = new X509Certificate(ca.intermediatePem).fingerprint256.replace(/:/g, '').toLowerCase();
        for (const endpoint of [fake.endpoints.management, fake.endpoints.sslVpn]) {
          assert.deepEqual(
            (await peerChain(endpoint.port)).slice(0, 2),
            [v.fingerprintSha256, intermediate],
            'the leaf and the chain from the PKCS#12',
          );
        }

        // The management API now presents the new certificate: without alsoAccept the pin fails.
        const pinnedOnly = contextFor(fake, ftp, { trust: { fingerprintSha256: fake.managementFingerprint() } });
        assert.equal((await rejection(use(pinnedOnly, (d) => d.preflight()))).type, FailureType.targetTlsUntrusted);

        const back = await use(ctx, (d) => d.rollback(activation.previous));
        assert.deepEqual(back.previous, { sslVpn: staged['cert'], webManagement: staged['cert'] });
        assert.deepEqual(fake.bindings(), NOTHING_BOUND);
        await verifyServedFingerprint(
          'sonicwall',
          [fake.endpoints.management, fake.endpoints.sslVpn],
          fake.managementFingerprint(),
        );
        // The rest of the administration object survived the read-modify-write.
        await use(pinnedOnly, (d) => d.preflight());
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('activate is all or nothing: a refused PUT discards the staged SSL-VPN change; nothing is committed', async () => {
      await withStaged('atomic.example.test', async ({ fake, ctx, staged }) => {
        const mutatingBefore = fake.view().mutatingCalls();
        fake.failNext(/\/administration\/global$/, { method: 'PUT', ...refused('E_INVALID', 'Invalid value.') });
        const error = await rejection(use(ctx, (d) => d.activate(staged)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(
          error.message,
          /^sonicwall: set the web management certificate to \S+: E_INVALID: Invalid value\.$/,
        );
        assert.deepEqual(fake.bindings(), NOTHING_BOUND);
        const tail = fake.calls.slice(-3).map((c) => `${c.method} ${c.path} ${c.status}`);
        assert.deepEqual(tail, [
          'PUT /api/sonicos/administration/global 400',
          'DELETE /api/sonicos/config/pending 200',
          'DELETE /api/sonicos/auth 200',
        ]);
        assert.equal(
          fake.view().mutatingCalls(),
          mutatingBefore + 1,
          'only the SSL-VPN PUT was staged, and it was discarded',
        );
        assert.equal(fake.droppedChanges(), 0, 'discarded explicitly, not left for the logout');

        // A failing commit: non-retryable TARGET_COMMIT_FAILED, nothing applied.
        fake.failNext(/\/config\/pending$/, { method: 'POST', ...refused('E_ERROR', 'Commit failed.') });
        const commit = await rejection(use(ctx, (d) => d.activate(staged)));
        assert.equal(commit.type, FailureType.commitFailed);
        assert.deepEqual(fake.bindings(), NOTHING_BOUND);
        assert.equal(fake.activeSessions(), 0);

        // A retry then binds and reads the original state as "previous".
        assert.deepEqual((await use(ctx, (d) => d.activate(staged))).previous, {
          sslVpnSelfSigned: 'true',
          webManagementSelfSigned: 'true',
        });
      });
    });

    it('a commit whose answer is lost is checked in a new session: applied means done', async () => {
      await withStaged('lost.example.test', async ({ fake, ctx, staged }) => {
        fake.failNext(/\/config\/pending$/, { method: 'POST', status: 0, afterProcessing: true, dropConnection: true });
        const activation = await use(ctx, (d) => d.activate(staged));
        assert.deepEqual(activation.previous, { sslVpnSelfSigned: 'true', webManagementSelfSigned: 'true' });
        assert.deepEqual(fake.bindings(), {
          webManagement: { name: staged['cert'] },
          sslVpn: { name: staged['cert'] },
        });
        assert.equal(fake.activeSessions(), 0);

        // Lost before it was applied: the error stands (retryable) and nothing changed.
        const back = await use(ctx, (d) => d.rollback(activation.previous));
        fake.failNext(/\/config\/pending$/, { method: 'POST', status: 0, dropConnection: true });
        const error = await rejection(use(ctx, (d) => d.activate(staged)));
        assert.equal(error.type, FailureType.targetUnreachable);
        assert.deepEqual(fake.bindings(), NOTHING_BOUND);
        assert.ok(back.previous['webManagement']);
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('removeSuperseded deletes only unbound candidates, commits once, and never deletes a bound certificate', async () => {
      await withFake({}, async (fake) => {
        const v1 = ca.issue('clean.example.test');
        const v2 = ca.issue('clean.example.test', 'rsa-2048');
        const v3 = ca.issue('clean.example.test');
        const ctx = contextFor(fake, ftp, { versions: [v1, v2, v3], binding: { sslVpn: true } });
        const s1 = await use(ctx, (d) => d.stage(v1));
        const s2 = await use(ctx, (d) => d.stage(v2));
        const s3 = await use(ctx, (d) => d.stage(v3));
        await use(ctx, (d) => d.activate(s1));
        // s1 is bound although the caller lists it as superseded (e.g. a rollback happened): it stays.
        const removed = await use(ctx, (d) => d.removeSuperseded([s3], [s1, s2, s3, { cert: 'not-there' }]));
        assert.deepEqual(removed, [s2['cert']]);
        assert.deepEqual(
          fake.certificates().map((c) => c.name),
          [s1['cert'], s3['cert']],
        );
        assert.equal(
          fake.calls.filter((c) => c.method === 'DELETE' && c.path.startsWith('/api/sonicos/certificates/')).length,
          1,
        );
        assert.deepEqual(await use(ctx, (d) => d.removeSuperseded([s3], [s2])), [], 'idempotent');
        assert.deepEqual(await use(ctx, (d) => d.removeSuperseded([], [])), []);
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('stage is idempotent and refuses a different certificate under its name', async () => {
      await withStaged('idem.example.test', async ({ fake, ctx, v, staged: first }) => {
        const imports = (): number =>
          fake.calls.filter((c) => c.path.includes('/import/certificates/cert-key-pair/')).length;
        assert.deepEqual(await use(ctx, (d) => d.stage(v)), first);
        assert.equal(imports(), 1, 'reused without a second upload');
        // Someone imported another certificate under the name the next version would get.
        const next = ca.issue('idem.example.test');
        const other = ca.issue('idem.example.test');
        const http = raw(fake);
        try {
          const s = await rawLogin(http, USER, PASSWORD);
          const pfx = pfxOf({ ...other, chainPems: [] }, '3des');
          const name = objectName(next.commonName, next.serialHex, SONICWALL_NAME_RULES);
          assert.equal(
            (
              await s.request(
                'PUT',
                `/api/sonicos/import/certificates/cert-key-pair/name/${name}/password/pfxPass123`,
                { bytes: pfx },
              )
            ).status,
            200,
          );
          await s.request('POST', '/api/sonicos/config/pending', { json: {} });
          await s.request('DELETE', '/api/sonicos/auth', {});
        } finally {
          await http.close();
        }
        const error = await rejection(use(ctx, (d) => d.stage(next)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(error.message, /a different certificate is already named \S+ on the firewall; it was left alone/);
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('serveStale: the firewall commits the binding but keeps serving the old certificate → verify fails (retryable)', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('stale.example.test');
        const ctx = contextFor(fake, ftp, { versions: [v] });
        fake.serveStale(true);
        const staged = await use(ctx, (d) => d.stage(v));
        await use(ctx, (d) => d.activate(staged));
        const endpoints = [fake.endpoints.management, fake.endpoints.sslVpn];
        const error = await rejection(verifyServedFingerprint('sonicwall', endpoints, v.fingerprintSha256));
        assert.equal(error.type, FailureType.verifyMismatch);
        assert.ok(!NON_RETRYABLE_FAILURES.includes(error.type));
        fake.serveStale(false);
        await verifyServedFingerprint('sonicwall', endpoints, v.fingerprintSha256);
      });
    });

    it('preflight: firmware, bindings, FTP probe (changes nothing on the firewall); a read-only FTP directory fails its check', async () => {
      await withFake({ firmware: 'SonicOS 6.5.4.7-83n', model: 'NSA 2650' }, async (fake) => {
        const report = await use(contextFor(fake, ftp), (d) => d.preflight());
        assert.equal(report.firmware, 'SonicOS 6.5.4.7-83n');
        assertChecksPassed(report, [
          'management TLS',
          'login',
          'firmware',
          'session security',
          'import path',
          'web management binding',
          'SSL-VPN',
          'certificate store',
          'FTP drop',
        ]);
        const ftpCheck = report.checks.find((c) => c.name === 'FTP drop');
        assert.match(ftpCheck?.detail ?? '', /changes nothing on the firewall/);
        assert.match(
          ftpCheck?.detail ?? '',
          /^uploaded and deleted a test file in ftp:\/\/certfleet@127\.0\.0\.1:\d+\/certfleet\//,
        );
        assert.equal(fake.view().mutatingCalls(), 0);
        assert.ok(fake.calls.every((c) => c.method === 'GET' || c.path === '/api/sonicos/auth'));
        assert.deepEqual(dropFiles(ftp), []);

        ftp.setReadOnly(true);
        try {
          const readOnly = await use(contextFor(fake, ftp), (d) => d.preflight());
          const check = readOnly.checks.find((c) => c.name === 'FTP drop');
          assert.equal(check?.ok, false);
          assert.match(check?.detail ?? '', /the FTP server refused \(550 STOR: permission denied\)/);
        } finally {
          ftp.setReadOnly(false);
        }
        const wrongPort = await use(contextFor(fake, ftp, { options: { sslVpnPort: 1 } }), (d) => d.preflight());
        assert.match(wrongPort.checks.find((c) => c.name === 'SSL-VPN')?.detail ?? '', /wrong port/);
        const unbound = await use(contextFor(fake, ftp, { binding: {} }), (d) => d.preflight());
        assert.ok(unbound.checks.every((c) => c.ok));
        assert.deepEqual(unbound.changes, []);
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('a wrong FTP password: TARGET_AUTH_FAILED from the FTP login, nothing imported, logged out', async () => {
      await withFake(SONICOS_65, async (fake) => {
        const v = ca.issue('ftpauth.example.test');
        const error = await rejection(
          use(contextFor(fake, ftp, { versions: [v], credentials: { ftpPassword: 'WrongFtpPass1' } }), (d) =>
            d.stage(v),
          ),
        );
        assert.equal(error.type, FailureType.targetAuth);
        assert.match(
          error.message,
          /^sonicwall: upload certfleet-\S+\.p12 to ftp:\/\/certfleet@127\.0\.0\.1:\d+\/certfleet\/: the FTP server refused the login of "certfleet"/,
        );
        assert.ok(!error.message.includes('WrongFtpPass1'));
        assert.deepEqual(fake.certificates(), []);
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('maxConcurrentSessions stays 1 across sequential deploys; every method logs in once and out again', async () => {
      await withFake({}, async (fake) => {
        const versions = [
          ca.issue('seq.example.test'),
          ca.issue('seq.example.test', 'rsa-2048'),
          ca.issue('seq.example.test'),
        ];
        const ctx = contextFor(fake, ftp, { versions });
        let methods = 0;
        let previous: Record<string, string> | undefined;
        for (const v of versions) {
          const deployer = createSonicWallDeployer(ctx);
          try {
            await deployer.preflight();
            const staged = await deployer.stage(v);
            await deployer.activate(staged);
            methods += 3;
            if (previous) {
              await deployer.removeSuperseded([staged], [previous]);
              methods += 1;
            }
            previous = staged;
          } finally {
            await deployer.close();
          }
          await verifyServedFingerprint(
            'sonicwall',
            [fake.endpoints.management, fake.endpoints.sslVpn],
            v.fingerprintSha256,
          );
        }
        assert.equal(fake.maxConcurrentSessions(), 1);
        assert.equal(fake.refusedLogins(), 0);
        assert.equal(fake.activeSessions(), 0);
        assert.deepEqual(fake.loginsByUser, { [USER]: methods });
        // Every method logs out; each attempt (deployer instance) also ends a leftover session before its first login.
        assert.equal(
          fake.calls.filter((c) => c.method === 'DELETE' && c.path === '/api/sonicos/auth' && c.status === 200).length,
          methods + versions.length,
        );
        assert.equal(fake.certificates().length, 1);
        assert.deepEqual(dropFiles(ftp), []);
      });
    });

    for (const sessionSecurity of [true, false]) {
      it(`a session a crashed attempt left open is ended before the next login, without pre-empting anyone (session security ${sessionSecurity ? 'on' : 'off'})`, async () => {
        await withFake({ sessionSecurity }, async (fake) => {
          const v = ca.issue('crash.example.test');
          // The "crashed" attempt: logged in as CertFleet's account, never logged out.
          const http = raw(fake);
          try {
            assert.equal((await rawLogin(http, USER, PASSWORD)).response.status, 200);
          } finally {
            await http.close();
          }
          assert.equal(fake.activeSessions(), 1);
          const staged = await use(contextFor(fake, ftp, { versions: [v], noFtp: true }), (d) => d.stage(v));
          assert.deepEqual(staged, { cert: objectName(v.commonName, v.serialHex, SONICWALL_NAME_RULES) });
          assert.deepEqual(
            fake.sessions().map((s) => [s.user, s.state]),
            [
              [USER, 'logout'],
              [USER, 'logout'],
            ],
            'the leftover session was logged out (not pre-empted), then ours ran and logged out',
          );
          assert.equal(fake.refusedLogins(), 0);
          assert.ok(fake.calls.every((c) => c.override !== true));
          assert.equal(fake.activeSessions(), 0);
        });
      });
    }

    it("session security: a login that announces nothing gets the Digest from the first call's challenge; MD5-only firewalls; nextnonce; preflight names the mode", async () => {
      await withFake({ announceDigest: false, digestAlgorithms: ['MD5'], maxNonceUse: 2 }, async (fake) => {
        const v = ca.issue('md5.example.test');
        const ctx = contextFor(fake, ftp, { versions: [v], noFtp: true });
        const report = await use(ctx, (d) => d.preflight());
        assert.deepEqual(
          report.checks
            .filter((c) => c.name === 'session security' || c.name === 'import path')
            .map((c) => [c.name, c.ok, c.detail.split(':')[0]]),
          [
            ['session security', true, 'on'],
            ['import path', true, 'upload'],
          ],
        );
        assert.match(
          report.checks.find((c) => c.name === 'session security')?.detail ?? '',
          /RFC 7616 Digest header \(MD5\)/,
        );
        assert.match(
          report.checks.find((c) => c.name === 'import path')?.detail ?? '',
          /SonicOS 7\.0\.1-5145 takes the certificate in the API call itself .*no FTP server is needed/,
        );
        const staged = await use(ctx, (d) => d.stage(v));
        await use(ctx, (d) => d.activate(staged));
        assert.deepEqual(fake.bindings().webManagement, { name: staged['cert'] });
        const api = fake.calls.filter((c) => c.path !== '/api/sonicos/auth');
        // Exactly one unsigned call per session (the one that fetches the challenge), then Digest.
        assert.equal(
          api.filter((c) => c.status === 401).length,
          3,
          'one challenge per session (preflight, stage, activate)',
        );
        assert.ok(api.filter((c) => c.status !== 401).every((c) => c.auth === 'digest'));
        assert.equal(fake.activeSessions(), 0);
      });
      await withFake({ sessionSecurity: false }, async (fake) => {
        const report = await use(contextFor(fake, ftp, { noFtp: true }), (d) => d.preflight());
        assert.match(report.checks.find((c) => c.name === 'session security')?.detail ?? '', /^off: /);
        assert.ok(
          fake.calls.every((c) => c.auth !== 'digest'),
          'no Digest where the admin turned it off',
        );
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('SonicOS 6.5 without an FTP drop: preflight says the import path needs one, stage is VALIDATION_FAILED naming the fields; nothing imported', async () => {
      await withFake(SONICOS_65, async (fake) => {
        const v = ca.issue('noftp.example.test');
        const ctx = contextFor(fake, ftp, { versions: [v], noFtp: true });
        const report = await use(ctx, (d) => d.preflight());
        const path = report.checks.find((c) => c.name === 'import path');
        assert.equal(path?.ok, false);
        assert.match(
          path?.detail ?? '',
          /SonicOS Enhanced 6\.5\.4\.4-44n, which has no certificate upload .* Enter the FTP server, user and password/,
        );
        const error = await rejection(use(ctx, (d) => d.stage(v)));
        assert.equal(error.type, FailureType.validation);
        assert.ok(NON_RETRYABLE_FAILURES.includes(error.type));
        assert.match(
          error.message,
          /^sonicwall: the firewall runs SonicOS Enhanced 6\.5\.4\.4-44n, which has no certificate upload/,
        );
        assert.deepEqual(fake.certificates(), []);
        assert.equal(fake.activeSessions(), 0);
      });
    });

    it('a commit that leaves changes pending is COMMIT_FAILED (config/pending is read back after every commit); the session is still closed', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('pending-left.example.test');
        fake.swallowNextCommit();
        const error = await rejection(use(contextFor(fake, ftp, { versions: [v], noFtp: true }), (d) => d.stage(v)));
        assert.equal(error.type, FailureType.commitFailed);
        assert.match(
          error.message,
          /^sonicwall: commit \(import \S+\): the firewall accepted the commit but still lists 1 pending change\(s\)/,
        );
        assert.deepEqual(fake.certificates(), [], 'nothing was committed');
        assert.equal(fake.activeSessions(), 0);
        assert.equal(fake.droppedChanges(), 1, 'the logout dropped the uncommitted import');
      });
    });

    it('SonicOS 7 imports by the documented multipart upload, never over FTP, even with an FTP drop configured', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('upload.example.test');
        const staged = await use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v));
        assert.deepEqual(
          fake.certificates().map((c) => [c.name, c.via, c.fingerprintSha256]),
          [[staged['cert'], 'upload', v.fingerprintSha256]],
        );
        assert.deepEqual(fake.ftpPulls, []);
        assert.deepEqual(dropFiles(ftp), []);
        assert.ok(
          fake.calls.some(
            (c) =>
              c.method === 'PUT' &&
              c.path ===
                `/api/sonicos/import/certificates/cert-key-pair/name/${staged['cert'] ?? ''}/password/[omitted]` &&
              c.status === 200,
          ),
        );
      });
    });

    it('the wire transcript of a stage keeps no PKCS#12 password: the import path and its form show it removed (upload on 7, FTP on 6.5)', async () => {
      for (const firmware of [{}, SONICOS_65]) {
        await withFake(firmware, async (fake) => {
          const v = ca.issue(`transcript${firmware === SONICOS_65 ? '65' : '7'}.example.test`);
          const exchanges: WireExchange[] = [];
          const redactor = new WireRedactor({ values: [PASSWORD, ftp.password], keyPems: [v.keyPem] });
          await withWireTranscript(
            redactor,
            () => use(contextFor(fake, ftp, { versions: [v] }), (d) => d.stage(v)),
            async (recorded) => void exchanges.push(...recorded),
          );
          const imports = exchanges.map((e) => e.text).filter((text) => text.includes('/cert-key-pair'));
          assert.equal(imports.length, 1, exchanges.map((e) => e.text).join('\n---\n'));
          const segment = /\/password\/([^/\s]+)/.exec(imports[0] ?? '')?.[1] ?? '';
          assert.equal(decodeURIComponent(segment), '(removed)', imports[0]);
          assert.doesNotMatch(
            imports[0] ?? '',
            /certPasswd[^\n]*\n?[^\n]*[A-Za-z0-9]{12,}/,
            'the form field holds no password',
          );
        });
      }
    });

    it('methods of one instance never overlap (a second login would be refused by our own session)', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('overlap.example.test');
        await use(contextFor(fake, ftp, { versions: [v] }), async (d) => {
          await Promise.all([d.preflight(), d.stage(v), d.preflight()]);
        });
        assert.equal(fake.refusedLogins(), 0);
        assert.equal(fake.maxConcurrentSessions(), 1);
      });
    });

    it('an invalid target configuration fails with VALIDATION_FAILED before any call', async () => {
      await withFake({}, async (fake) => {
        const v = ca.issue('invalid.example.test');
        await assertFailure(
          use(contextFor(fake, ftp, { credentials: { password: '' }, binding: {} }), (d) => d.stage(v)),
          FailureType.validation,
          /^sonicwall: invalid target configuration: credentials\.password: .*binding\.webManagement: Choose at least one service/,
        );
        assert.equal(fake.calls.length, 0);
      });
    });

    it('busy detection and the path encoding (spaces %20, // as %2f%2f)', () => {
      assert.equal(isSessionBusy({ status: 401, info: { code: 'E_BUSY', message: 'x' } }), true);
      assert.equal(
        isSessionBusy({
          status: 401,
          info: { code: 'E_UNAUTHORIZED', message: 'Another administrator is already logged in.' },
        }),
        true,
      );
      assert.equal(
        isSessionBusy({ status: 401, info: { code: 'E_UNAUTHORIZED', message: 'Incorrect name/password.' } }),
        false,
      );
      assert.equal(sonicPathSegment('ftp://u:p@h:21/d/f.p12'), 'ftp:%2f%2fu:p@h:21/d/f.p12');
      assert.equal(sonicPathSegment('my cert'), 'my%20cert');
    });
  });

  describe('descriptor', () => {
    const options = { ftpHost: SONICWALL_FTP_OPTIONS.ftpHost, ftpUser: SONICWALL_FTP_OPTIONS.ftpUser };

    it('credentials: administrator and password are required, the FTP password (SonicOS 6.5 only) is optional; FTP passwords must need no URL encoding', () => {
      assert.deepEqual(
        sonicwallDescriptor.parseCredentials({ username: ' certfleet ', password: ' p w ', ftpPassword: 'Ftp-Pass.1' }),
        {
          value: { username: 'certfleet', password: ' p w ', ftpPassword: 'Ftp-Pass.1' },
          errors: {},
        },
      );
      const empty = sonicwallDescriptor.parseCredentials({});
      assert.deepEqual(Object.keys(empty.errors).sort(), ['password', 'username']);
      assert.deepEqual(sonicwallDescriptor.parseCredentials({ username: 'u', password: 'p' }), {
        value: { username: 'u', password: 'p', ftpPassword: '' },
        errors: {},
      });
      assert.match(empty.errors['username'] ?? '', /full administrator/);
      for (const bad of ['has space', 'a@b', 'x/y', 'p%40', 'q#1', 'c:d']) {
        assert.match(
          sonicwallDescriptor.parseCredentials({ username: 'u', password: 'p', ftpPassword: bad }).errors[
            'ftpPassword'
          ] ?? '',
          /inside a URL/,
          bad,
        );
      }
      assert.match(
        sonicwallDescriptor.parseCredentials({ username: 'a:b', password: 'p', ftpPassword: 'f' }).errors['username'] ??
          '',
        /without ":"/,
      );
      assert.deepEqual(
        sonicwallDescriptor.credentialFields.map((f) => [f.name, f.kind, f.required]),
        [
          ['username', 'text', true],
          ['password', 'secret', true],
          ['ftpPassword', 'secret', false],
        ],
      );
    });

    it('options: defaults (Basic, override off, port 21, FTP URL host = FTP host, SSL-VPN 4433) and clear errors', () => {
      assert.deepEqual(sonicwallDescriptor.parseOptions(options), {
        value: { ...SONICWALL_FTP_OPTIONS, override: false },
        errors: {},
      });
      assert.deepEqual(
        sonicwallDescriptor.parseOptions({
          ...options,
          authMethod: 'CHAP',
          override: 'on',
          ftpPort: '2121',
          ftpDirectory: '/drop/sonicwall/',
          ftpUrlHost: '10.0.0.5',
          sslVpnPort: 443,
        }).value,
        {
          authMethod: 'chap',
          override: true,
          ftpHost: 'ftp.example.test',
          ftpPort: 2121,
          ftpUser: 'certfleet',
          ftpDirectory: 'drop/sonicwall',
          ftpUrlHost: '10.0.0.5',
          sslVpnPort: 443,
        },
      );
      // No FTP at all is valid (SonicOS 7 uploads); half an FTP drop is not.
      const none = sonicwallDescriptor.parseOptions({});
      assert.deepEqual(none.errors, {});
      assert.deepEqual(none.value, {
        authMethod: 'basic',
        override: false,
        ftpHost: '',
        ftpPort: 21,
        ftpUser: '',
        ftpDirectory: '',
        ftpUrlHost: '',
        sslVpnPort: 4433,
      });
      assert.deepEqual(Object.keys(sonicwallDescriptor.parseOptions({ ftpHost: 'ftp.example.test' }).errors), [
        'ftpUser',
      ]);
      assert.match(
        sonicwallDescriptor.parseOptions({ ftpUser: 'certfleet' }).errors['ftpHost'] ?? '',
        /only needed for SonicOS 6\.5/,
      );
      assert.deepEqual(
        sonicwallDescriptor.optionFields
          .filter((f) => f.name.startsWith('ftp'))
          .map((f) => [f.name, f.required, f.endpoint === true]),
        [
          ['ftpHost', false, true],
          ['ftpPort', false, true],
          ['ftpUser', false, true],
          ['ftpDirectory', false, false],
          ['ftpUrlHost', false, true],
        ],
        'FTP fields optional, still bound to the secrets as endpoints',
      );
      assert.match(
        sonicwallDescriptor.parseOptions({ ...options, authMethod: 'digest' }).errors['authMethod'] ?? '',
        /Basic or CHAP/,
      );
      assert.match(
        sonicwallDescriptor.parseOptions({ ...options, override: 'maybe' }).errors['override'] ?? '',
        /ticked/,
      );
      assert.match(
        sonicwallDescriptor.parseOptions({ ...options, ftpHost: 'ftp://x' }).errors['ftpHost'] ?? '',
        /without ftp:\/\//,
      );
      assert.match(
        sonicwallDescriptor.parseOptions({ ...options, ftpUser: 'me@host' }).errors['ftpUser'] ?? '',
        /inside a URL/,
      );
      for (const dir of ['../etc', 'a/../b', 'a b', 'a/./b'])
        assert.match(
          sonicwallDescriptor.parseOptions({ ...options, ftpDirectory: dir }).errors['ftpDirectory'] ?? '',
          /no "\.\."/,
          dir,
        );
      for (const port of ['abc', '0', '70000', 1.5]) {
        assert.match(
          sonicwallDescriptor.parseOptions({ ...options, ftpPort: port }).errors['ftpPort'] ?? '',
          /1 to 65535/,
          String(port),
        );
        assert.match(
          sonicwallDescriptor.parseOptions({ ...options, sslVpnPort: port }).errors['sslVpnPort'] ?? '',
          /1 to 65535/,
          String(port),
        );
      }
      assert.equal(
        sonicwallDescriptor.parseOptions({ ...options, ftpUrlHost: 'fd00::5' }).errors['ftpUrlHost'],
        undefined,
      );
      assert.equal(sonicwallDescriptor.optionFields.find((f) => f.name === 'override')?.kind, 'checkbox');
    });

    it('binding: checkboxes, at least one', () => {
      assert.deepEqual(sonicwallDescriptor.parseBinding({ webManagement: 'on' }), {
        value: { webManagement: true, sslVpn: false },
        errors: {},
      });
      assert.deepEqual(sonicwallDescriptor.parseBinding({ webManagement: true, sslVpn: 'true' }).value, {
        webManagement: true,
        sslVpn: true,
      });
      assert.match(sonicwallDescriptor.parseBinding({}).errors['webManagement'] ?? '', /at least one/);
      assert.match(sonicwallDescriptor.parseBinding({ sslVpn: 'maybe' }).errors['sslVpn'] ?? '', /ticked/);
      assert.deepEqual(
        sonicwallDescriptor.bindingFields.map((f) => [f.name, f.kind]),
        [
          ['webManagement', 'checkbox'],
          ['sslVpn', 'checkbox'],
        ],
      );
    });

    it('identity, one session at a time, default port and verify endpoints', () => {
      assert.equal(sonicwallDescriptor.id, 'sonicwall');
      assert.equal(sonicwallDescriptor.exclusiveSession, true);
      assert.equal(sonicwallDescriptor.defaultPort, 443);
      const target = { host: 'fw.example.test', port: 8443, options: {} };
      assert.deepEqual(sonicwallDescriptor.defaultVerifyEndpoints(target, { webManagement: true, sslVpn: true }), [
        { host: 'fw.example.test', port: 8443 },
        { host: 'fw.example.test', port: 4433 },
      ]);
      assert.deepEqual(
        sonicwallDescriptor.defaultVerifyEndpoints({ ...target, options: { sslVpnPort: 4444 } }, { sslVpn: 'on' }),
        [{ host: 'fw.example.test', port: 4444 }],
      );
    });
  });
});
