/**
 * Free-port helpers for tests. Every peer binds to 127.0.0.1 on a port chosen at run time so test
 * files can run in parallel. There is an unavoidable race between "port is free now" and "the child
 * binds it"; callers that spawn a process should retry with a fresh port if the bind fails.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const LOOPBACK = '127.0.0.1';

function listenTcp(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeTcp(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function bindUdp(port: number, host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    socket.unref();
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind :0, read the port, close). */
export async function freePort(host: string = LOOPBACK): Promise<number> {
  const server = await listenTcp(0, host);
  const address = server.address();
  await closeTcp(server);
  if (address === null || typeof address === 'string') {
    throw new Error(`freePort: unexpected server address ${String(address)}`);
  }
  return address.port;
}

/**
 * A port on 127.0.0.1 that is free for both TCP and UDP (a DNS server such as pebble-challtestsrv
 * listens on both). Binds TCP :0, then tries UDP on the same number; retries on collision.
 */
export async function freeUdpAndTcpPort(host: string = LOOPBACK, attempts = 20): Promise<number> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const tcp = await listenTcp(0, host);
    const address = tcp.address();
    if (address === null || typeof address === 'string') {
      await closeTcp(tcp);
      throw new Error(`freeUdpAndTcpPort: unexpected server address ${String(address)}`);
    }
    try {
      const udp = await bindUdp(address.port, host);
      await closeUdp(udp);
      await closeTcp(tcp);
      return address.port;
    } catch (err) {
      lastError = err;
      await closeTcp(tcp);
    }
  }
  throw new Error(`freeUdpAndTcpPort: no port free for both TCP and UDP after ${attempts} attempts`, {
    cause: lastError,
  });
}

/**
 * A free TCP port below `limit`, outside the kernel's ephemeral range (32768+ on Linux), for servers
 * that store their ports in a 16-bit signed column (Temporal's cluster_membership.rpc_port is a
 * PostgreSQL smallint). Tries random ports from 10000 up.
 */
export async function freePortBelow(limit = 32_768, host: string = LOOPBACK, attempts = 50): Promise<number> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = 10_000 + Math.floor(Math.random() * (limit - 10_000));
    try {
      await closeTcp(await listenTcp(port, host));
      return port;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`freePortBelow: no free port below ${limit} after ${attempts} attempts`, { cause: lastError });
}
