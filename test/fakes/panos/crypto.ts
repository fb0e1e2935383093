/** Certificate helpers for the fake PAN-OS: self-signed certs, PEM/PKCS#12 reading (openssl), key checks. */
import { opensslSelfSigned } from '../../support/openssl-self-signed';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface KeyPair {
  certPem: string;
  keyPem: string;
  fingerprintSha256: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY =
  /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/;

export const fingerprintOf = (certPem: string): string =>
  new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();

/** A fresh self-signed EC P-256 certificate (openssl, like test/support/certificates.ts). */
export function selfSigned(commonName: string): KeyPair {
  const { certPem, keyPem } = opensslSelfSigned({
    subject: `/CN=${commonName}`,
    subjectAltName: `DNS:${commonName},IP:127.0.0.1`,
    days: 30,
  });
  return { certPem, keyPem, fingerprintSha256: fingerprintOf(certPem) };
}

export const pemCertificates = (text: string): string[] => (text.match(PEM_CERT) ?? []).map((p) => `${p.trim()}\n`);

/** The private key PEM in a text (possibly encrypted), or undefined. */
export const pemPrivateKey = (text: string): string | undefined => PEM_KEY.exec(text)?.[0];

/** Decrypts a PEM private key with the passphrase (an unencrypted key ignores it); throws when it cannot. */
export function decryptKey(keyPem: string, passphrase: string): string {
  return createPrivateKey({ key: keyPem, format: 'pem', passphrase })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ format: 'der', type: 'spki' });
    const fromCert = new X509Certificate(certPem).publicKey.export({ format: 'der', type: 'spki' });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}

/** Reads a PKCS#12 with openssl: the leaf (the cert with a key id), the other certs, and the key. Throws on a wrong passphrase. */
export function readPkcs12(
  pfx: Buffer,
  passphrase: string,
): { leafPem?: string; otherPems: string[]; keyPem?: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-panos-p12-'));
  const file = path.join(dir, 'in.p12');
  writeFileSync(file, pfx);
  const run = (extra: string[]): string => {
    const args = ['pkcs12', '-in', file, '-passin', 'env:FAKE_PANOS_PFX_PASS', '-nodes', ...extra];
    const env = { ...process.env, FAKE_PANOS_PFX_PASS: passphrase };
    try {
      return execFileSync('openssl', args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
    } catch {
      return execFileSync('openssl', [...args, '-legacy'], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
    }
  };
  try {
    const leafPem = pemCertificates(run(['-clcerts', '-nokeys']))[0];
    const otherPems = pemCertificates(run(['-cacerts', '-nokeys']));
    const keyPem = pemPrivateKey(run(['-nocerts']));
    return { ...(leafPem ? { leafPem } : {}), otherPems, ...(keyPem ? { keyPem } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
