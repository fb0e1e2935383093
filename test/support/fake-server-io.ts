/**
 * Plumbing the fake appliances share (test/fakes): listening on a free loopback port, writing a JSON
 * reply with its length, and a TLS "service" port that only has to present a certificate. What each
 * device answers (paths, status codes, error bodies) stays in its own fake.
 */
import type { ServerResponse } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import * as tls from 'node:tls';

/** Listens on 127.0.0.1 on a port the system picks; resolves with that port, rejects if listening fails. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Writes `payload` as JSON with its content-length (and the device's content type and extra headers). */
export function sendJsonReply(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** What a service port answers, and where it tracks its sockets (a fresh set unless given one to share). */
export interface ServicePortOptions {
  body?: string;
  contentType?: string;
  sockets?: Set<Socket>;
}

/**
 * A TLS service port that presents `tlsOptions`' certificate and answers any request with a 200 (and
 * `body`), closing the connection; its open sockets are tracked so a fake's stop() can end them.
 */
export function tlsServicePort(
  tlsOptions: tls.TlsOptions,
  { body = '', contentType, sockets = new Set<Socket>() }: ServicePortOptions = {},
): { server: tls.Server; sockets: Set<Socket> } {
  const type = contentType ? `content-type: ${contentType}\r\n` : '';
  const server = tls.createServer(tlsOptions, (socket) => {
    socket.on('error', () => undefined);
    socket.end(
      `HTTP/1.1 200 OK\r\n${type}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  return { server, sockets };
}

/** A copy of `pattern` without the g and y flags, so that test() keeps no state between requests. */
export const statelessPattern = (pattern: RegExp): RegExp =>
  new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));

/** Closes the management server and every service port (their open sockets destroyed); resolves once all are closed. */
export async function closeServers(
  management: { close(cb: () => void): unknown; closeAllConnections(): void },
  servicePorts: { server: Server; sockets: Set<Socket> }[],
): Promise<void> {
  const closing = [management, ...servicePorts.map((l) => l.server)].map(
    (s) => new Promise<void>((resolve) => s.close(() => resolve())),
  );
  management.closeAllConnections();
  for (const l of servicePorts) for (const socket of l.sockets) socket.destroy();
  await Promise.all(closing);
}
