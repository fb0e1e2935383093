/**
 * A PKCS#12 file opened by `openssl pkcs12`, not by our own code: what a Windows or appliance import
 * would find in it. The password goes through the environment, never the command line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface OpenedPkcs12 {
  /** The certificate bag(s) that belong to the key (the leaf), PEM. */
  leafPems: string[];
  /** The other certificate bags (the chain), PEM. */
  chainPems: string[];
  /** The private key, PEM (PKCS#8). */
  keyPem: string;
}

const pemBlocks = (text: string, label: string): string[] =>
  text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----\\n?`, 'g')) ?? [];

/** Opens `bytes` with `password`; throws with openssl's message when it cannot (a wrong password, a broken file). */
export function openPkcs12WithOpenssl(bytes: Buffer, password: string): OpenedPkcs12 {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certfleet-pfx-'));
  try {
    const file = path.join(dir, 'download.pfx');
    writeFileSync(file, bytes);
    const run = (...args: string[]): string =>
      execFileSync('openssl', ['pkcs12', '-in', file, '-passin', 'env:PFX_PASS', ...args], {
        env: { ...process.env, PFX_PASS: password },
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString('utf8');
    return {
      leafPems: pemBlocks(run('-nokeys', '-clcerts'), 'CERTIFICATE'),
      chainPems: pemBlocks(run('-nokeys', '-cacerts'), 'CERTIFICATE'),
      keyPem: pemBlocks(run('-nocerts', '-nodes'), 'PRIVATE KEY')[0] ?? '',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
