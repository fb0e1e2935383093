/**
 * The IIS simulator's HTTP.sys: one TLS listener per binding port on 127.0.0.1, choosing the
 * certificate per connection from the simulator's current SSL bindings (SNI `hostnameport` entries
 * first, then the `ipport` entry of the port), so a handshake shows whatever a deploy bound a moment
 * ago. A port without a usable certificate fails the handshake, as HTTP.sys resets the connection
 * (ASSUMPTION). SNI entries before the ipport entry: Posh-ACME.Deploy Set-IISCertificateOld.ps1
 * table (docs/vendors/iis.md). The response after the handshake (a 200 with an IIS Server header) is ASSUMPTION:
 * nothing reads it. Simulator only: no Windows was available.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface ServedMaterial {
  /** Cache key, e.g. the thumbprint. */
  id: string;
  certPem: string;
  keyPem: string;
  chainPems: string[];
}

export class HttpSysListeners {
  private readonly servers = new Map<number, net.Server>();
  private readonly sockets = new Set<net.Socket>();
  private readonly contexts = new Map<string, tls.SecureContext>();
  private readonly empty = tls.createSecureContext({});

  constructor(private readonly pick: (port: number, servername: string | undefined) => ServedMaterial | undefined) {}

  private context(material: ServedMaterial | undefined): tls.SecureContext | undefined {
    if (!material) return undefined;
    let context = this.contexts.get(material.id);
    if (!context) {
      context = tls.createSecureContext({
        key: material.keyPem,
        cert: [material.certPem, ...material.chainPems].map((p) => p.trim()).join('\n'),
      });
      this.contexts.set(material.id, context);
    }
    return context;
  }

  async listen(port: number): Promise<void> {
    if (this.servers.has(port)) return;
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      const byName = (name: string | undefined): tls.SecureContext | undefined => this.context(this.pick(port, name));
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: byName(undefined) ?? this.empty,
        SNICallback: (name, cb) => cb(null, byName(name) ?? byName(undefined) ?? this.empty),
      });
      secure.on('secure', () =>
        secure.end(
          'HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0 (CertFleet simulator)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
        ),
      );
      secure.on('error', () => secure.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.set(port, server);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      [...this.servers.values()].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    this.servers.clear();
  }
}
