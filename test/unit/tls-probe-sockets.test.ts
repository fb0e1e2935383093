/**
 * The TLS probes (verify's handshake, the management certificate read) close their socket even when
 * the peer speaks first and nobody reads it: a service port that answers at once (the fakes' HTTP 200,
 * an IMAPS or SMTPS greeting). With end() alone each probe left a descriptor open in the worker for good
 * (1,001 in the worker after a fleet of 1,000 was deployed, README "A fleet").
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { tlsHandshake } from '../../activities/deployers/verify-served';
import { opensslSelfSigned } from '../support/openssl-self-signed';

const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

async function settled(baseline: number): Promise<number> {
  for (let i = 0; i < 50 && openDescriptors() > baseline; i += 1) await new Promise((r) => setTimeout(r, 100));
  return openDescriptors();
}

describe('TLS probes leave no socket open', () => {
  let server: Server;
  let port = 0;
  before(async () => {
    const { certPem, keyPem } = opensslSelfSigned({
      subject: '/CN=probe.example.test',
      subjectAltName: 'DNS:probe.example.test',
    });
    // Speaks first and closes, as the fakes' service ports and greeting protocols do.
    server = createServer({ key: keyPem, cert: certPem }, (socket) => {
      socket.on('error', () => undefined);
      socket.end('* OK IMAP4rev1 ready\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('verify handshakes against a peer that speaks first', async () => {
    await tlsHandshake({ host: '127.0.0.1', port }, 5_000); // warm up (lazy handles of the first TLS call)
    const baseline = await settled(openDescriptors());
    for (let i = 0; i < 30; i += 1) {
      const { cert } = await tlsHandshake({ host: '127.0.0.1', port }, 5_000);
      assert.ok(cert.fingerprint256, 'the presented leaf is read');
    }
    const after = await settled(baseline);
    assert.ok(after <= baseline + 2, `30 probes leave their sockets closed (${baseline} → ${after} descriptors)`);
  });
});
