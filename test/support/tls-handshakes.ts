/**
 * TLS session resumption as a test sees it. A fake appliance counts the handshakes on its management
 * listener (full or resumed), and `resumesSessions` shows that a listener really offers resumable
 * sessions: the premise of the tests that a pinned-fingerprint client never resumes one
 * (activities/deployers/device-http.ts, `maxCachedSessions: 0`).
 */
import assert from 'node:assert/strict';
import { connect, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls';

export interface HandshakeCount {
  /** Full handshakes: the server sent its certificate. */
  full: number;
  /** Abbreviated handshakes that resumed an earlier session: no certificate was sent. */
  resumed: number;
}

/** Counts the handshakes of a listener from now on (live object). */
export function countHandshakes(server: Server): HandshakeCount {
  const count: HandshakeCount = { full: 0, resumed: 0 };
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.isSessionReused()) count.resumed += 1;
    else count.full += 1;
  });
  return count;
}

/** One TLS connection; resolves with the session it got and whether it resumed `session`. */
function handshake(
  host: string,
  port: number,
  session: Buffer | undefined,
  extra: SecureContextOptions,
): Promise<{ session: Buffer | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    let reused = false;
    // The certificate is the fake's own; trust is not what this probe is about.
    const socket = connect({ host, port, rejectUnauthorized: false, ...extra, ...(session ? { session } : {}) });
    socket.on('session', (s: Buffer) => {
      ticket = s;
      // TLS 1.3 sends the ticket after the handshake: close once it is here.
      socket.end();
    });
    socket.once('secureConnect', () => {
      // Read here: once the socket is closed, it no longer knows.
      reused = socket.isSessionReused();
      if (reused) socket.end();
      // A server that issues no ticket sends nothing more.
      else setTimeout(() => socket.end(), 1_000).unref();
    });
    socket.once('error', reject);
    socket.once('close', () => resolve({ session: ticket ?? session, reused }));
  });
}

/** True when a second connection to host:port resumes the session of the first (the server issues tickets). */
export async function resumesSessions(host: string, port: number, extra: SecureContextOptions = {}): Promise<boolean> {
  const first = await handshake(host, port, undefined, extra);
  if (!first.session) return false;
  return (await handshake(host, port, first.session, extra)).reused;
}

/**
 * Runs `work` (requests of a pinned client) against a listener counted by `count`: it must open more
 * than one TLS connection (else nothing could have been resumed) and resume none of them.
 */
export async function assertNeverResumes(count: HandshakeCount, work: () => Promise<void>): Promise<void> {
  const before = { ...count };
  await work();
  const full = count.full - before.full;
  const resumed = count.resumed - before.resumed;
  assert.ok(
    full + resumed >= 2,
    `the work opened more than one TLS connection (saw ${full + resumed}): else nothing could resume`,
  );
  assert.equal(
    resumed,
    0,
    'the pinned client never resumes a session (a resumed handshake shows no certificate to check)',
  );
}

/** A fake device's management listener: where it answers, and its handshakes counted by `countHandshakes`. */
export interface CountedListener {
  host: string;
  port: number;
  managementHandshakes: HandshakeCount;
}

/**
 * The shared test of a pinned client against a device that resumes TLS sessions: first the premise (a plain
 * client does resume there), then three `round`s of the pinned client's work, none of which may resume.
 */
export async function assertPinnedClientNeverResumes(
  device: CountedListener,
  label: string,
  round: (i: number) => Promise<void>,
): Promise<void> {
  assert.equal(await resumesSessions(device.host, device.port), true, `the fake ${label} resumes TLS sessions`);
  // Kept-alive connections are shared by requests; a second connection is where a client would resume.
  await assertNeverResumes(device.managementHandshakes, async () => {
    for (let i = 0; i < 3; i++) await round(i);
  });
}
