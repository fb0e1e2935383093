/**
 * What the IIS simulator does with an uploaded PFX: open it with the password the import script
 * carries (node-forge reads both the PKCS#12 PBE 3DES and the PBES2/AES encryptions), and find the
 * leaf (the certificate matching the key) and the other certificates. So a test passes only when
 * the deployer uploaded the right file and put the right password in the script. Which encryptions
 * Windows reads is decided in server.ts (AES only from build 16299: Posh-ACME #446, xca #559).
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

export class PfxError extends Error {
  constructor(
    readonly problem: 'password' | 'format',
    message: string,
  ) {
    super(message);
  }
}

export interface OpenedPfx {
  leaf: X509Certificate;
  /** Windows thumbprint: SHA-1 of the DER leaf, uppercase hex. */
  thumbprint: string;
  key: KeyObject;
  keyPem: string;
  /** The other certificates, in file order. */
  chain: X509Certificate[];
  /** The key bag uses PBES2 (AES): Windows before build 16299 cannot read it (docs/vendors/iis.md). */
  aes: boolean;
  friendlyName?: string;
}

/** DER of the PBES2 OID 1.2.840.113549.1.5.13. */
const PBES2_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d]);
const der = (node: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');

export const thumbprintOfDer = (raw: Buffer): string => createHash('sha1').update(raw).digest('hex').toUpperCase();

export function openPfx(bytes: Buffer, password: string): OpenedPfx {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(
      forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary'))),
      false,
      password,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/password|MAC could not be verified|decrypt/i.test(message)) throw new PfxError('password', 'wrong password');
    throw new PfxError('format', 'not a PKCS#12 file');
  }
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
    throw new PfxError('format', 'unreadable key or certificate bag');
  }
  if (!key) throw new PfxError('format', 'no private key');
  const privateKey = key;
  const leaf = certs.find((c) => c.checkPrivateKey(privateKey));
  if (!leaf) throw new PfxError('format', 'no certificate matches the key');
  return {
    leaf,
    thumbprint: thumbprintOfDer(leaf.raw),
    key,
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    chain: certs.filter((c) => c !== leaf),
    aes: bytes.includes(PBES2_OID),
    ...(friendlyName ? { friendlyName } : {}),
  };
}
