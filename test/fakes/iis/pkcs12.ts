/**
 * What the IIS simulator does with an uploaded PFX: open it with the password the import script
 * carries (node-forge reads both the PKCS#12 PBE 3DES and the PBES2/AES encryptions), and find the
 * leaf (the certificate matching the key) and the other certificates. So a test passes only when
 * the deployer uploaded the right file and put the right password in the script. Which encryptions
 * Windows reads is decided in server.ts (AES only from build 16299: Posh-ACME #446, xca #559).
 */
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import { openPkcs12Leaf, usesPbes2 } from '../../support/pkcs12-forge';

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

export const thumbprintOfDer = (raw: Buffer): string => createHash('sha1').update(raw).digest('hex').toUpperCase();

/** Throws Pkcs12ReadError (problem `password` or `format`) when the file cannot be opened. */
export function openPfx(bytes: Buffer, password: string): OpenedPfx {
  const { leaf, key, chain, friendlyName } = openPkcs12Leaf(bytes, password);
  return {
    leaf,
    thumbprint: thumbprintOfDer(leaf.raw),
    key,
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    chain,
    aes: usesPbes2(bytes),
    ...(friendlyName ? { friendlyName } : {}),
  };
}
