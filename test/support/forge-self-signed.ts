/**
 * Self-signed RSA 2048 certificates assembled with node-forge, for the fakes whose device ships one
 * (BIG-IP's factory certificate, SonicWall's management certificate). The key is generated natively
 * (fast); node-forge only assembles and signs the certificate.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface SelfSignedRsa {
  keyPem: string;
  certPem: string;
  /** SHA-256 of the DER, lowercase hex without colons. */
  fingerprintSha256: string;
}

export interface SelfSignedRsaOptions {
  commonName: string;
  organizationName: string;
  days: number;
  /** How long before now the certificate became valid. */
  validSinceMs: number;
  /** Extensions besides `basicConstraints cA:false`, in node-forge's form. */
  extraExtensions?: object[];
}

export function forgeSelfSignedRsa(options: SelfSignedRsaOptions): SelfSignedRsa {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - options.validSinceMs);
  cert.validity.notAfter = new Date(now + options.days * 86_400_000);
  const attrs = [
    { name: 'commonName', value: options.commonName },
    { name: 'organizationName', value: options.organizationName },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: 'basicConstraints', cA: false }, ...(options.extraExtensions ?? [])]);
  cert.sign(forgeKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const fingerprintSha256 = new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
  return { keyPem, certPem, fingerprintSha256 };
}
