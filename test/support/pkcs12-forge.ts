/**
 * Opening a PKCS#12 file with node-forge for the fake appliances (FortiGate, SonicWall, IIS): forge
 * reads both the legacy PKCS#12 PBE 3DES and the PBES2/AES encryptions. This only reads the file;
 * each fake decides what the device answers (its own error codes and messages) and which encryptions
 * the device accepts.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** Why a file could not be opened: its password, or anything else about its content. */
export type Pkcs12ReadProblem = 'password' | 'format';

export class Pkcs12ReadError extends Error {
  constructor(
    readonly problem: Pkcs12ReadProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface Pkcs12Bags {
  /** The last key bag of the file (files hold one). */
  key: KeyObject | undefined;
  /** Every certificate bag, in file order. */
  certs: X509Certificate[];
  /** The first friendlyName attribute found on a certificate bag. */
  friendlyName: string | undefined;
}

/** DER of the PBES2 OID 1.2.840.113549.1.5.13. */
const PBES2_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d]);

/** The file uses PBES2 (AES) somewhere: what legacy firmware and old Windows builds cannot decrypt. */
export const usesPbes2 = (bytes: Buffer): boolean => bytes.includes(PBES2_OID);

const der = (node: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');

function decrypt(bytes: Buffer, password: string): forge.pkcs12.Pkcs12Pfx {
  try {
    return forge.pkcs12.pkcs12FromAsn1(
      forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary'))),
      false,
      password,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/password|MAC could not be verified|decrypt/i.test(message))
      throw new Pkcs12ReadError('password', 'wrong password for the PKCS#12 file');
    throw new Pkcs12ReadError('format', 'not a PKCS#12 file');
  }
}

/** Decrypts `bytes` with `password` and reads its key and certificate bags; throws Pkcs12ReadError. */
export function readPkcs12Bags(bytes: Buffer, password: string): Pkcs12Bags {
  const p12 = decrypt(bytes, password);
  let key: KeyObject | undefined;
  let friendlyName: string | undefined;
  const certs: X509Certificate[] = [];
  try {
    for (const content of p12.safeContents) {
      for (const bag of content.safeBags) {
        if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) {
          key = bag.key
            ? createPrivateKey(forge.pki.privateKeyToPem(bag.key))
            : createPrivateKey({ key: der(bag.asn1), format: 'der', type: 'pkcs8' });
        } else if (bag.type === forge.pki.oids.certBag) {
          certs.push(new X509Certificate(bag.cert ? der(forge.pki.certificateToAsn1(bag.cert)) : der(bag.asn1)));
          const name: unknown = (bag.attributes as Record<string, unknown[] | undefined>)['friendlyName']?.[0];
          if (typeof name === 'string' && !friendlyName) friendlyName = name;
        }
      }
    }
  } catch {
    throw new Pkcs12ReadError('format', 'the PKCS#12 file holds an unreadable key or certificate');
  }
  return { key, certs, friendlyName };
}

export interface OpenedPkcs12Leaf {
  /** The certificate matching the key. */
  leaf: X509Certificate;
  key: KeyObject;
  /** The other certificates of the file, in file order. */
  chain: X509Certificate[];
  friendlyName: string | undefined;
}

/** Opens the file and picks the leaf (the certificate matching the key, whatever the bag order); throws Pkcs12ReadError. */
export function openPkcs12Leaf(bytes: Buffer, password: string): OpenedPkcs12Leaf {
  const { key, certs, friendlyName } = readPkcs12Bags(bytes, password);
  if (!key) throw new Pkcs12ReadError('format', 'the PKCS#12 file holds no private key');
  const leaf = certs.find((c) => c.checkPrivateKey(key));
  if (!leaf) throw new Pkcs12ReadError('format', 'no certificate in the PKCS#12 file matches its private key');
  return { leaf, key, chain: certs.filter((c) => c !== leaf), friendlyName };
}
