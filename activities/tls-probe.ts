import type { TLSSocket } from 'node:tls';

/** How long a probe's peer gets to answer our close before the socket is destroyed. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Closes a TLS probe's socket once its handshake has been read (verify, the management certificate
 * read, "Fetch the fingerprint"). end() alone left the socket open for good when the peer spoke first
 * (an HTTP answer, an IMAPS or SMTPS greeting, TLS 1.3 session tickets): nobody read it, so its 'end'
 * never came (1,001 descriptors in the worker after a fleet of 1,000 was deployed, README "A fleet").
 * destroy() at once sends a reset while those bytes are unread, and a peer can then see the handshake
 * fail (a test server's connection handler never ran, and the test waited for it: CI). So: read and
 * drop whatever comes, end our side with close_notify, and destroy only a peer that does not close
 * within the grace.
 */
export function closeProbeSocket(socket: TLSSocket): void {
  const force = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(force));
  socket.on('error', () => undefined);
  socket.resume();
  socket.end();
}
