import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ariCertIdOf } from '../../activities/acme/ari-cert-id';
import { generateListenerTls } from '../support/pebble';

/** RFC 9773 §4.1's example certificate (AKI 69:88:5B:…:C8:D4, serial 00:87:65:43:21). */
const RFC_9773_EXAMPLE = `-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
`;

describe('ARI certID (RFC 9773 §4.1)', () => {
  it('gives the RFC example certificate the RFC identifier, leading 00 of the serial kept', () => {
    assert.equal(ariCertIdOf(RFC_9773_EXAMPLE), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('reads an RSA certificate: the AKI is the issuer key id, the serial its DER content octets', async () => {
    const tls = await generateListenerTls('ari certid');
    const [aki, serial] = ariCertIdOf(tls.certPem).split('.');
    const forge = (await import('node-forge')).default;
    const ca = forge.pki.certificateFromPem(tls.caCertPem);
    const leaf = forge.pki.certificateFromPem(tls.certPem);
    assert.equal(aki, Buffer.from(ca.generateSubjectKeyIdentifier().getBytes(), 'binary').toString('base64url'));
    const serialBytes = Buffer.from(leaf.serialNumber, 'hex');
    const der = (serialBytes[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.from([0]), serialBytes]) : serialBytes;
    assert.equal(serial, der.toString('base64url'));
  });

  it('refuses a certificate without an authority key identifier, saying why', async () => {
    const tls = await generateListenerTls('ari no aki');
    assert.throws(() => ariCertIdOf(tls.caCertPem), /no authority key identifier/);
  });
});
