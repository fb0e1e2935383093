/**
 * The files an SSH-managed web server reads (docs/vendors/ssh-targets.md): what a version puts in
 * each, how staged copies are named, and how a file's certificate is described. Pure.
 */
import { readCertificateFacts, splitPemChain } from '../../crypto/pem';
import type { NameRules } from '../naming';
import type { CertificateMaterial } from '../types';

export type FileKind = 'cert' | 'chain' | 'key';

/** One file the server reads: where it lives, its mode, and what a version puts in it. */
export interface ServedFile {
  kind: FileKind;
  path: string;
  mode: number;
  contents(material: CertificateMaterial): string;
}

/** Version copies are named `<live path>.<common name>-<serial>`. */
export const STAGED_NAME_RULES: NameRules = { maxLength: 64, allowed: /[A-Za-z0-9_.-]/ };
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

const pemFile = (pems: string[]): string => pems.map((pem) => `${pem.trim()}\n`).join('');
/** Leaf, then intermediates: what nginx's ssl_certificate and a chainless SSLCertificateFile want. */
export const fullChain = (material: CertificateMaterial): string => pemFile([material.certPem, ...material.chainPems]);
export const leafOnly = (material: CertificateMaterial): string => pemFile([material.certPem]);
export const chainOnly = (material: CertificateMaterial): string => pemFile(material.chainPems);
export const keyFile = (material: CertificateMaterial): string => pemFile([material.keyPem]);

export type Contents = Map<FileKind, Buffer | undefined>;

export const same = (a: Buffer | undefined, b: Buffer | undefined): boolean =>
  a === undefined ? b === undefined : b !== undefined && a.equals(b);

/** SHA-256 (hex) of the first certificate in a PEM file, if it has one. */
export function leafFingerprint(data: Buffer | undefined): string | undefined {
  const first = data ? splitPemChain(data.toString('utf8'))[0] : undefined;
  if (!first) return undefined;
  try {
    return readCertificateFacts(first).fingerprintSha256;
  } catch {
    return undefined;
  }
}

export function describeCertificate(data: Buffer): string {
  const first = splitPemChain(data.toString('utf8'))[0];
  if (!first) return 'no certificate in the file';
  try {
    const facts = readCertificateFacts(first);
    const cn = /CN=([^\n,]+)/.exec(facts.subject)?.[1] ?? facts.subject.replace(/\n/g, ', ');
    return `${cn}, expires ${facts.notAfter.toISOString().slice(0, 10)}`;
  } catch {
    return 'an unreadable certificate';
  }
}
