/**
 * A TCP listener in front of a real server that can hang: in `hang` mode it accepts connections,
 * reads the requests and never answers (what Pebble 2.4 did under load, see
 * test/integration/acme-timeout.test.ts); in `forward` mode it pipes every new connection to the
 * server. TLS passes through untouched, so clients still verify the server's own certificate.
 */
import net from 'node:net';

export interface HangProxy {
  port: number;
  /** Connections accepted and held while hanging (they are closed when the proxy forwards again). */
  readonly held: number;
  hang(): void;
  forward(): void;
  close(): Promise<void>;
}

export async function startHangProxy(
  target: { host: string; port: number },
  mode: 'hang' | 'forward',
): Promise<HangProxy> {
  let hanging = mode === 'hang';
  const heldSockets = new Set<net.Socket>();
  const open = new Set<net.Socket>();
  let held = 0;
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    if (hanging) {
      held += 1;
      heldSockets.add(socket);
      socket.on('close', () => heldSockets.delete(socket));
      socket.resume();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get held() {
      return held;
    },
    hang() {
      hanging = true;
    },
    forward() {
      hanging = false;
      for (const socket of heldSockets) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
