import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicOffsets } from '@pullwatch/kafka';
import { createLogger, createMetricsRegistry } from '@pullwatch/telemetry';
import { testEndpoints, uniqueName } from '../../../test/support/endpoints.ts';
import { loadCollectorConfig } from './config.ts';
import { createCollector, type Collector } from './collector.ts';
import { encodeOtlpLogsProtobuf } from './ingest/otlp-protobuf.ts';

const logger = createLogger('auth-test', 'silent');
const kafka = { brokers: testEndpoints().kafka.brokers, clientId: 'auth-test', logger };
const dir = mkdtempSync(join(tmpdir(), 'pw-ingest-auth-'));

const ALL = 'auth-test-token-every-cluster';
const EU = 'auth-test-token-prod-eu-only';
const EU_US = 'auth-test-token-prod-eu-and-us';

const event = (i: number) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: `e${i}`, namespace: 'shop', uid: `uid-${i}` },
  involvedObject: { kind: 'Pod', name: 'web', namespace: 'shop' },
  reason: 'Failed',
  message: `Failed to pull image "nginx:${i}": not found`,
  count: 1,
});
const otlp = (records: { cluster: string; i: number }[]) => ({
  resourceLogs: records.map((r) => ({
    resource: { attributes: [{ key: 'k8s.cluster.name', value: { stringValue: r.cluster } }] },
    scopeLogs: [{ logRecords: [{ body: { stringValue: JSON.stringify(event(r.i)) } }] }],
  })),
});

async function produced(topic: string): Promise<number> {
  return (await topicOffsets(kafka, topic)).reduce((n, o) => n + o, 0);
}

describe('ingest authentication: bearer tokens bound to clusters', () => {
  const topic = uniqueName('ingest_auth');
  let collector: Collector;
  beforeAll(async () => {
    // JSON Lines, as a Kubernetes Secret's key would hold them; plus the single all-clusters token.
    const file = join(dir, 'tokens.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ token: EU, clusters: ['prod-eu'] })}\n# a comment\n` +
        `${JSON.stringify({ token: EU_US, clusters: ['prod-eu', 'prod-us'] })}\n`,
    );
    collector = createCollector(
      loadCollectorConfig({
        PULLWATCH_INGEST_PORT: '0',
        PULLWATCH_TOPIC: topic,
        PULLWATCH_TOPIC_PARTITIONS: '1',
        PULLWATCH_INGEST_TOKEN: ALL,
        PULLWATCH_INGEST_TOKENS_FILE: file,
      }),
      { logger, metrics: createMetricsRegistry('auth-test'), kafka },
    );
    await collector.start();
  });
  afterAll(async () => {
    await collector.stop();
  });

  const post = (cluster: string, headers: Record<string, string>, i = 1) =>
    fetch(`${collector.ingestUrl}/v1/k8s-events?cluster=${cluster}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify([event(i)]),
    });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('answers 401 with a Bearer challenge without a token or with an unknown one, and produces nothing', async () => {
    const none = await post('prod-eu', {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="pullwatch-ingest"');
    expect(await none.json()).toEqual({
      error: { code: 'unauthorized', message: 'an "Authorization: Bearer <ingest token>" header is required' },
    });
    const wrong = await post('prod-eu', bearer(`${ALL}-not`));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="pullwatch-ingest", error="invalid_token"');
    expect(await wrong.json()).toEqual({
      error: { code: 'unauthorized', message: 'the bearer token is not a valid ingest token' },
    });
    const basic = await post('prod-eu', { authorization: `Basic ${Buffer.from(`x:${ALL}`).toString('base64')}` });
    expect(basic.status).toBe(401);
    const logs = await fetch(`${collector.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(encodeOtlpLogsProtobuf(otlp([{ cluster: 'prod-eu', i: 2 }]))),
    });
    expect(logs.status).toBe(401);
    expect(await produced(topic)).toBe(0);
  });

  it('lets a token send only for its clusters: 403 naming the cluster otherwise, on both routes', async () => {
    const denied = await post('prod-us', bearer(EU));
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({
      error: {
        code: 'forbidden',
        message: "this token may not send events for cluster 'prod-us'; nothing of this request was accepted",
      },
    });
    // OTLP: the clusters come from the records; one forbidden record refuses the whole request.
    const mixed = await fetch(`${collector.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(EU) },
      body: JSON.stringify(
        otlp([
          { cluster: 'prod-eu', i: 3 },
          { cluster: 'prod-us', i: 4 },
        ]),
      ),
    });
    expect(mixed.status).toBe(403);
    expect(((await mixed.json()) as { error: { message: string } }).error.message).toMatch(/cluster 'prod-us'/);
    expect(await produced(topic)).toBe(0);

    expect((await post('prod-eu', bearer(EU), 5)).status).toBe(200);
    expect((await post('prod-us', bearer(EU_US), 6)).status).toBe(200);
    expect((await post('anything-else', bearer(ALL), 7)).status).toBe(200);
    const both = await fetch(`${collector.ingestUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(EU_US) },
      body: JSON.stringify(
        otlp([
          { cluster: 'prod-eu', i: 8 },
          { cluster: 'prod-us', i: 9 },
        ]),
      ),
    });
    expect(both.status).toBe(200);
    expect(await produced(topic)).toBe(5);
    expect(collector.stats()).toMatchObject({ unauthorized: 4, forbidden: 2, forwarded: 5 });
  });

  it('serves /metrics, /healthz and /readyz without a token', async () => {
    expect((await fetch(`${collector.ingestUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${collector.ingestUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${collector.ingestUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /^pullwatch_collector_requests_total\{route="k8s-events",status="401",service="auth-test"\} 3$/m,
    );
    expect(metrics).toMatch(
      /^pullwatch_collector_requests_total\{route="k8s-events",status="403",service="auth-test"\} 1$/m,
    );
  });
});

describe('ingest authentication settings', () => {
  const base = { PULLWATCH_INGEST_PORT: '0', PULLWATCH_TOPIC: 'unused' };

  it('refuses to start an ingest-only collector without a token unless PULLWATCH_INGEST_AUTH=none', () => {
    expect(() => loadCollectorConfig(base)).toThrow(/the ingest needs a token: set PULLWATCH_INGEST_TOKEN/);
    expect(loadCollectorConfig({ ...base, PULLWATCH_INGEST_AUTH: 'none' }).ingestAuth).toEqual({ kind: 'none' });
    expect(() => loadCollectorConfig({ ...base, PULLWATCH_INGEST_AUTH: 'none', PULLWATCH_INGEST_TOKEN: ALL })).toThrow(
      /PULLWATCH_INGEST_AUTH=none with ingest tokens configured/,
    );
  });

  it('keeps the ingest closed, not open, when only the Kubernetes watch is configured', () => {
    const cfg = loadCollectorConfig({ ...base, PULLWATCH_IN_CLUSTER: 'true', PULLWATCH_CLUSTER: 'prod-eu' });
    expect(cfg.ingestAuth).toEqual({ kind: 'closed' });
  });

  it('reads the tokens file as YAML (a list, or tokens:) and merges a token listed twice', () => {
    const file = join(dir, 'tokens.yaml');
    writeFileSync(
      file,
      `tokens:\n  - token: ${EU}\n    clusters: [prod-eu]\n` +
        `  - token: ${EU}\n    clusters: [prod-us]\n` +
        `  - token: ${ALL}\n    clusters: "*"\n`,
    );
    expect(loadCollectorConfig({ ...base, PULLWATCH_INGEST_TOKENS_FILE: file }).ingestAuth).toEqual({
      kind: 'tokens',
      tokens: [
        { token: EU, clusters: ['prod-eu', 'prod-us'] },
        { token: ALL, clusters: '*' },
      ],
    });
  });

  it('names the file and the entry of a bad token', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `- token: short\n  clusters: [prod-eu]\n`);
    expect(() => loadCollectorConfig({ ...base, PULLWATCH_INGEST_TOKENS_FILE: file })).toThrow(
      `PULLWATCH_INGEST_TOKENS_FILE ${file}: entry 1: token: at least 16 characters`,
    );
    writeFileSync(file, `- token: ${EU}\n  clusters: ["prod eu"]\n`);
    expect(() => loadCollectorConfig({ ...base, PULLWATCH_INGEST_TOKENS_FILE: file })).toThrow(/entry 1: clusters/);
    expect(() => loadCollectorConfig({ ...base, PULLWATCH_INGEST_TOKENS_FILE: join(dir, 'missing') })).toThrow(
      /PULLWATCH_INGEST_TOKENS_FILE: cannot read/,
    );
  });
});
