import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { createServer, type Server } from 'node:tls';

/**
 * Terminates TLS in front of a plaintext server (e.g. the embedded ClickHouse, which serves HTTP
 * only), as a load balancer or ClickHouse's own HTTPS port would: clients see the certificate given.
 */
export async function startTlsProxy(
  targetHost: string,
  targetPort: number,
  tls: { key: Buffer; cert: Buffer },
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(tls, (client) => {
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  // Failed handshakes (the client does not trust us) are the client's to report.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
