/**
 * The ARI certificate identifier (RFC 9773 §4.1): base64url(AKI keyIdentifier) "." base64url(serial),
 * the serial being the DER INTEGER's content octets (a leading 00 kept). Read from the DER with
 * node-forge's ASN.1 parser, which (unlike its certificate parser) takes ECDSA certificates too.
 */
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';

const AKI_OID = '2.5.29.35';
const ASN1 = forge.asn1;

const b64url = (binary: string): string => Buffer.from(binary, 'binary').toString('base64url');

/** A context-specific tag [n] (the optional and tagged fields of a certificate). */
const isContextTag = (node: forge.asn1.Asn1 | undefined, n: number): boolean =>
  node !== undefined && node.tagClass === ASN1.Class.CONTEXT_SPECIFIC && Number(node.type) === n;

function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  return node && Array.isArray(node.value) ? node.value : [];
}

/** The certID of a PEM certificate; throws when the certificate has no AKI keyIdentifier. */
export function ariCertIdOf(certPem: string): string {
  const der = new X509Certificate(certPem).raw;
  const cert = ASN1.fromDer(forge.util.createBuffer(der.toString('binary')));
  const tbs = children(cert)[0];
  const fields = children(tbs);
  // tbsCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject, spki, [1], [2], [3] extensions
  const hasVersion = isContextTag(fields[0], 0);
  const serial = fields[hasVersion ? 1 : 0];
  if (!serial || Number(serial.type) !== Number(ASN1.Type.INTEGER) || typeof serial.value !== 'string') {
    throw new Error('ari: the certificate has no serial number');
  }
  const extensions = fields.find((f) => isContextTag(f, 3));
  for (const extension of children(children(extensions)[0])) {
    const [oid, ...rest] = children(extension);
    if (!oid || typeof oid.value !== 'string' || ASN1.derToOid(oid.value) !== AKI_OID) continue;
    const octets = rest.at(-1);
    if (!octets || typeof octets.value !== 'string') break;
    const aki = ASN1.fromDer(forge.util.createBuffer(octets.value));
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }
    const keyId = children(aki).find((f) => isContextTag(f, 0));
    if (!keyId || typeof keyId.value !== 'string') break;
    return `${b64url(keyId.value)}.${b64url(serial.value)}`;
  }
  throw new Error('ari: the certificate has no authority key identifier, so it has no ARI certID');
}
