import { createInterface } from 'node:readline';
import fetch from 'node-fetch';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@pullwatch/telemetry';
import { BackoffPolicy } from '@pullwatch/backoff';

export interface KubeObject {
  metadata?: { resourceVersion?: string; uid?: string; name?: string; namespace?: string };
  [k: string]: unknown;
}

export interface ListWatchHandlers {
  /** Objects from a list (a first list or a relist). Awaited: reading stops while it runs. */
  onList(items: KubeObject[]): Promise<void>;
  /** One ADDED or MODIFIED object from the watch. Awaited, so a full buffer pauses the stream. */
  onObject(obj: KubeObject): Promise<void>;
  /** One DELETED object from the watch (its last state). */
  onDeleted?(obj: KubeObject): Promise<void> | void;
}

export interface ListWatchStats {
  lists: number;
  relistsAfterGone: number;
  reconnects: number;
  bookmarks: number;
  /** Paged lists started over because the server expired their continue token (410 Expired). */
  listRestartsAfterExpiredContinue: number;
  /** Watch lines that were not a watch event with an object (skipped; the watch goes on). */
  invalidWatchEvents: number;
  /**
   * Watches given up because they outlived their timeoutSeconds (the server ends them then): a dead
   * connection or a stalled proxy; each was reopened from its resourceVersion.
   */
  watchesAbandoned: number;
}

class WatchDeadline extends Error {}

class GoneError extends Error {}

/** `/api/v1/pods` → `pods`; `/apis/events.k8s.io/v1/events` → `events.events.k8s.io` (as RBAC and kubectl name it). */
export function resourceOfPath(path: string): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const resource = parts.at(-1) ?? path;
  return parts[0] === 'apis' && parts[1] ? `${resource}.${parts[1]}` : resource;
}

/**
 * The API server refused a list or a watch: the message names the verb and the resource (and what the
 * server said), so a missing RBAC permission reads as one.
 */
export class KubeApiError extends Error {
  readonly resource: string;
  constructor(
    readonly verb: 'list' | 'watch',
    path: string,
    readonly status: number,
    readonly reason: string | null,
    serverMessage: string,
  ) {
    const resource = resourceOfPath(path);
    super(
      `cannot ${verb} ${resource}: HTTP ${status}${reason ? ` ${reason}` : ''}` +
        (serverMessage ? ` (the API server says: ${serverMessage})` : ''),
    );
    this.resource = resource;
  }
}

/** The server's own answer to a failed request, bounded: a Status object's reason and message, or the text. */
async function refusal(res: {
  body: NodeJS.ReadableStream | null;
}): Promise<{ reason: string | null; message: string }> {
  const limit = 16 * 1024;
  let text = '';
  if (res.body) {
    for await (const chunk of res.body) {
      text += chunk.toString();
      if (text.length >= limit) break;
    }
  }
  try {
    const status = JSON.parse(text) as { kind?: unknown; reason?: unknown; message?: unknown };
    if (status && status.kind === 'Status')
      return {
        reason: typeof status.reason === 'string' ? status.reason.slice(0, 100) : null,
        message: typeof status.message === 'string' ? status.message.slice(0, 500) : '',
      };
  } catch {
    // not a Status object
  }
  return { reason: null, message: text.slice(0, 200) };
}

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
  readonly stats: ListWatchStats = {
    lists: 0,
    relistsAfterGone: 0,
    reconnects: 0,
    bookmarks: 0,
    listRestartsAfterExpiredContinue: 0,
    invalidWatchEvents: 0,
    watchesAbandoned: 0,
  };
  /** Why the last list or watch failed, until one succeeds again (e.g. `cannot watch pods: HTTP 403 Forbidden …`). */
  lastError: string | null = null;
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
    private readonly handlers: ListWatchHandlers,
    private readonly log: Logger,
    private readonly opts: {
      pageSize?: number;
      watchTimeoutSeconds?: number;
      /** How long past its timeoutSeconds a watch may stay open before it is given up (default 30 s). */
      watchDeadlineSlackMs?: number;
      maxBackoffMs?: number;
    } = {},
  ) {
    const maxMs = opts.maxBackoffMs ?? 30_000;
    // Reconnects: 250 ms doubling to maxBackoffMs (30 s), full jitter, for as long as the watch runs.
    this.reconnectBackoff = new BackoffPolicy({ baseMs: Math.min(250, maxMs), maxMs });
  }

  private readonly reconnectBackoff: BackoffPolicy;

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

  private async request(params: Record<string, string>, signal: AbortSignal = this.abort.signal) {
    const init = (await this.kc.applyToFetchOptions({ method: 'GET' })) as Parameters<typeof fetch>[1] & object;
    return fetch(this.url(params), { ...init, signal: signal as never });
  }

  private async list(): Promise<string> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    for (;;) {
      const res = await this.request({ limit: String(this.opts.pageSize ?? 500), ...(cont ? { continue: cont } : {}) });
      if (res.status === 410 && cont) {
        // The continue token expired mid-list (the server compacted past the list's version): start the list over.
        // The real server offers a fallback token in the Status that would go on inconsistently; not taken.
        await refusal(res);
        this.stats.listRestartsAfterExpiredContinue += 1;
        this.log.info({ path: this.path }, 'list: continue token expired (410), starting the list over');
        cont = undefined;
        items.length = 0;
        continue;
      }
      if (!res.ok) {
        const r = await refusal(res);
        throw new KubeApiError('list', this.path, res.status, r.reason, r.message);
      }
      const body = (await res.json()) as {
        items?: KubeObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      items.push(...(body.items ?? []));
      rv = body.metadata?.resourceVersion ?? rv;
      cont = body.metadata?.continue || undefined;
      if (!cont) break;
    }
    this.stats.lists += 1;
    this.lastError = null;
    await this.handlers.onList(items);
    return rv;
  }

  /**
   * Watches from `rv` until the stream ends or fails; `seen` gets every resourceVersion as it goes, so a
   * reconnect after a dropped stream resumes from the last one seen, not from where this watch started.
   */
  private async watch(rv: string, seen: (rv: string) => void, connected: () => void): Promise<void> {
    // The server ends a watch after timeoutSeconds. One still open well past that is a dead connection
    // (a NAT or load balancer that dropped it without a reset) or a stalled proxy: nothing tells it apart
    // from a quiet one, since Event watches carry no BOOKMARKs (Events are not in the watch cache).
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new WatchDeadline()),
      timeoutSeconds * 1000 + (this.opts.watchDeadlineSlackMs ?? 30_000),
    );
    try {
      await this.watchUntil(rv, timeoutSeconds, AbortSignal.any([this.abort.signal, deadline.signal]), seen, connected);
    } catch (err) {
      if (!deadline.signal.aborted || this.abort.signal.aborted) throw err;
      this.stats.watchesAbandoned += 1;
      this.log.warn(
        { path: this.path, timeoutSeconds },
        'watch: still open past its timeout (a dead connection?); reopening it from its resourceVersion',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private async watchUntil(
    rv: string,
    timeoutSeconds: number,
    signal: AbortSignal,
    seen: (rv: string) => void,
    connected: () => void,
  ): Promise<void> {
    const res = await this.request(
      {
        watch: 'true',
        resourceVersion: rv,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(timeoutSeconds),
      },
      signal,
    );
    if (res.status === 410) {
      await refusal(res);
      throw new GoneError('410 Gone');
    }
    if (!res.ok) {
      const r = await refusal(res);
      throw new KubeApiError('watch', this.path, res.status, r.reason, r.message);
    }
    this.lastError = null;
    connected();
    const lines = createInterface({ input: res.body as NodeJS.ReadableStream, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        let ev: { type?: unknown; object?: unknown };
        try {
          ev = JSON.parse(line);
        } catch {
          // A torn line from a dropped connection, or garbage: skipped; a reconnect resumes from rv.
          this.invalid(line, 'not JSON');
          continue;
        }
        const obj = ev && typeof ev.object === 'object' && ev.object !== null ? (ev.object as KubeObject) : null;
        if (ev?.type === 'ERROR') {
          if ((obj as { code?: unknown } | null)?.code === 410) throw new GoneError('410 Gone in watch');
          throw new Error(`watch ${this.path} error: ${JSON.stringify(obj).slice(0, 200)}`);
        }
        if (!obj || !['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'].includes(ev.type as string)) {
          this.invalid(line, 'not a watch event with an object');
          continue;
        }
        const next = typeof obj.metadata?.resourceVersion === 'string' ? obj.metadata.resourceVersion : undefined;
        if (ev.type === 'BOOKMARK') this.stats.bookmarks += 1;
        else if (ev.type === 'DELETED') await this.handlers.onDeleted?.(obj);
        else await this.handlers.onObject(obj);
        if (next) seen(next);
      }
    } finally {
      lines.close();
    }
  }

  private invalid(line: string, why: string): void {
    this.stats.invalidWatchEvents += 1;
    this.log.warn({ path: this.path, line: line.slice(0, 200) }, `watch: skipping a line (${why})`);
  }

  private async loop(): Promise<void> {
    let rv: string | null = null;
    let failures = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (rv === null) rv = await this.list();
        // The back-off starts over once a watch is open again, not only after one that ended cleanly.
        await this.watch(
          rv,
          (next) => {
            rv = next;
          },
          () => {
            failures = 0;
          },
        );
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
        const backoff = this.reconnectBackoff.delay(failures - 1);
        // A refusal names its verb and resource itself; a network failure gets them here.
        this.lastError =
          err instanceof KubeApiError
            ? err.message
            : `cannot ${rv === null ? 'list' : 'watch'} ${resourceOfPath(this.path)}: ${err instanceof Error ? err.message : String(err)}`;
        this.log.warn(
          {
            path: this.path,
            err: this.lastError,
            ...(err instanceof KubeApiError ? { verb: err.verb, resource: err.resource, status: err.status } : {}),
            retryInMs: backoff,
          },
          'watch: reconnecting',
        );
        await sleep(backoff, signal);
      }
    }
  }
}
