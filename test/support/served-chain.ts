/** What a TLS endpoint sends: the SHA-256 fingerprints of its certificate chain, read over a real handshake. */
import { connect, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';

/** Fingerprints (lower-case hex, no colons) of the certificates the endpoint sends, leaf first. */
export function servedChainFingerprints({ host, port }: { host: string; port: number }): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false }, () => {
      const fingerprints: string[] = [];
      let cert: DetailedPeerCertificate | PeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && cert.fingerprint256 && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        fingerprints.push(cert.fingerprint256.replace(/:/g, '').toLowerCase());
        cert = 'issuerCertificate' in cert ? cert.issuerCertificate : undefined;
      }
      socket.end();
      resolve(fingerprints);
    });
    socket.once('error', reject);
  });
}
