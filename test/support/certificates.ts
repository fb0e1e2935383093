/** Real certificates for deployer tests: a throwaway CA (root + intermediate) issuing leaves with openssl. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCertificateFacts } from '../../activities/crypto/pem';
import type { CertificateMaterial } from '../../activities/deployers/types';
import type { KeyType } from '../../activities/domain/key-types';

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

const keyArgs = (keyType: KeyType): string[] =>
  keyType.startsWith('ecdsa')
    ? ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${keyType === 'ecdsa-p384' ? 'P-384' : 'P-256'}`]
    : ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${keyType.slice(4)}`];

export interface TestCa {
  rootPem: string;
  intermediatePem: string;
  /** `subjectAltNames` in openssl's syntax (e.g. ['DNS:fw.example.test', 'IP:127.0.0.1']); default the common name as a DNS name. */
  issue(commonName: string, keyType?: KeyType, subjectAltNames?: string[]): CertificateMaterial;
  dispose(): void;
}

let counter = 0;

export function createTestCa(): TestCa {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certfleet-ca-'));
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'root.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'root.key',
      '-subj',
      '/CN=CertFleet Test Root',
      '-days',
      '30',
      '-out',
      'root.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ],
    dir,
  );
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'int.key'], dir);
  openssl(['req', '-new', '-key', 'int.key', '-subj', '/CN=CertFleet Test Intermediate', '-out', 'int.csr'], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'int.csr',
      '-CA',
      'root.pem',
      '-CAkey',
      'root.key',
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      ext,
      '-extensions',
      'ca',
      '-out',
      'int.pem',
    ],
    dir,
  );
  const rootPem = readFileSync(path.join(dir, 'root.pem'), 'utf8');
  const intermediatePem = readFileSync(path.join(dir, 'int.pem'), 'utf8');
  return {
    rootPem,
    intermediatePem,
    issue(commonName, keyType = 'ecdsa-p256', subjectAltNames = [`DNS:${commonName}`]) {
      const n = ++counter;
      const leafExt = path.join(dir, `leaf${n}.cnf`);
      writeFileSync(
        leafExt,
        `[leaf]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${subjectAltNames.join(',')}\n`,
      );
      openssl(['genpkey', ...keyArgs(keyType), '-out', `leaf${n}.key`], dir);
      openssl(['req', '-new', '-key', `leaf${n}.key`, '-subj', `/CN=${commonName}`, '-out', `leaf${n}.csr`], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `leaf${n}.csr`,
          '-CA',
          'int.pem',
          '-CAkey',
          'int.key',
          '-CAcreateserial',
          '-days',
          '20',
          '-extfile',
          leafExt,
          '-extensions',
          'leaf',
          '-out',
          `leaf${n}.pem`,
        ],
        dir,
      );
      const certPem = readFileSync(path.join(dir, `leaf${n}.pem`), 'utf8');
      const facts = readCertificateFacts(certPem);
      return {
        versionId: `v${n}`,
        commonName,
        serialHex: facts.serialHex,
        fingerprintSha256: facts.fingerprintSha256,
        notAfter: facts.notAfter,
        keyType,
        certPem,
        chainPems: [intermediatePem],
        keyPem: readFileSync(path.join(dir, `leaf${n}.key`), 'utf8'),
      };
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
