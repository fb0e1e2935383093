/**
 * The console keeps an idle kept-alive connection longer than Node's 5 s default (web/keep-alive.ts), so a
 * reverse proxy or client that pools it does not reuse a connection the console has just closed.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEEP_ALIVE_TIMEOUT_MS, keepConnectionsAlive } from '../../web/keep-alive';

let server: http.Server;
let agent: http.Agent;

before(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  keepConnectionsAlive(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // A pooling client that keeps its sockets far longer than the server might (as a proxy does).
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
});
after(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const get = (): Promise<{ reused: boolean }> =>
  new Promise((resolve, reject) => {
    const { port } = server.address() as AddressInfo;
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ reused: req.reusedSocket }));
    });
    req.on('error', reject);
  });

it('keeps an idle kept-alive connection open past Node’s 5 s default, and the header timeout above it', async () => {
  assert.ok(KEEP_ALIVE_TIMEOUT_MS >= 61_000, 'longer than a proxy’s usual 60 s idle timeout');
  assert.ok(server.headersTimeout > server.keepAliveTimeout);
  assert.equal((await get()).reused, false);
  // Past Node's default 5 s keep-alive, a server without the setting has closed the socket: the client's
  // pool drops it and its next request opens a new connection.
  await sleep(6_000);
  assert.equal((await get()).reused, true, 'the second request went over the same kept-alive connection');
});
