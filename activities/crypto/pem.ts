import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into its certificates, in order. */
export function splitPemChain(bundle: string): string[] {
  return (bundle.match(PEM_CERT) ?? []).map((pem) => pem.trim() + '\n');
}

export interface CertificateFacts {
  serialHex: string;
  fingerprintSha256: string; // lowercase hex, no colons
  notBefore: Date;
  notAfter: Date;
  subject: string;
  issuer: string;
  subjectAltNames: string[];
}

export function readCertificateFacts(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  return {
    serialHex: cert.serialNumber.toLowerCase(),
    fingerprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    // Node gives undefined for an empty name: certificates of ACME profiles without a CN (Pebble 2.10's default, Let's Encrypt's tlsserver) have one.
    subject: cert.subject ?? '',
    issuer: cert.issuer ?? '',
    subjectAltNames: (cert.subjectAltName ?? '')
      .split(/,\s*/)
      .filter(Boolean)
      .map((s) => s.replace(/^DNS:/, '')),
  };
}

/** SHA-256 of a DER certificate, as stored in certificate_versions.fingerprint_sha256. */
export function fingerprintOfDer(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** True when the private key belongs to the certificate. */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ format: 'der', type: 'spki' });
  const fromCert = new X509Certificate(certPem).publicKey.export({ format: 'der', type: 'spki' });
  return fromKey.equals(fromCert);
}

export type PfxAlgorithm = 'aes256' | '3des';

export interface PfxInput {
  keyPem: string;
  certPem: string;
  chainPems: string[];
  password: string;
  friendlyName?: string;
  /** 'aes256' (default, modern) or '3des' (legacy: Windows Server before 2016 1709, old appliances). */
  algorithm?: PfxAlgorithm;
}

/**
 * Builds a password-protected PKCS#12 for RSA and ECDSA keys alike (activities/crypto/pkcs12.ts). The
 * builder and node-forge load on the first call: the web console needs them only for a PFX download.
 */
export function buildPfx(input: PfxInput): Buffer {
  return (require('./pkcs12') as typeof import('./pkcs12')).buildPkcs12(input);
}
