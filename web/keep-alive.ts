import type { Server } from 'node:http';

/**
 * How long the console keeps an idle kept-alive connection open: longer than the clients that pool its
 * connections. The console runs behind a TLS reverse proxy (docs/install-compose.md), and proxies keep idle
 * upstream connections for about a minute (nginx's upstream `keepalive_timeout` and an AWS ALB's idle
 * timeout default to 60 s). With Node's default of 5 s (https://nodejs.org/api/http.html#serverkeepalivetimeout)
 * the server closes a connection the proxy still pools, the proxy's next request on it races the close,
 * and the user gets a 502: the well-known "Node behind a proxy" race (AWS Elastic Load Balancing docs,
 * "Connection idle timeout": the target's keep-alive must be longer than the balancer's idle timeout).
 * Our own fleet harness hit it as "fetch failed: other side closed" on Renew now after an idle fleet.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Sets the server's keep-alive and header timeouts. The header timeout stays above the keep-alive one,
 * as the widely used fix for nodejs/node#27363 does (a kept-alive connection closed early when the
 * header timeout was the shorter).
 */
export function keepConnectionsAlive(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
}
