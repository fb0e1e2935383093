import * as acme from 'acme-client';
import type { KeyType } from '../domain/key-types';

/** A new private key (PEM) of the certificate's key type. */
export async function generatePrivateKey(keyType: KeyType): Promise<string> {
  switch (keyType) {
    case 'ecdsa-p256':
      return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    case 'ecdsa-p384':
      return (await acme.crypto.createPrivateEcdsaKey('P-384')).toString();
    case 'rsa-2048':
      return (await acme.crypto.createPrivateRsaKey(2048)).toString();
    case 'rsa-3072':
      return (await acme.crypto.createPrivateRsaKey(3072)).toString();
    case 'rsa-4096':
      return (await acme.crypto.createPrivateRsaKey(4096)).toString();
  }
}

/** CSR for exactly one name (or one wildcard). The CN is set when it fits its 64-character limit. */
export async function createCsrFor(name: string, keyPem: string): Promise<Buffer> {
  const [, csr] = await acme.crypto.createCsr(
    { ...(name.length <= 64 ? { commonName: name } : {}), altNames: [name] },
    keyPem,
  );
  return csr;
}
