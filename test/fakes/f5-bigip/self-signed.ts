/**
 * Self-signed RSA certificates for the fake BIG-IP: its management HTTPS certificate and the factory
 * `/Common/default.crt` + `default.key` every client-ssl profile is bound to before a deploy (a real
 * BIG-IP ships both as self-signed RSA 2048, CN localhost.localdomain). The key is generated natively
 * (fast); node-forge only assembles and signs the certificate.
 */
import { forgeSelfSignedRsa, type SelfSignedRsa } from '../../support/forge-self-signed';

export function selfSignedRsa(commonName: string, days = 30): SelfSignedRsa {
  return forgeSelfSignedRsa({
    commonName,
    organizationName: 'CertFleet fake BIG-IP',
    days,
    validSinceMs: 60_000,
    extraExtensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: commonName },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
}
