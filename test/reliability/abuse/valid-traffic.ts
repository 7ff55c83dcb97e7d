import { event, jsonBody, notFound, otlpJson, otlpProtobuf } from './bodies.ts';
import { send } from './http.ts';

type Kind = 'json' | 'replay' | 'otlp-json' | 'otlp-protobuf';
const KINDS: Kind[] = ['json', 'replay', 'otlp-json', 'otlp-protobuf'];

/**
 * Well-formed traffic sent beside the abuse, as a careful client would: each request resent only when the collector
 * says nothing of it was taken (429 or 503, after Retry-After). Every Event is a distinct failing Pod, so what is
 * stored must equal what was accepted, exactly.
 */
export class ValidTraffic {
  accepted = 0;
  requests = 0;
  retries = 0;
  readonly errors: string[] = [];
  private n = 0;
  private stopped = false;
  private paused: Promise<void> | null = null;
  private resumePaused: () => void = () => {};
  private loop: Promise<void> | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly ingestUrl: string,
    private readonly token: string,
    readonly cluster: string,
  ) {}

  start(everyMs: number): void {
    this.loop = (async () => {
      for (let i = 0; !this.stopped; i++) {
        if (this.paused) await this.paused;
        if (this.stopped) break;
        this.inFlight = this.sendEvents(KINDS[i % KINDS.length]!, 2);
        await this.inFlight;
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  /** `count` events at once, in requests of at most 100 (outside the loop). */
  async burst(count: number): Promise<void> {
    for (let sent = 0; sent < count; sent += 100) await this.sendEvents('json', Math.min(100, count - sent));
  }

  /** Stops sending (after the request in flight) until resume(). */
  async pause(): Promise<void> {
    this.paused ??= new Promise((r) => {
      this.resumePaused = r;
    });
    await this.inFlight;
  }

  resume(): void {
    this.paused = null;
    this.resumePaused();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await this.loop;
  }

  private async sendEvents(kind: Kind, count: number): Promise<void> {
    const events = Array.from({ length: count }, () => {
      const i = this.n++;
      return event({
        uid: `valid-${i}`,
        namespace: 'valid',
        pod: `valid-${i}`,
        message: notFound(`ghcr.io/acme/valid-${i}:1`),
        time: new Date(Date.now() - 5000).toISOString(),
      });
    });
    const q = `?cluster=${this.cluster}`;
    const [path, type, body] =
      kind === 'json'
        ? [`/v1/k8s-events${q}`, 'application/json', jsonBody(events, 'array')]
        : kind === 'replay'
          ? [`/v1/k8s-events${q}&source=replay`, 'application/x-ndjson', jsonBody(events, 'watch')]
          : kind === 'otlp-json'
            ? ['/v1/logs', 'application/json', JSON.stringify(otlpJson([{ cluster: this.cluster, bodies: events }]))]
            : ['/v1/logs', 'application/x-protobuf', otlpProtobuf([{ cluster: this.cluster, bodies: events }])];
    for (let attempt = 0; ; attempt++) {
      this.requests += 1;
      const a = await send(`${this.ingestUrl}${path}`, {
        body,
        headers: { 'content-type': type, authorization: `Bearer ${this.token}` },
        timeoutMs: 10_000,
      });
      if (a.status === 200) {
        const got = kind === 'json' || kind === 'replay' ? (a.json as { accepted?: number } | null)?.accepted : count;
        if (got !== count) this.errors.push(`${kind}: accepted ${got} of ${count}`);
        this.accepted += got ?? 0;
        return;
      }
      if ((a.status === 429 || a.status === 503) && attempt < 50) {
        this.retries += 1;
        const after = Number(a.headers['retry-after']);
        await new Promise((r) => setTimeout(r, Math.min(2000, (Number.isFinite(after) ? after : 1) * 1000)));
        continue;
      }
      this.errors.push(`${kind}: ${a.status} ${a.error ?? a.text.slice(0, 200)}`);
      return;
    }
  }
}
