import { createInterface } from 'node:readline';
import fetch from 'node-fetch';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@pullwatch/telemetry';

export interface KubeObject {
  metadata?: { resourceVersion?: string; uid?: string; name?: string; namespace?: string };
  [k: string]: unknown;
}

export interface ListWatchHandlers {
  /** Objects from a list (a first list or a relist). Awaited: reading stops while it runs. */
  onList(items: KubeObject[]): Promise<void>;
  /** One ADDED or MODIFIED object from the watch. Awaited, so a full buffer pauses the stream. */
  onObject(obj: KubeObject): Promise<void>;
}

export interface ListWatchStats {
  lists: number;
  relistsAfterGone: number;
  reconnects: number;
  bookmarks: number;
}

class GoneError extends Error {}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Kubernetes list-then-watch for one resource across all namespaces: list (paged) to get the state
 * and a resourceVersion, watch from it with bookmarks, reconnect from the last version seen when a
 * stream ends or drops (with back-off and jitter), and relist when the server says 410 Gone.
 */
export class ListWatch {
  readonly stats: ListWatchStats = { lists: 0, relistsAfterGone: 0, reconnects: 0, bookmarks: 0 };
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
    private readonly handlers: ListWatchHandlers,
    private readonly log: Logger,
    private readonly opts: { pageSize?: number; watchTimeoutSeconds?: number; maxBackoffMs?: number } = {},
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private url(params: Record<string, string>): string {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig has no current cluster');
    const u = new URL(server.replace(/\/$/, '') + this.path);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  }

  private async request(params: Record<string, string>) {
    const init = (await this.kc.applyToFetchOptions({ method: 'GET' })) as Parameters<typeof fetch>[1] & object;
    return fetch(this.url(params), { ...init, signal: this.abort.signal as never });
  }

  private async list(): Promise<string> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const res = await this.request({ limit: String(this.opts.pageSize ?? 500), ...(cont ? { continue: cont } : {}) });
      if (res.status === 410) {
        // The continue token expired mid-list: start the list over.
        cont = undefined;
        items.length = 0;
        continue;
      }
      if (!res.ok) throw new Error(`list ${this.path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
      const body = (await res.json()) as {
        items?: KubeObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      items.push(...(body.items ?? []));
      rv = body.metadata?.resourceVersion ?? rv;
      cont = body.metadata?.continue || undefined;
    } while (cont);
    this.stats.lists += 1;
    await this.handlers.onList(items);
    return rv;
  }

  /** Watches from `rv` until the stream ends; returns the last resourceVersion seen. */
  private async watch(rv: string): Promise<string> {
    const res = await this.request({
      watch: 'true',
      resourceVersion: rv,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(this.opts.watchTimeoutSeconds ?? 300),
    });
    if (res.status === 410) throw new GoneError('410 Gone');
    if (!res.ok) throw new Error(`watch ${this.path}: HTTP ${res.status}`);
    const lines = createInterface({ input: res.body as NodeJS.ReadableStream, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        let ev: { type?: string; object?: KubeObject & { code?: number } };
        try {
          ev = JSON.parse(line);
        } catch {
          continue; // a torn line from a dropped connection; the reconnect resumes from rv
        }
        const obj = ev.object;
        if (ev.type === 'ERROR') {
          if (obj?.code === 410) throw new GoneError('410 Gone in watch');
          throw new Error(`watch ${this.path} error: ${JSON.stringify(obj).slice(0, 200)}`);
        }
        const next = obj?.metadata?.resourceVersion;
        if (ev.type === 'BOOKMARK') this.stats.bookmarks += 1;
        else if (obj && (ev.type === 'ADDED' || ev.type === 'MODIFIED')) await this.handlers.onObject(obj);
        if (next) rv = next;
      }
    } finally {
      lines.close();
    }
    return rv;
  }

  private async loop(): Promise<void> {
    let rv: string | null = null;
    let failures = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (rv === null) rv = await this.list();
        rv = await this.watch(rv);
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof GoneError) {
          this.stats.relistsAfterGone += 1;
          this.log.info({ path: this.path }, 'watch: resourceVersion too old (410 Gone), relisting');
          rv = null;
          continue;
        }
        failures += 1;
        this.stats.reconnects += 1;
        const backoff = Math.min(this.opts.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(failures, 10));
        this.log.warn(
          { path: this.path, err: err instanceof Error ? err.message : String(err), retryInMs: backoff },
          'watch: reconnecting',
        );
        await sleep(backoff * (0.5 + Math.random() / 2), signal);
      }
    }
  }
}
