import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { KubeApiServer } from '../support/kube-apiserver.ts';

/** One event a watch response carried to the collector. */
export interface ProxiedWatchEvent {
  path: string;
  type: string;
  name: string | null;
  code: number | null;
}

export interface ProxiedRequest {
  method: string;
  url: URL;
  /** The answer's status code (0 until it came). */
  status: number;
}

/**
 * An HTTPS proxy in front of the real kube-apiserver, presenting the same certificate, so a collector that
 * talks to it notices nothing. A test can look at every request, hold one back while it changes the
 * server (`before`), and cut every connection (`cut`/`restore`) as a network fault would.
 */
export class ApiProxy {
  readonly requests: ProxiedRequest[] = [];
  /** Every event the watch responses carried, in order. */
  readonly watchEvents: ProxiedWatchEvent[] = [];
  /** Awaited before a request goes on; it may rewrite the URL (its search params). */
  before: ((req: ProxiedRequest) => Promise<void> | void) | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  port = 0;

  constructor(private readonly api: KubeApiServer) {}

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer(this.api.serving, (req, res) => void this.forward(req, res));
    server.on('connection', (s: Socket) => {
      if (this.cutOff) return void s.destroy();
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.cutOff = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private tap(path: string, stream: IncomingMessage): void {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          const ev = JSON.parse(line) as { type: string; object?: { code?: number; metadata?: { name?: string } } };
          this.watchEvents.push({
            path,
            type: ev.type,
            name: ev.object?.metadata?.name ?? null,
            code: ev.object?.code ?? null,
          });
        } catch {
          this.watchEvents.push({ path, type: 'unparsable', name: null, code: null });
        }
      }
    });
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const seen: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', this.api.url),
      status: 0,
    };
    this.requests.push(seen);
    try {
      await this.before?.(seen);
    } catch (err) {
      res.writeHead(502).end(String(err));
      return;
    }
    const upstream = httpsRequest(
      new URL(seen.url.pathname + seen.url.search, this.api.url),
      { method: seen.method, headers: req.headers, ca: this.api.caPem },
      (up) => {
        seen.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.headers);
        // As the server does for a watch: the headers go out now, not with the first event (an Event watch
        // may carry none for minutes; it gets no BOOKMARKs).
        res.flushHeaders();
        if (seen.url.searchParams.get('watch') === 'true') this.tap(seen.url.pathname, up);
        up.pipe(res);
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}
