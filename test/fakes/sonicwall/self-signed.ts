/**
 * The fake SonicWall's own certificate: what web management and the SSL-VPN portal present while they
 * are set to `use_self_signed` (a real SonicWall generates a self-signed RSA certificate, by default
 * for 192.168.168.168). The key is generated natively; node-forge assembles and signs the certificate.
 */
import { forgeSelfSignedRsa, type SelfSignedRsa } from '../../support/forge-self-signed';

export function sonicwallSelfSigned(commonName = '192.168.168.168', days = 3650): SelfSignedRsa {
  return forgeSelfSignedRsa({
    commonName,
    organizationName: 'HTTPS Management Certificate for SonicWALL (self-signed)',
    days,
    validSinceMs: 86_400_000,
  });
}
