import { randomBytes } from 'node:crypto';
import { eventEnvelope, K8sEventSchema } from '@pullwatch/event-schema';
import type { ConsumedMessage } from '@pullwatch/kafka';
import { sleep } from './support.ts';

/**
 * The bench's events and its HTTP ingest client, shared by the suites that feed a collector. Events
 * are made from their index alone, so a run's request bodies can be made one at a time as they are
 * sent: the client's memory stays bounded whatever the number of events (a million events are
 * ≈ 640 MB of request bodies, ≈ 2.3 GB of heap when made up front).
 */

export const INGEST_TOKEN = 'bench-end-to-end-ingest-token';
/** Events per request: a JSON array of this many. */
export const BATCH_EVENTS = 2000;

const REGISTRIES = [
  'docker.io',
  'ghcr.io',
  'quay.io',
  'registry.k8s.io',
  '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
];
const FAILURES = [
  (img: string) =>
    `Failed to pull image "${img}": rpc error: code = Unknown desc = failed to pull and unpack image "${img}": ` +
    `failed to copy: httpReadSeeker: failed open: unexpected status code ` +
    `https://registry-1.docker.io/v2/library/redis/manifests/7: 429 Too Many Requests - Server message: ` +
    `toomanyrequests: You have reached your pull rate limit.`,
  (img: string) =>
    `Failed to pull image "${img}": rpc error: code = NotFound desc = failed to pull and unpack image ` +
    `"${img}": failed to resolve reference "${img}": ${img}: not found`,
  (img: string) =>
    `Failed to pull image "${img}": rpc error: code = Unknown desc = failed to pull and unpack image "${img}": ` +
    `failed to resolve reference "${img}": failed to do request: Head "https://quay.io/v2/x/manifests/1": ` +
    `dial tcp: lookup quay.io on 10.96.0.10:53: no such host`,
];

export interface BenchEvent {
  cluster: string;
  event: Record<string, unknown>;
}

/** Where a set of events starts: its first event's time and a run id that makes its Event uids unique. */
export interface EventSeries {
  t0: number;
  run: string;
  /** Failures name one of this many images (as a fleet's Pods share images); absent: each its own. */
  images?: number;
}

export const newSeries = (images?: number): EventSeries => ({
  t0: Date.now() - 30 * 60_000,
  run: randomBytes(4).toString('hex'),
  ...(images ? { images } : {}),
});

/**
 * Event `i` of the mix: mostly successful pulls, failures of several causes, back-off states; every
 * Event a new one (its own uid, count 1), 1 ms after the previous.
 */
export function makeEvent(i: number, clusters: number, s: EventSeries): BenchEvent {
  // Without `images` every failure names an image no other Event names: nothing repeats.
  const k = s.images ? i % s.images : i;
  const img = `${REGISTRIES[k % REGISTRIES.length]}/team-${k % 17}/app-${k % 101}:1.${k % 7}`;
  const kind = i % 10;
  const reason = kind < 6 ? 'Pulled' : kind < 9 ? 'Failed' : 'BackOff';
  const message =
    kind < 6
      ? `Successfully pulled image "${img}" in 1.2s (1.2s including waiting). Image size: ${1_000_000 + i} bytes.`
      : kind < 9
        ? FAILURES[i % FAILURES.length]!(img)
        : `Back-off pulling image "${img}"`;
  const pod = `app-${i % 5000}`;
  const time = new Date(s.t0 + i).toISOString();
  return {
    cluster: `c${i % clusters}`,
    event: {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${pod}.${i}`,
        namespace: `ns-${i % 13}`,
        uid: `${s.run}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
        resourceVersion: String(i),
      },
      involvedObject: { kind: 'Pod', name: pod, namespace: `ns-${i % 13}`, fieldPath: 'spec.containers{app}' },
      reason,
      message,
      type: kind < 6 ? 'Normal' : 'Warning',
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component: 'kubelet', host: `node-${i % 40}` },
    },
  };
}

/** Events `from` … `to - 1` of a series, as an array (for the suites that hold a modest number in memory). */
export function makeEvents(n: number, clusters: number, s: EventSeries = newSeries(), from = 0): BenchEvent[] {
  return Array.from({ length: Math.max(0, n - from) }, (_, k) => makeEvent(from + k, clusters, s));
}

export interface IngestBatch {
  cluster: string;
  events: number;
  /** A JSON array of the cluster's Events. */
  body: string;
}

/**
 * The events as the ingest takes them: per cluster (event i is cluster i mod `clusters`'s), JSON
 * arrays of up to BATCH_EVENTS, each made only when the sender takes it.
 */
export function* ingestBatches(n: number, clusters: number, s: EventSeries = newSeries()): Generator<IngestBatch> {
  for (let c = 0; c < Math.min(clusters, n); c++) {
    // Cluster c's events are c, c + clusters, c + 2·clusters, … below n.
    const count = Math.ceil((n - c) / clusters);
    for (let k = 0; k < count; k += BATCH_EVENTS) {
      const events = Math.min(BATCH_EVENTS, count - k);
      const list = Array.from({ length: events }, (_, j) => makeEvent(c + (k + j) * clusters, clusters, s).event);
      yield { cluster: `c${c}`, events, body: JSON.stringify(list) };
    }
  }
}

export interface PostStats {
  /** Requests accepted (200). */
  accepted: number;
  /** Events in them. */
  events: number;
  /** Answers of 503 or 429, each waited out (Retry-After) and the request sent again. */
  pushedBack: number;
  /**
   * Requests whose fetch was rejected (the connection closed or reset before an answer), each sent
   * again after a second: the collector answered nothing, so whether it took the events is unknown
   * (the suites check the stored counts).
   */
  rejected: number;
  /** The reason of each rejection (the fetch error's cause), for the log. */
  rejections: string[];
}

export interface PostOptions {
  token?: string;
  /** Concurrent senders (default 4), each with one request in flight. */
  senders?: number;
  headers?: Record<string, string>;
}

/** Waits for a collector's `/readyz`. */
export async function collectorReady(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/readyz`).then(
      async (r) => {
        await r.arrayBuffer();
        return r.ok;
      },
      () => false,
    );
    if (ok) return;
    if (i > 300) throw new Error('collector did not become ready');
    await sleep(100);
  }
}

/**
 * Posts the batches to `POST /v1/k8s-events` with concurrent senders, each taking the next batch when
 * its request is accepted. A 503 or 429 is waited out (Retry-After) and sent again; so is a rejected
 * fetch (after a second), which is counted; any other answer fails the run.
 */
export async function postBatches(url: string, batches: Iterable<IngestBatch>, opts: PostOptions = {}) {
  const stats: PostStats = { accepted: 0, events: 0, pushedBack: 0, rejected: 0, rejections: [] };
  const it = batches[Symbol.iterator]();
  const headers = { authorization: `Bearer ${opts.token ?? INGEST_TOKEN}`, ...opts.headers };
  const sender = async () => {
    for (let next = it.next(); !next.done; next = it.next()) {
      const b = next.value;
      for (;;) {
        let res: Response;
        try {
          res = await fetch(`${url}/v1/k8s-events?cluster=${b.cluster}`, { method: 'POST', headers, body: b.body });
        } catch (err) {
          stats.rejected += 1;
          const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
          stats.rejections.push(cause);
          await sleep(1000);
          continue;
        }
        const answer = await res.text();
        if (res.ok) break;
        if (res.status !== 503 && res.status !== 429)
          throw new Error(`ingest answered ${res.status}: ${answer.slice(0, 300)}`);
        stats.pushedBack += 1;
        await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      }
      stats.accepted += 1;
      stats.events += b.events;
    }
  };
  await Promise.all(Array.from({ length: opts.senders ?? 4 }, sender));
  return stats;
}

/**
 * Events `0 … n - 1` of a new series as the analyzer consumes them: envelopes as the collector makes them,
 * one Kafka message each, offsets in order on partition 0 (for the suites that run the analyzer's stages
 * without Kafka).
 */
export function consumedMessages(n: number, clusters: number, images?: number): ConsumedMessage[] {
  return makeEvents(n, clusters, newSeries(images)).map((ev, offset) => {
    const o = eventEnvelope({ cluster: ev.cluster, source: 'http', event: K8sEventSchema.parse(ev.event) });
    return {
      topic: 'bench',
      partition: 0,
      offset,
      key: o.key,
      value: Buffer.from(JSON.stringify(o.envelope)),
      headers: {},
    };
  });
}
