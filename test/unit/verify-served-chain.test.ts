/**
 * verify checks the served chain, not only the leaf: real TLS listeners on loopback serve a test CA's
 * leaf with its intermediate, the leaf alone, the chain plus the root, and the leaf with another CA's
 * intermediate. Only a missing or different intermediate fails, with a message that says which.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { ClassifiedError } from '../../activities/errors';
import { expectedChainOf, verifyServedFingerprint } from '../../activities/deployers/verify-served';
import type { CertificateMaterial } from '../../activities/deployers/types';
import { FailureType } from '../../temporal/contract';
import { rejection } from '../support/assertions';
import { createTestCa, type TestCa } from '../support/certificates';

describe('verify: the served chain', () => {
  let ca: TestCa;
  let other: TestCa;
  let leaf: CertificateMaterial;
  const servers: Server[] = [];

  /** A TLS listener presenting exactly these certificates, in this order. */
  const serving = async (pems: string[]): Promise<{ host: string; port: number }> => {
    const server = createServer({ key: leaf.keyPem, cert: pems.map((p) => p.trim()).join('\n') }, (socket) =>
      socket.end(),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  };
  const expected = (): ReturnType<typeof expectedChainOf> => expectedChainOf(leaf.fingerprintSha256, leaf.chainPems);

  before(() => {
    ca = createTestCa();
    other = createTestCa();
    leaf = ca.issue('vpn.example.test');
  });
  after(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    ca?.dispose();
    other?.dispose();
  });

  it('passes when the leaf and its intermediate are served in order; the result holds fingerprints and counts only', async () => {
    const endpoint = await serving([leaf.certPem, ca.intermediatePem]);
    const seen = await verifyServedFingerprint('nginx', [endpoint], expected());
    assert.deepEqual(seen, [`127.0.0.1:${endpoint.port}: ${leaf.fingerprintSha256} + 1 intermediate(s)`]);
  });

  it('passes when the server also sends the root after the intermediates (RFC 8446 §4.4.2 allows it)', async () => {
    const endpoint = await serving([leaf.certPem, ca.intermediatePem, ca.rootPem]);
    await verifyServedFingerprint('nginx', [endpoint], expected());
  });

  it('fails, retryably, when the leaf is served without its intermediate, and says so', async () => {
    const endpoint = await serving([leaf.certPem]);
    const error = await rejection(verifyServedFingerprint('fortigate', [endpoint], expected()), ClassifiedError);
    assert.equal(
      error.type,
      FailureType.verifyMismatch,
      'retryable like a leaf mismatch: the device may still be applying',
    );
    assert.match(
      error.message,
      /^fortigate: verify failed: 127\.0\.0\.1:\d+ serves the leaf without its intermediate\(s\) \(expected 1, got 0\): clients that do not already have CertFleet Test Intermediate will fail$/,
    );
  });

  it('fails when another intermediate stands where the version’s belongs', async () => {
    const endpoint = await serving([leaf.certPem, other.intermediatePem]);
    const error = await rejection(verifyServedFingerprint('panos', [endpoint], expected()), ClassifiedError);
    assert.equal(error.type, FailureType.verifyMismatch);
    assert.match(
      error.message,
      /serves the leaf without its intermediate\(s\) \(expected 1, got 0\)|expected 1, got 0 matching/,
    );
    assert.match(error.message, /clients that do not already have CertFleet Test Intermediate will fail/);
  });

  it('a bare fingerprint still checks the leaf only (callers that know no chain)', async () => {
    const endpoint = await serving([leaf.certPem]);
    await verifyServedFingerprint('nginx', [endpoint], leaf.fingerprintSha256);
    const error = await rejection(verifyServedFingerprint('nginx', [endpoint], 'ab'.repeat(32)), ClassifiedError);
    assert.match(error.message, /not the new abababababababab…/);
  });
});
