import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';

// A self-signed certificate for 127.0.0.1 (valid 2020–2120), for this test server only; the kubeconfig
// trusts it as the cluster's CA, as a real kubeconfig trusts the API server's.
const TLS = {
  cert: readFileSync(new URL('./tls/fake-apiserver.crt', import.meta.url)),
  key: readFileSync(new URL('./tls/fake-apiserver.key', import.meta.url)),
};

/** Namespaces are cluster-scoped: no metadata.namespace. */
type Obj = {
  metadata: { resourceVersion?: string; uid: string; name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};
type Resource = 'events' | 'pods' | 'namespaces';
const KIND = { events: 'Event', pods: 'Pod', namespaces: 'Namespace' } as const;

interface Change {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

/**
 * A Kubernetes API server for tests that speaks the real list/watch protocol for core/v1 events, pods and
 * namespaces, over HTTPS with bearer-token authentication: paged lists with a resourceVersion, chunked
 * newline-delimited watch streams from a version, bookmarks, 410 Gone (as a watch ERROR Status) for versions
 * older than the compaction point, continue tokens that expire (410 with a Status body, reason Expired) once
 * compacted past, deletions (DELETED), malformed lines injected into watch streams, and connections that can
 * be dropped mid-stream.
 */
export class FakeApiServer {
  private rv = 100;
  private compactedBelow = 0;
  private readonly objects = {
    events: new Map<string, Obj>(),
    pods: new Map<string, Obj>(),
    namespaces: new Map<string, Obj>(),
  };
  private readonly history = { events: [] as Change[], pods: [] as Change[], namespaces: [] as Change[] };
  private readonly live = new Set<{ res: Resource; from: number; out: ServerResponse }>();
  private server: Server | null = null;
  private compactBeforeNextContinue = false;
  private stalledWatches = 0;
  private readonly listDelays = new Map<string, number>();
  readonly requests: {
    path: string;
    watch: boolean;
    resourceVersion: string | null;
    continue: string | null;
    status: number;
  }[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer(TLS, (req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  /** A kubeconfig whose contexts all point here. */
  writeKubeconfig(path: string, contexts: string[]): void {
    const ctx = contexts.map((c) => `- name: ${c}\n  context: { cluster: fake, user: tester }`).join('\n');
    writeFileSync(
      path,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: { server: "${this.url}", ` +
        `certificate-authority-data: ${TLS.cert.toString('base64')} }\nusers:\n- name: tester\n  user: { ` +
        `token: test-token }\ncontexts:\n${ctx}\ncurrent-context: ${contexts[0]}\n`,
    );
  }

  put(res: Resource, object: Obj): void {
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const type = this.objects[res].has(key) ? 'MODIFIED' : 'ADDED';
    this.rv += 1;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } };
    this.objects[res].set(key, stored);
    this.record(res, { rv: this.rv, type, object: stored });
  }

  /** Deletes an object: watches see DELETED with its last state (at a new resourceVersion). */
  delete(res: Resource, namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const last = this.objects[res].get(key);
    if (!last) throw new Error(`fake API server: no ${res} ${key}`);
    this.objects[res].delete(key);
    this.rv += 1;
    this.record(res, {
      rv: this.rv,
      type: 'DELETED',
      object: { ...last, metadata: { ...last.metadata, resourceVersion: String(this.rv) } },
    });
  }

  /** Writes a raw line to every live watch of `res` (to test malformed input). */
  writeRaw(res: Resource, line: string): void {
    for (const w of this.live) if (w.res === res) w.out.write(`${line}\n`);
  }

  /** Live watch streams of `res`. */
  watching(res: Resource): number {
    return [...this.live].filter((w) => w.res === res).length;
  }

  /**
   * The next paged-list request that carries a continue token finds the history compacted since its
   * first page, as etcd compaction does between pages: the token is expired (410, reason Expired).
   */
  expireNextContinueToken(): void {
    this.compactBeforeNextContinue = true;
  }

  /**
   * The next `n` watch requests get no answer at all, not even headers, and stay open: what a client sees
   * of a connection that died without a reset, or of a stalled proxy.
   */
  stallNextWatches(n: number): void {
    this.stalledWatches = n;
  }

  /** The next list of `resource` is answered `ms` later: the watches of one cluster answer in any order. */
  delayNextList(resource: Resource, ms: number): void {
    this.listDelays.set(resource, ms);
  }

  private record(res: Resource, change: Change): void {
    this.history[res].push(change);
    for (const w of this.live)
      if (w.res === res) w.out.write(`${JSON.stringify({ type: change.type, object: change.object })}\n`);
  }

  /** Forget history: watches from older versions now get 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv;
  }

  dropConnections(): void {
    for (const w of this.live) w.out.socket?.destroy();
    this.live.clear();
  }

  bookmark(): void {
    for (const w of this.live) {
      const kind = KIND[w.res];
      const line = JSON.stringify({
        type: 'BOOKMARK',
        object: { kind, metadata: { resourceVersion: String(this.rv) } },
      });
      w.out.write(`${line}\n`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1\/(events|pods|namespaces)$/.exec(u.pathname);
    if (req.headers.authorization !== 'Bearer test-token') {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 401 }));
      return;
    }
    if (!m) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    const resource = m[1] as Resource;
    const watch = u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1';
    const request = {
      path: u.pathname,
      watch,
      resourceVersion: u.searchParams.get('resourceVersion'),
      continue: u.searchParams.get('continue'),
      status: 200,
    };
    this.requests.push(request);
    if (!watch) {
      // A continue token is the list's resourceVersion and the offset of the next page, as the real
      // server's token carries the version the list is consistent at.
      const token = u.searchParams.get('continue');
      let listRv = this.rv;
      let start = 0;
      if (token) {
        [listRv, start] = Buffer.from(token, 'base64url').toString('utf8').split(':').map(Number) as [number, number];
        if (this.compactBeforeNextContinue) {
          this.compactBeforeNextContinue = false;
          this.rv += 1; // a write elsewhere (resourceVersions are cluster-wide), then compaction past it
          this.compact();
        }
        if (listRv < this.compactedBelow) {
          request.status = 410;
          res.writeHead(410, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              message:
                'The provided continue parameter is too old to display a consistent list result. You can start ' +
                'a new list without the continue parameter, or use the continue token in this response to ' +
                'retrieve the remainder of the results. Continuing with the provided token results in an ' +
                'inconsistent list - objects that were created, modified, or deleted between the time the ' +
                'first chunk was returned and now may show up in the list.',
              reason: 'Expired',
              code: 410,
            }),
          );
          return;
        }
      }
      const delay = this.listDelays.get(resource);
      if (delay !== undefined) {
        this.listDelays.delete(resource);
        await new Promise((r) => setTimeout(r, delay));
      }
      const all = [...this.objects[resource].values()];
      const limit = Number(u.searchParams.get('limit') ?? all.length) || all.length;
      const page = all.slice(start, start + limit);
      const next =
        start + limit < all.length ? Buffer.from(`${listRv}:${start + limit}`).toString('base64url') : undefined;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: `${KIND[resource]}List`,
          apiVersion: 'v1',
          metadata: { resourceVersion: String(listRv), ...(next ? { continue: next } : {}) },
          items: page,
        }),
      );
      return;
    }
    if (this.stalledWatches > 0) {
      this.stalledWatches -= 1;
      return;
    }
    const from = Number(u.searchParams.get('resourceVersion') ?? 0);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from < this.compactedBelow) {
      const message = `too old resource version: ${from} (${this.compactedBelow})`;
      const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'Expired', code: 410 };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    for (const c of this.history[resource])
      if (c.rv > from) res.write(`${JSON.stringify({ type: c.type, object: c.object })}\n`);
    const entry = { res: resource, from, out: res };
    this.live.add(entry);
    req.on('close', () => this.live.delete(entry));
  }
}
