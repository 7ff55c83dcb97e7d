import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Listener, startListener } from '@pullwatch/http-listener';
import type { Registry } from 'prom-client';

/**
 * The analyzer's HTTP side, for Prometheus and the kubelet: `/metrics`, `/healthz` (the process answers)
 * and `/readyz` (consuming: joined the group and not stopping).
 */
export function analyzerHttpHandler(registry: Registry, ready: () => boolean) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') {
      json(200, { status: 'ok' });
    } else if (req.url === '/readyz') {
      if (ready()) json(200, { status: 'ready' });
      else json(503, { status: 'not ready', reason: 'not consuming (starting, or stopping)' });
    } else {
      res.writeHead(404).end();
    }
  };
}

/** Binds the analyzer's HTTP endpoint (before consuming starts: a taken port fails at once). */
export function startAnalyzerHttp(
  at: { host: string; port: number },
  registry: Registry,
  ready: () => boolean,
): Promise<Listener> {
  return startListener(analyzerHttpHandler(registry, ready), at.host, at.port);
}
