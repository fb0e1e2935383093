/**
 * Management trust (activities/deployers/device-http.ts) against real TLS servers on loopback: a CA
 * is verified by chain and host name (a name, or an IP address against the certificate's IP SANs);
 * `alsoAccept` adds exactly the fingerprints of the versions a run deploys, for the CA form as for a
 * pin; everything else is refused as TARGET_TLS_UNTRUSTED. See docs/management-trust.md.
 */
import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { fetch } from 'undici';
import { createDeviceHttp, trustedDispatcher } from '../../activities/deployers/device-http';
import type { ManagementTrust } from '../../activities/deployers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { sonicwallSelfSigned } from '../fakes/sonicwall/self-signed';
import { rejection } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';

interface Served {
  port: number;
  fingerprint: string;
  server: Server;
}

/** An HTTPS server on 127.0.0.1 presenting `certPem` (plus `chain`), answering every request with JSON. */
async function serve(certPem: string, keyPem: string, fingerprint: string, chain: string[] = []): Promise<Served> {
  const server = createServer({ cert: [certPem, ...chain].join('\n'), key: keyPem }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, fingerprint, server };
}

/** Every name resolves to 127.0.0.1 (so a host name reaches the loopback server). */
const toLoopback: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

describe('management trust: a CA, a pin, and the versions a run deploys', () => {
  const ca = suiteTestCa();
  const otherCa = suiteTestCa();
  /** CA-issued for the name fw.example.test. */
  let byName: Served;
  /** CA-issued for the IP address 127.0.0.1. */
  let byIp: Served;
  /** CA-issued, but for another name than the one we connect to. */
  let wrongName: Served;
  /** A version this run deploys: issued by another CA (a public one, say) for a name that is not the management address. */
  let deployed: Served;
  /** Self-signed, nobody's version. */
  let unrelated: Served;

  before(async () => {
    const name = ca.issue('fw.example.test');
    const ip = ca.issue('fw-by-ip', 'ecdsa-p256', ['IP:127.0.0.1']);
    const wrong = ca.issue('other.example.test');
    const version = otherCa.issue('vpn.example.com');
    const selfSigned = sonicwallSelfSigned('127.0.0.1');
    [byName, byIp, wrongName, deployed, unrelated] = await Promise.all([
      serve(name.certPem, name.keyPem, name.fingerprintSha256, [ca.intermediatePem]),
      serve(ip.certPem, ip.keyPem, ip.fingerprintSha256, [ca.intermediatePem]),
      serve(wrong.certPem, wrong.keyPem, wrong.fingerprintSha256, [ca.intermediatePem]),
      serve(version.certPem, version.keyPem, version.fingerprintSha256, [otherCa.intermediatePem]),
      serve(selfSigned.certPem, selfSigned.keyPem, selfSigned.fingerprintSha256),
    ]);
  });
  after(async () => {
    for (const s of [byName, byIp, wrongName, deployed, unrelated]) {
      s?.server.closeAllConnections();
      await new Promise((resolve) => s?.server.close(resolve));
    }
  });

  /** A GET through a fresh dispatcher for `trust`, addressed by host name (resolved to loopback). */
  const getByName = async (host: string, served: Served, trust: ManagementTrust): Promise<number> => {
    const dispatcher = trustedDispatcher(trust, toLoopback);
    try {
      return (await fetch(`https://${host}:${served.port}/api`, { dispatcher })).status;
    } finally {
      await dispatcher.close();
    }
  };
  /** A GET through createDeviceHttp, addressed by IP (as most firewalls are); failures come back classified. */
  const getByIp = async (served: Served, trust: ManagementTrust): Promise<number> =>
    (await createDeviceHttp({ host: '127.0.0.1', port: served.port, trust }, 'test').request('GET', '/api')).status;
  const untrusted = async (promise: Promise<unknown>): Promise<string> => {
    const error = await rejection(promise, ClassifiedError);
    assert.equal(error.type, FailureType.targetTlsUntrusted, error.message);
    return error.message;
  };

  describe('a CA', () => {
    for (const alsoAccept of [undefined, ['00'.repeat(32)]]) {
      const label = alsoAccept ? ' (with an alsoAccept list)' : '';
      it(`trusts a certificate it issued for the host name${label}`, async () => {
        assert.equal(
          await getByName('fw.example.test', byName, { caPem: ca.rootPem, ...(alsoAccept ? { alsoAccept } : {}) }),
          200,
        );
      });
      it(`trusts a certificate it issued for the IP address${label}`, async () => {
        assert.equal(await getByIp(byIp, { caPem: ca.rootPem, ...(alsoAccept ? { alsoAccept } : {}) }), 200);
      });
      it(`refuses a certificate it issued for another name${label}`, async () => {
        await assert.rejects(
          getByName('fw.example.test', wrongName, { caPem: ca.rootPem, ...(alsoAccept ? { alsoAccept } : {}) }),
        );
        assert.match(
          await untrusted(getByIp(wrongName, { caPem: ca.rootPem, ...(alsoAccept ? { alsoAccept } : {}) })),
          /name does not match the host|ALTNAME/,
        );
      });
      it(`refuses a certificate for the name but issued for a host name, when addressed by IP${label}`, async () => {
        await untrusted(getByIp(byName, { caPem: ca.rootPem, ...(alsoAccept ? { alsoAccept } : {}) }));
      });
      it(`refuses a self-signed certificate and one of another CA${label}`, async () => {
        await untrusted(getByIp(unrelated, { caPem: ca.rootPem, ...(alsoAccept ? { alsoAccept } : {}) }));
        await untrusted(getByIp(deployed, { caPem: ca.rootPem, ...(alsoAccept ? { alsoAccept } : {}) }));
      });
    }

    it('accepts the certificate of a version this run deploys (alsoAccept), whatever CA issued it and whatever name it carries', async () => {
      assert.equal(await getByIp(deployed, { caPem: ca.rootPem, alsoAccept: [deployed.fingerprint] }), 200);
      // Colons and upper case, as fingerprints are often written.
      const written = (deployed.fingerprint.toUpperCase().match(/../g) ?? []).join(':');
      assert.equal(await getByName('fw.example.test', deployed, { caPem: ca.rootPem, alsoAccept: [written] }), 200);
    });

    it('alsoAccept adds exactly those fingerprints: an unrelated self-signed certificate is still refused', async () => {
      await untrusted(getByIp(unrelated, { caPem: ca.rootPem, alsoAccept: [deployed.fingerprint] }));
      await assert.rejects(
        getByName('fw.example.test', unrelated, { caPem: ca.rootPem, alsoAccept: [deployed.fingerprint] }),
      );
    });

    it('an empty CA with alsoAccept trusts nothing but the listed fingerprints', async () => {
      await untrusted(getByIp(byIp, { caPem: '', alsoAccept: [deployed.fingerprint] }));
      assert.equal(await getByIp(deployed, { caPem: '', alsoAccept: [deployed.fingerprint] }), 200);
    });
  });

  describe('a pin', () => {
    it('accepts the pinned certificate and the run’s versions, nothing else', async () => {
      assert.equal(await getByIp(unrelated, { fingerprintSha256: unrelated.fingerprint }), 200);
      assert.equal(
        await getByIp(deployed, { fingerprintSha256: unrelated.fingerprint, alsoAccept: [deployed.fingerprint] }),
        200,
      );
      assert.match(
        await untrusted(
          getByIp(byIp, { fingerprintSha256: unrelated.fingerprint, alsoAccept: [deployed.fingerprint] }),
        ),
        /not the pinned certificate/,
      );
    });
  });
});
