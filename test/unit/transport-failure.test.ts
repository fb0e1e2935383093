/**
 * Transport failures in words: a device, the CA or Cloudflare that cannot be reached is named as
 * "connection refused", "connection closed by the peer", "TLS certificate not trusted (…)", never as
 * undici's bare "fetch failed". Real sockets on loopback, no mocks.
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import Cloudflare from 'cloudflare';
import { classifyCloudflareError } from '../../activities/dns-providers/cloudflare/index';
import { createDeviceHttp } from '../../activities/deployers/device-http';
import { describeTransportFailure, transportFailureText } from '../../activities/domain/transport-failure';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { createTestCa, type TestCa } from '../support/certificates';
import { freePort } from '../support/free-port';
import { rejection } from '../support/assertions';

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('transport failures in words', () => {
  let ca: TestCa;
  let closedPort: number;
  const hangUp = createNetServer((socket) => socket.destroy());
  let hangUpPort: number;
  let tls: Server;
  let tlsPort: number;
  let leafFingerprint: string;

  before(async () => {
    ca = createTestCa();
    closedPort = await freePort();
    hangUpPort = await listen(hangUp);
    const leaf = ca.issue('device.polish.test');
    leafFingerprint = leaf.fingerprintSha256;
    tls = createTlsServer({ key: leaf.keyPem, cert: leaf.certPem }, (socket) => socket.end());
    tlsPort = await listen(tls);
  });
  after(async () => {
    await Promise.all([close(hangUp), close(tls)]);
    ca.dispose();
  });

  const device = (
    port: number,
    trust: { caPem: string } | { fingerprintSha256: string } = { fingerprintSha256: 'aa'.repeat(32) },
  ) => createDeviceHttp({ host: '127.0.0.1', port, trust }, 'fortigate');

  it('a device that refuses the connection: "connection refused", retryable', async () => {
    const error = await rejection(device(closedPort).request('GET', '/api/v2/monitor/system/status'), ClassifiedError);
    assert.equal(error.type, FailureType.targetUnreachable);
    assert.match(
      error.message,
      new RegExp(`^fortigate: cannot reach 127\\.0\\.0\\.1:${closedPort}: connection refused \\(ECONNREFUSED: `),
    );
    assert.doesNotMatch(error.message, /fetch failed/);
  });

  it('a device that hangs up: "connection closed by the peer" or "connection reset", not "fetch failed"', async () => {
    // After the TLS handshake, before any answer (undici: TypeError('fetch failed') caused by UND_ERR_SOCKET).
    const afterHandshake = await rejection(
      device(tlsPort, { fingerprintSha256: leafFingerprint }).request('GET', '/'),
      ClassifiedError,
    );
    assert.equal(afterHandshake.type, FailureType.targetUnreachable);
    assert.match(afterHandshake.message, /: connection closed by the peer \(UND_ERR_SOCKET: /);
    // Before the TLS handshake.
    const beforeHandshake = await rejection(
      device(hangUpPort, { caPem: ca.rootPem }).request('GET', '/'),
      ClassifiedError,
    );
    assert.match(beforeHandshake.message, /: connection reset \(ECONNRESET: /);
    for (const error of [afterHandshake, beforeHandshake]) assert.doesNotMatch(error.message, /fetch failed/);
  });

  it('a device whose certificate is not trusted: says so in words, not retryable', async () => {
    const other = createTestCa();
    try {
      const error = await rejection(device(tlsPort, { caPem: other.rootPem }).request('GET', '/'), ClassifiedError);
      assert.equal(error.type, FailureType.targetTlsUntrusted);
      assert.match(error.message, /management TLS certificate not trusted \(issuer unknown\)/);
      assert.match(error.message, /Check the target's CA or pinned SHA-256 fingerprint\.$/);
    } finally {
      other.dispose();
    }
  });

  it('Cloudflare\'s API out of reach: words instead of the SDK\'s "Connection error."', async () => {
    const sdk = new Cloudflare({
      apiToken: 'polish-token',
      baseURL: `http://127.0.0.1:${closedPort}/client/v4`,
      maxRetries: 0,
    });
    const thrown = await rejection(sdk.zones.list(), Error);
    const error = classifyCloudflareError(thrown, 'list zones');
    assert.equal(error.type, FailureType.dnsUnavailable);
    assert.match(error.message, /^cloudflare: list zones: cannot reach the API: connection refused \(ECONNREFUSED: /);
  });

  it('every common code has its words; a timeout is a timeout', () => {
    const words = (code: string) =>
      describeTransportFailure(
        new TypeError('fetch failed', { cause: Object.assign(new Error(`x ${code}`), { code }) }),
      ).words;
    assert.equal(words('ENOTFOUND'), 'host name not found');
    assert.equal(words('ETIMEDOUT'), 'timed out');
    assert.equal(words('UND_ERR_CONNECT_TIMEOUT'), 'timed out');
    assert.equal(words('ECONNRESET'), 'connection reset');
    assert.equal(words('EHOSTUNREACH'), 'host unreachable');
    assert.equal(words('CERT_HAS_EXPIRED'), 'TLS certificate not trusted (expired)');
    assert.equal(words('ERR_SSL_WRONG_VERSION_NUMBER'), 'TLS handshake failed (ERR_SSL_WRONG_VERSION_NUMBER)');
    assert.equal(
      transportFailureText({ code: 'ECONNABORTED', message: 'timeout of 700ms exceeded' }),
      'timed out (ECONNABORTED: timeout of 700ms exceeded)',
    );
    assert.equal(
      transportFailureText(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      'timed out (The operation was aborted due to timeout)',
    );
  });
});
