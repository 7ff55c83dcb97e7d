import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, loadCollectorConfig, type Collector } from '@pullwatch/collector';
import { topicOffsets } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../support/endpoints.ts';
import { report } from './report.ts';

const logger = createLogger('flood', 'silent');
const kafka = { brokers: testEndpoints().kafka.brokers, clientId: 'flood', logger };
const topic = uniqueName('flood');
let collector: Collector;
// Ingest tokens: one for every cluster, one bound to `eu`.
const TOKEN_ALL = 'flood-token-all-clusters';
const TOKEN_EU = 'flood-token-eu-cluster-only';
const tokensFile = join(mkdtempSync(join(tmpdir(), 'pw-flood-')), 'ingest-tokens.yaml');
writeFileSync(tokensFile, `- token: ${TOKEN_ALL}\n  clusters: ["*"]\n- token: ${TOKEN_EU}\n  clusters: [eu]\n`, {
  mode: 0o600,
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const good = (i: number) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `g${i}`, namespace: 'shop', uid: `good-${i}` },
  involvedObject: { kind: 'Pod', name: 'web', namespace: 'shop' },
  reason: 'Failed',
  message: `Failed to pull image "nginx:${i}": not found`,
  count: 1,
});

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Bodies no ingest path may accept, each with the exact 4xx answer it gets (never a 5xx). */
function badBodies(
  seed: number,
): { path: string; body: Buffer | string; type: string; status: 400 | 404 | 413; code: string }[] {
  const rnd = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % 256));
  return [
    { path: '/v1/k8s-events?cluster=c', body: '{"kind":', type: 'application/json', status: 400, code: 'bad_request' },
    {
      path: '/v1/k8s-events?cluster=c',
      body: nested(50_000),
      type: 'application/json',
      status: 400,
      code: 'bad_request',
    },
    { path: '/v1/k8s-events?cluster=c', body: rnd(4096), type: 'application/json', status: 400, code: 'bad_request' },
    {
      path: '/v1/k8s-events?cluster=c',
      body: Buffer.concat([
        Buffer.from('[{"kind":"Event","metadata":{"name":"'),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
        Buffer.from('"}}]'),
      ]),
      type: 'application/json',
      status: 400,
      code: 'bad_request',
    },
    {
      path: '/v1/k8s-events?cluster=c',
      body: JSON.stringify([{ kind: 'Event', metadata: {} }]),
      type: 'application/json',
      status: 400,
      code: 'bad_request',
    },
    {
      path: '/v1/k8s-events?cluster=c',
      body: 'x'.repeat(3 * 1024 * 1024),
      type: 'application/json',
      status: 413,
      code: 'payload_too_large',
    },
    { path: '/v1/k8s-events?cluster=%00', body: '[]', type: 'application/json', status: 400, code: 'bad_parameter' },
    {
      path: '/v1/k8s-events',
      body: JSON.stringify([good(0)]),
      type: 'application/json',
      status: 400,
      code: 'bad_parameter',
    },
    { path: '/v1/logs', body: rnd(2048), type: 'application/x-protobuf', status: 400, code: 'bad_request' },
    { path: '/v1/logs', body: '{"resourceLogs": 5}', type: 'application/json', status: 400, code: 'bad_request' },
    {
      path: '/v1/logs',
      body: `{"resourceLogs":${nested(20_000)}}`,
      type: 'application/json',
      status: 400,
      code: 'bad_request',
    },
    {
      path: '/v1/logs',
      body: JSON.stringify({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'not json' } }] }] }],
      }),
      type: 'application/json',
      status: 400,
      code: 'bad_request',
    },
    { path: '/v1/nope', body: 'x', type: 'text/plain', status: 404, code: 'not_found' },
  ];
}

const otlp = (records: { cluster: string; event: unknown }[]) =>
  JSON.stringify({
    resourceLogs: records.map((r) => ({
      resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: r.cluster } }] },
      scopeLogs: [{ logRecords: [{ body: { stringValue: JSON.stringify(r.event) } }] }],
    })),
  });

/** Valid events without a token, with an unknown one, or for a cluster the token is not bound to. */
function refused(seed: number): { path: string; body: string; headers: Record<string, string>; status: 401 | 403 }[] {
  const events = JSON.stringify([good(10_000 + seed)]);
  const json = { 'content-type': 'application/json' };
  return [
    { path: '/v1/k8s-events?cluster=eu', body: events, headers: json, status: 401 },
    { path: '/v1/k8s-events?cluster=eu', body: events, headers: { ...json, ...bearer(`${TOKEN_ALL}x`) }, status: 401 },
    { path: '/v1/k8s-events?cluster=eu', body: events, headers: { ...json, authorization: TOKEN_ALL }, status: 401 },
    { path: '/v1/logs', body: otlp([{ cluster: 'eu', event: good(1) }]), headers: json, status: 401 },
    { path: '/v1/k8s-events?cluster=us', body: events, headers: { ...json, ...bearer(TOKEN_EU) }, status: 403 },
    {
      path: '/v1/logs',
      body: otlp([{ cluster: 'us', event: good(20_000 + seed) }]),
      headers: { ...json, ...bearer(TOKEN_EU) },
      status: 403,
    },
    {
      // One record the token may send and one it may not: refused whole.
      path: '/v1/logs',
      body: otlp([
        { cluster: 'eu', event: good(30_000 + seed) },
        { cluster: 'us', event: good(40_000 + seed) },
      ]),
      headers: { ...json, ...bearer(TOKEN_EU) },
      status: 403,
    },
  ];
}

beforeAll(async () => {
  collector = createCollector(
    loadCollectorConfig({
      PULLWATCH_INGEST_TOKENS_FILE: tokensFile,
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_TOPIC: topic,
      PULLWATCH_TOPIC_PARTITIONS: '2',
      PULLWATCH_MAX_BODY_BYTES: String(2 * 1024 * 1024),
    }),
    { logger, metrics: createMetricsRegistry('flood'), kafka },
  );
  await collector.start();
});
afterAll(async () => {
  await collector.stop();
});

describe('a flood of malformed, oversized, deeply nested and non-UTF-8 input', () => {
  it('gets clear 4xx answers on every ingest path while valid traffic alongside is accepted in full', async () => {
    const statuses = new Map<number, number>();
    let tried = 0;
    let goodAccepted = 0;
    const rounds = 20;
    const flood = async () => {
      for (let r = 0; r < rounds; r++) {
        for (const b of badBodies(r)) {
          const res = await fetch(`${collector.ingestUrl}${b.path}`, {
            method: 'POST',
            body: b.body,
            headers: { ...bearer(TOKEN_ALL), 'content-type': b.type },
          });
          const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
          tried += 1;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const what = `${b.path} ${String(b.body).slice(0, 40)}`;
          expect([res.status, body?.error?.code], what).toEqual([b.status, b.code]);
          expect(body?.error?.message, what).toBeTruthy();
        }
        for (const c of refused(r)) {
          const res = await fetch(`${collector.ingestUrl}${c.path}`, {
            method: 'POST',
            body: c.body,
            headers: c.headers,
          });
          const body = (await res.json()) as { error: { code: string; message: string } };
          tried += 1;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, `${c.path} ${JSON.stringify(c.headers)}`).toBe(c.status);
          if (c.status === 401) {
            expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="pullwatch-ingest"/);
            expect(body.error.code).toBe('unauthorized');
          } else {
            expect(body.error).toEqual({
              code: 'forbidden',
              message: "this token may not send events for cluster 'us'; nothing of this request was accepted",
            });
          }
        }
      }
    };
    const valid = async () => {
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=eu`, {
          method: 'POST',
          headers: bearer(i % 2 ? TOKEN_ALL : TOKEN_EU),
          body: JSON.stringify([good(i * 2), good(i * 2 + 1)]),
        });
        expect(res.status).toBe(200);
        goodAccepted += ((await res.json()) as { accepted: number }).accepted;
      }
    };
    await Promise.all([flood(), flood(), valid()]);
    const produced = (await topicOffsets(kafka, topic)).reduce((n, o) => n + o, 0);
    expect(goodAccepted).toBe(200);
    // Nothing of the refused requests reached Kafka: only the valid traffic.
    expect(produced).toBe(200);
    // Two floods of `rounds` rounds, each with four 401 and three 403 cases.
    expect(statuses.get(401)).toBe(2 * rounds * 4);
    expect(statuses.get(403)).toBe(2 * rounds * 3);
    // Every answer was one of the statuses the cases name, as many times as the cases name it.
    const per = (s: number) => 2 * rounds * badBodies(0).filter((b) => b.status === s).length;
    expect(Object.fromEntries(statuses)).toEqual({
      400: per(400),
      401: 2 * rounds * 4,
      403: 2 * rounds * 3,
      404: per(404),
      413: per(413),
    });
    expect(collector.stats()).toMatchObject({ unauthorized: 2 * rounds * 4, forbidden: 2 * rounds * 3 });
    expect((await fetch(`${collector.ingestUrl}/healthz`)).status).toBe(200);
    report('ingest flood', {
      inputsTried: tried,
      ...Object.fromEntries([...statuses].map(([s, n]) => [`http${s}`, n])),
      fiveHundreds: [...statuses].filter(([s]) => s >= 500).length,
      validSent: 200,
      validStored: produced,
    });
  });
});
