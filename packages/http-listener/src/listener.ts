import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listener {
  readonly server: Server;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting connections, closes idle ones, and resolves once the requests in progress are answered. */
  close(): Promise<void>;
}

export function startListener(handler: RequestListener, host: string, port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const url = `http://${host}:${(server.address() as AddressInfo).port}`;
      let closing: Promise<void> | null = null;
      resolve({
        server,
        url,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          });
          return closing;
        },
      });
    });
  });
}
