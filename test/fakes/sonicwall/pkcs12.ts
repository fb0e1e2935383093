/**
 * What the fake SonicWall does with an imported PKCS#12: open it with its password (node-forge,
 * which reads both the legacy PKCS#12 PBE 3DES and the PBES2/AES encryptions), and pick the leaf (the
 * certificate matching the key) and the other certificates (the chain it then serves).
 */
import type { X509Certificate, KeyObject } from 'node:crypto';
import { openPkcs12Leaf, usesPbes2 } from '../../support/pkcs12-forge';

export interface OpenedPkcs12 {
  leaf: X509Certificate;
  key: KeyObject;
  /** The other certificates of the file, in file order. */
  chain: X509Certificate[];
  /** The key bag is encrypted with PBES2 (AES): modern, refused by legacy firmware (docs/vendors/sonicwall.md). */
  modernEncryption: boolean;
}

/** Throws Pkcs12ReadError (problem `password` or `format`, with a message the device shows) when it cannot. */
export function openPkcs12(bytes: Buffer, password: string): OpenedPkcs12 {
  const { leaf, key, chain } = openPkcs12Leaf(bytes, password);
  return { leaf, key, chain, modernEncryption: usesPbes2(bytes) };
}
