/** Self-signed EC P-256 certificates made by the openssl CLI, for fakes and servers that start with one. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SelfSignedOptions {
  /** `/CN=name`, or `/` for an empty subject. */
  subject: string;
  /** e.g. `DNS:name,IP:127.0.0.1`. */
  subjectAltName: string;
  /** Default 5. */
  days?: number;
}

/** A fresh key pair and its self-signed certificate, as PEM. */
export function opensslSelfSigned(options: SelfSignedOptions): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certfleet-self-signed-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        String(options.days ?? 5),
        '-subj',
        options.subject,
        '-addext',
        `subjectAltName=${options.subjectAltName}`,
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return {
      certPem: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
      keyPem: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
