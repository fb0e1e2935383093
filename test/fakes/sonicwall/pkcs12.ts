/**
 * What the fake SonicWall does with an imported PKCS#12: open it with its password (node-forge,
 * which reads both the legacy PKCS#12 PBE 3DES and the PBES2/AES encryptions), and pick the leaf (the
 * certificate matching the key) and the other certificates (the chain it then serves).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

export type Pkcs12Problem = 'password' | 'format' | 'encryption';

export class Pkcs12Error extends Error {
  constructor(
    readonly problem: Pkcs12Problem,
    message: string,
  ) {
    super(message);
  }
}

export interface OpenedPkcs12 {
  leaf: X509Certificate;
  key: KeyObject;
  /** The other certificates of the file, in file order. */
  chain: X509Certificate[];
  /** The key bag is encrypted with PBES2 (AES): modern, refused by legacy firmware (docs/vendors/sonicwall.md). */
  modernEncryption: boolean;
}

/** DER of the PBES2 OID 1.2.840.113549.1.5.13. */
const PBES2_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d]);

const der = (node: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');

export function openPkcs12(bytes: Buffer, password: string): OpenedPkcs12 {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(
      forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary'))),
      false,
      password,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/password|MAC could not be verified|decrypt/i.test(message))
      throw new Pkcs12Error('password', 'wrong password for the PKCS#12 file');
    throw new Pkcs12Error('format', 'not a PKCS#12 file');
  }
  let key: KeyObject | undefined;
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
        }
      }
    }
  } catch {
    throw new Pkcs12Error('format', 'the PKCS#12 file holds an unreadable key or certificate');
  }
  if (!key) throw new Pkcs12Error('format', 'the PKCS#12 file holds no private key');
  const privateKey = key;
  const leaf = certs.find((c) => c.checkPrivateKey(privateKey));
  if (!leaf) throw new Pkcs12Error('format', 'no certificate in the PKCS#12 file matches its private key');
  return { leaf, key, chain: certs.filter((c) => c !== leaf), modernEncryption: bytes.includes(PBES2_OID) };
}
