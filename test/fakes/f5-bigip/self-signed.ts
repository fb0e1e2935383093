/**
 * Self-signed RSA certificates for the fake BIG-IP: its management HTTPS certificate and the factory
 * `/Common/default.crt` + `default.key` every client-ssl profile is bound to before a deploy (a real
 * BIG-IP ships both as self-signed RSA 2048, CN localhost.localdomain). The key is generated natively
 * (fast); node-forge only assembles and signs the certificate.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface SelfSigned {
  keyPem: string;
  certPem: string;
  /** SHA-256 of the DER, lowercase hex without colons. */
  fingerprintSha256: string;
}

export function selfSignedRsa(commonName: string, days = 30): SelfSigned {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
  const attrs = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'CertFleet fake BIG-IP' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: commonName },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const fingerprintSha256 = new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
  return { keyPem, certPem, fingerprintSha256 };
}
