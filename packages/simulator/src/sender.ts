import type { Emitted, SimEvent } from './fleet.ts';
import { BackoffPolicy } from '@pullwatch/backoff';

// Between attempts: 250 ms doubling to 10 s with full jitter, unless the collector says Retry-After.
const SEND_BACKOFF = new BackoffPolicy({ baseMs: 250, maxMs: 10_000 });

export interface SendResult {
  accepted: number;
}

/**
 * Posts Events to a collector's HTTP ingest (`POST /v1/k8s-events?cluster=NAME`, a JSON array per
 * request, with the ingest token as `Authorization: Bearer`), per cluster, in chunks; waits and
 * retries on 503 + Retry-After and on connection errors.
 */
export async function sendEvents(
  endpoint: string,
  emitted: Emitted[],
  opts: { chunk?: number; maxRetries?: number; signal?: AbortSignal; token?: string } = {},
): Promise<SendResult> {
  const chunk = opts.chunk ?? 2000;
  const byCluster = new Map<string, SimEvent[]>();
  for (const e of emitted) {
    const list = byCluster.get(e.cluster) ?? [];
    list.push(e.event);
    byCluster.set(e.cluster, list);
  }
  let accepted = 0;
  for (const [cluster, events] of byCluster) {
    for (let i = 0; i < events.length; i += chunk) {
      accepted += await postChunk(
        `${endpoint.replace(/\/$/, '')}/v1/k8s-events?cluster=${encodeURIComponent(cluster)}`,
        events.slice(i, i + chunk),
        opts.maxRetries ?? 20,
        opts.signal,
        opts.token,
      );
    }
  }
  return { accepted };
}

async function postChunk(
  url: string,
  events: SimEvent[],
  maxRetries: number,
  signal?: AbortSignal,
  token?: string,
): Promise<number> {
  const body = JSON.stringify(events);
  for (let attempt = 0; ; attempt++) {
    let retryAfterMs = SEND_BACKOFF.delay(attempt);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
        ...(signal ? { signal } : {}),
      });
      const text = await res.text();
      if (res.ok) {
        const parsed = JSON.parse(text) as { accepted?: number };
        return typeof parsed.accepted === 'number' ? parsed.accepted : events.length;
      }
      if (res.status !== 503 && res.status !== 429)
        throw new Error(`collector answered ${res.status}: ${text.slice(0, 300)}`);
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) retryAfterMs = after * 1000;
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof Error && err.message.startsWith('collector answered')) throw err;
      if (attempt >= maxRetries)
        throw new Error(`collector at ${url} unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (attempt >= maxRetries) throw new Error(`collector at ${url} still busy after ${maxRetries} retries`);
    await SEND_BACKOFF.sleep(retryAfterMs, signal);
  }
}
