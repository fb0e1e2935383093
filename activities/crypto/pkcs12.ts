/** PKCS#12 (PFX) building with node-forge; loaded on first use through buildPfx (activities/crypto/pem.ts). */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { PfxInput } from './pem';

const { asn1, pki, pkcs12, util } = forge;

function bagAttributes(localKeyId: string, friendlyName?: string): forge.asn1.Asn1 {
  const attrs: forge.asn1.Asn1[] = [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.localKeyId!).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, localKeyId),
      ]),
    ]),
  ];
  if (friendlyName) {
    attrs.push(
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.friendlyName!).getBytes()),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
          asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, friendlyName),
        ]),
      ]),
    );
  }
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, attrs);
}

function dataContentInfo(safeContents: forge.asn1.Asn1): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.data!).getBytes()),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, asn1.toDer(safeContents).getBytes()),
    ]),
  ]);
}

/**
 * Builds a password-protected PKCS#12 for RSA and ECDSA keys alike (node-forge's own builder only
 * wraps RSA keys): the key as a PKCS#8 shrouded key bag, the leaf and chain as cert bags, SHA-1 MAC.
 */
export function buildPkcs12(input: PfxInput): Buffer {
  const pkcs8Der = createPrivateKey(input.keyPem).export({ format: 'der', type: 'pkcs8' });
  const keyInfo = asn1.fromDer(util.createBuffer(pkcs8Der.toString('binary')));
  const leafDer = new X509Certificate(input.certPem).raw;
  const localKeyId = createHash('sha1').update(leafDer).digest().toString('binary');

  const algorithm = input.algorithm ?? 'aes256';
  // PBES2 (aes256) derives from the UTF-8 bytes of the password; PKCS#12 PBE (3des) from its BMPString, which forge builds itself.
  const keyPassword = algorithm === 'aes256' ? util.encodeUtf8(input.password) : input.password;
  const shrouded = pki.encryptPrivateKeyInfo(keyInfo, keyPassword, {
    algorithm,
    count: 2048,
    saltSize: 8,
  });
  const keyBag = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.pkcs8ShroudedKeyBag!).getBytes()),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [shrouded]),
    bagAttributes(localKeyId, input.friendlyName),
  ]);

  const certBag = (der: Buffer, attrs?: forge.asn1.Asn1): forge.asn1.Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.certBag!).getBytes()),
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
          asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.x509Certificate!).getBytes()),
          asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
            asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, der.toString('binary')),
          ]),
        ]),
      ]),
      ...(attrs ? [attrs] : []),
    ]);
  const certBags = [
    certBag(leafDer, bagAttributes(localKeyId, input.friendlyName)),
    ...input.chainPems.map((p) => certBag(new X509Certificate(p).raw)),
  ];

  const authSafe = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    dataContentInfo(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, certBags)),
    dataContentInfo(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [keyBag])),
  ]);
  const authSafeDer = asn1.toDer(authSafe).getBytes();

  const macSalt = forge.random.getBytesSync(8);
  const iterations = 2048;
  const macKey = pkcs12.generateKey(input.password, util.createBuffer(macSalt), 3, iterations, 20);
  const hmac = forge.hmac.create();
  hmac.start('sha1', macKey);
  hmac.update(authSafeDer);
  const macValue = hmac.digest().getBytes();

  const pfx = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.data!).getBytes()),
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, authSafeDer),
      ]),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
          asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.sha1!).getBytes()),
          asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
        ]),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, macValue),
      ]),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, macSalt),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(iterations).getBytes()),
    ]),
  ]);
  return Buffer.from(asn1.toDer(pfx).getBytes(), 'binary');
}
