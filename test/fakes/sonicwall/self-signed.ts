/**
 * The fake SonicWall's own certificate: what web management and the SSL-VPN portal present while they
 * are set to `use_self_signed` (a real SonicWall generates a self-signed RSA certificate, by default
 * for 192.168.168.168). The key is generated natively; node-forge assembles and signs the certificate.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface SelfSigned {
  keyPem: string;
  certPem: string;
  /** SHA-256 of the DER, lowercase hex without colons. */
  fingerprintSha256: string;
}

export function sonicwallSelfSigned(commonName = '192.168.168.168', days = 3650): SelfSigned {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  const attrs = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'HTTPS Management Certificate for SonicWALL (self-signed)' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: 'basicConstraints', cA: false }]);
  cert.sign(forgeKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  return {
    keyPem,
    certPem,
    fingerprintSha256: new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}
