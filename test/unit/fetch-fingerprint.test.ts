/**
 * "Fetch the fingerprint" against real listeners on loopback: a TLS server with a certificate from a
 * test CA (not in the system store), a closed port, and a TCP server that never answers TLS. The
 * activity reads the presented certificate, sends SNI only for names, sends no application data,
 * and classifies what went wrong in words a technician can act on.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createFetchFingerprintActivities } from '../../activities/fetch-fingerprint';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { rejection } from '../support/assertions';
import { createTestCa, type TestCa } from '../support/certificates';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { freePort } from '../support/free-port';

const listen = async <S extends Server | TcpServer>(server: S): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

describe('fetch fingerprint', () => {
  let ca: TestCa;
  let tls: Server;
  let silent: TcpServer;
  let tlsPort: number;
  let silentPort: number;
  let leaf: ReturnType<TestCa['issue']>;
  const seen: { servername: string | false | null; bytes: number; closed: boolean }[] = [];
  /** What the server saw of the latest connection, once the client has closed it. */
  const lastConnection = async (count: number) => {
    const deadline = Date.now() + 10_000;
    while (seen.length < count || !seen[count - 1]?.closed) {
      assert.ok(Date.now() < deadline, `the server saw connection ${count} closed (it saw ${seen.length})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return seen[count - 1];
  };
  let database: TestDatabase;
  const fetchPresentedCertificate: ReturnType<typeof createFetchFingerprintActivities>['fetchPresentedCertificate'] = (
    input,
  ) => createFetchFingerprintActivities({ db: database.db }, { timeoutMs: 500 }).fetchPresentedCertificate(input);

  before(async () => {
    database = await createTestDatabase();
    ca = createTestCa();
    leaf = ca.issue('localhost');
    tls = createServer(
      { cert: [leaf.certPem, ca.intermediatePem].join('\n'), key: leaf.keyPem },
      (socket: TLSSocket) => {
        const entry = { servername: socket.servername, bytes: 0, closed: false };
        seen.push(entry);
        socket.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
        socket.on('close', () => (entry.closed = true));
        socket.on('error', () => undefined);
      },
    );
    // Reads (and ignores) the ClientHello, so it sees the client hang up.
    silent = createTcpServer((socket) => socket.on('error', () => undefined).resume());
    [tlsPort, silentPort] = await Promise.all([listen(tls), listen(silent)]);
  });
  after(async () => {
    await new Promise((resolve) => tls?.close(resolve));
    await new Promise((resolve) => silent?.close(resolve));
    ca?.dispose();
    await database?.drop();
  });

  it('refuses a refused address (the metadata service) before any handshake', async () => {
    const error = await rejection(fetchPresentedCertificate({ host: '169.254.169.254', port: 443 }), ClassifiedError);
    assert.equal(error.type, FailureType.targetAddressRefused);
    assert.match(error.message, /^fetch fingerprint: refused to connect: .*link-local/);
  });

  it('reads subject, issuer, validity and SHA-256 of what a name presents, with SNI, sending nothing', async () => {
    const presented = await fetchPresentedCertificate({ host: 'localhost', port: tlsPort });
    assert.equal(presented.fingerprintSha256, leaf.fingerprintSha256);
    assert.equal(presented.subject, 'CN=localhost');
    assert.equal(presented.issuer, 'CN=CertFleet Test Intermediate');
    assert.equal(presented.notAfter, leaf.notAfter.toISOString());
    assert.ok(Date.parse(presented.notBefore) < Date.now());
    assert.equal(presented.trusted, false, 'a private CA does not chain to the system trust store');
    assert.match(presented.trustError ?? '', /ISSUER|SELF_SIGNED|VERIFY/);
    assert.deepEqual(
      await lastConnection(1),
      { servername: 'localhost', bytes: 0, closed: true },
      'SNI, no application data, closed',
    );
  });

  it('sends no SNI to an IP address', async () => {
    await fetchPresentedCertificate({ host: '127.0.0.1', port: tlsPort });
    assert.equal((await lastConnection(2))?.servername, false);
  });

  it('says why it could not read a certificate: bad input, a closed port, no TLS handshake', async () => {
    const invalid = await rejection(
      fetchPresentedCertificate({ host: 'https://localhost', port: tlsPort }),
      ClassifiedError,
    );
    assert.equal(invalid.type, FailureType.validation);
    const closedPort = await freePort();
    const refused = await rejection(
      fetchPresentedCertificate({ host: '127.0.0.1', port: closedPort }),
      ClassifiedError,
    );
    assert.equal(refused.type, FailureType.targetUnreachable);
    assert.equal(
      refused.message,
      `fetch fingerprint: 127.0.0.1:${closedPort} refused the connection: nothing listens on that port, or a firewall rejects us.`,
    );
    const mute = await rejection(fetchPresentedCertificate({ host: '127.0.0.1', port: silentPort }), ClassifiedError);
    assert.equal(
      mute.message,
      `fetch fingerprint: 127.0.0.1:${silentPort} did not complete a TLS handshake within 0.5 s: is this the HTTPS management port?`,
    );
  });
});
